"""Audio in the one shape the speech layer uses: 16 kHz mono float32 in [-1, 1]."""

from __future__ import annotations

import os
from math import gcd

import numpy as np

from engine.errors import KillahError

SAMPLE_RATE = 16_000


def to_mono_16k(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """Mix down to mono and resample to 16 kHz (polyphase filter)."""
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim == 2:
        audio = audio.mean(axis=1)
    if sample_rate != SAMPLE_RATE:
        from scipy.signal import resample_poly

        g = gcd(int(sample_rate), SAMPLE_RATE)
        audio = resample_poly(audio, SAMPLE_RATE // g, int(sample_rate) // g).astype(np.float32)
    return np.ascontiguousarray(audio, dtype=np.float32)


def read_audio(path: str | os.PathLike) -> np.ndarray:
    """Read a WAV/FLAC/OGG file as 16 kHz mono float32."""
    import soundfile as sf

    if not os.path.isfile(path):
        raise KillahError(f"audio file {path} does not exist")
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=False)
    except Exception as e:  # noqa: BLE001 - libsndfile reports many kinds of bad files
        raise KillahError(f"cannot read audio file {path}: {e}") from e
    if data.size == 0:
        raise KillahError(f"audio file {path} holds no samples")
    return to_mono_16k(data, rate)


def check_audio(audio: np.ndarray) -> np.ndarray:
    """Validate caller-provided audio: 1-D float samples at 16 kHz."""
    audio = np.asarray(audio)
    if audio.ndim != 1:
        raise KillahError(f"audio must be mono (1-D samples), got shape {audio.shape}")
    if audio.dtype.kind == "i":
        audio = audio.astype(np.float32) / np.iinfo(audio.dtype).max
    return np.ascontiguousarray(audio, dtype=np.float32)
