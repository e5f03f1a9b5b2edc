"""Speech to text with mlx-whisper on our converted weights.

`transcribe(audio, options)` takes 16 kHz mono float32 and returns a Transcript.
Voice-activity detection runs first: audio without speech never reaches Whisper,
and only the speech regions are decoded (mlx-whisper's `clip_timestamps`).
`Stream` is the microphone path: chunks in, partial and final results out,
utterances cut on pauses, stoppable from any thread.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, field, replace
from typing import Iterable, Iterator

import numpy as np

from engine.errors import KillahError
from engine.voice.audio import SAMPLE_RATE, check_audio
from engine.voice.models import DEFAULT_MODEL, WhisperModel, load_whisper
from engine.voice.vad import FRAME, SpeechDetector, VadOptions, speech_regions
from engine.voice.vocabulary import Vocabulary

LANGUAGES = ("en", "ru", "auto")
PROMPT_CHARS = 400  # Whisper keeps at most ~224 prompt tokens; the end of the text matters


@dataclass(frozen=True)
class TranscribeOptions:
    model: str = field(default=DEFAULT_MODEL,
                       metadata={"help": "tiny.en, base, a folder or a hub id"})
    language: str = field(default="en", metadata={"help": "en, ru or auto (detect)"})
    initial_prompt: str | None = field(
        default=None, metadata={"help": "text before the cursor, so names and style carry over"}
    )
    word_timestamps: bool = field(default=False, metadata={"help": "per-word start/end times"})
    vad: bool = field(default=True, metadata={"help": "skip audio without speech"})
    vad_options: VadOptions = VadOptions()
    temperatures: tuple[float, ...] = field(
        default=(0.0, 0.2, 0.4),
        metadata={"help": "greedy first; capped fallback (long fallbacks make MLX latency spike)"},
    )
    condition_on_previous_text: bool = False
    vocabulary: Vocabulary | None = field(default=None, metadata={
        "help": "names and terms: first in the prompt, misheard forms corrected afterwards"})

    def __post_init__(self) -> None:
        if self.language not in LANGUAGES:
            raise KillahError(f"language {self.language!r} is not one of {', '.join(LANGUAGES)}")


@dataclass
class Word:
    word: str
    start: float
    end: float
    probability: float


@dataclass
class Segment:
    start: float
    end: float
    text: str
    no_speech_prob: float = 0.0
    words: list[Word] | None = None


@dataclass
class Transcript:
    text: str
    language: str
    duration: float
    segments: list[Segment] = field(default_factory=list)

    def to_json(self) -> dict:
        return asdict(self)


_decode_lock = threading.Lock()  # one decode at a time: mlx_whisper keeps one global holder


def _language(wm: WhisperModel, options: TranscribeOptions) -> str | None:
    language = None if options.language == "auto" else options.language
    if language and language != "en" and not wm.is_multilingual:
        raise KillahError(f"whisper model {wm.name!r} is English-only; use 'base' for {language}")
    return language


def _run_whisper(wm: WhisperModel, audio: np.ndarray, clips: list[float],
                 options: TranscribeOptions):
    import mlx_whisper
    from mlx_whisper.transcribe import ModelHolder

    language = _language(wm, options)
    prompt = whisper_prompt(options)
    with _decode_lock:
        # Hand mlx_whisper our loaded model, so its own holder never reloads weights.
        ModelHolder.model, ModelHolder.model_path = wm.model, str(wm.path)
        return mlx_whisper.transcribe(
            audio,
            path_or_hf_repo=str(wm.path),
            language=language,
            initial_prompt=prompt or None,
            word_timestamps=options.word_timestamps,
            temperature=options.temperatures,
            condition_on_previous_text=options.condition_on_previous_text,
            clip_timestamps=clips,
            fp16=False,
            verbose=None,
        )


def whisper_prompt(options: TranscribeOptions) -> str | None:
    """The initial prompt: the vocabulary's glossary, then the end of `initial_prompt`."""
    if options.vocabulary is not None and options.vocabulary.terms:
        return options.vocabulary.whisper_prompt(options.initial_prompt, options.language,
                                                 PROMPT_CHARS)
    return options.initial_prompt[-PROMPT_CHARS:] if options.initial_prompt else None


def transcribe(audio: np.ndarray, options: TranscribeOptions = TranscribeOptions()) -> Transcript:
    """Transcribe 16 kHz mono float32 audio. Silence gives an empty transcript."""
    audio = check_audio(audio)
    duration = len(audio) / SAMPLE_RATE
    language = options.language
    if options.vad:
        regions = speech_regions(audio, options.vad_options)
        if not regions:
            return Transcript("", language, duration)
        clips = [t / SAMPLE_RATE for region in regions for t in region]
    else:
        clips = [0.0, duration]
    wm = load_whisper(options.model)
    result = _run_whisper(wm, audio, clips, options)
    vocab = options.vocabulary
    if vocab is not None and vocab.terms and vocab.echoed(
            " ".join(s.get("text", "") for s in result.get("segments", []))):
        # Whisper read the glossary back instead of the speech: again without it (the
        # corrections below still apply)
        result = _run_whisper(wm, audio, clips, replace(options, vocabulary=None))
    segments = []
    for s in result.get("segments", []):
        words = None
        if options.word_timestamps:
            words = [Word(w["word"], float(w["start"]), float(w["end"]), float(w["probability"]))
                     for w in s.get("words", [])]
        text = s["text"].strip()
        if options.vocabulary is not None:
            text = options.vocabulary.correct(text, result.get("language") or language)[0]
        segments.append(Segment(float(s["start"]), float(s["end"]), text,
                                float(s.get("no_speech_prob", 0.0)), words))
    text = " ".join(s.text for s in segments if s.text).strip()
    return Transcript(text, result.get("language") or language, duration, segments)


@dataclass
class Hypothesis:
    text: str
    avg_logprob: float
    no_speech_prob: float


def decode_utterance(audio: np.ndarray, options: TranscribeOptions,
                     prompt: str | None) -> Hypothesis:
    """One greedy decode of a short utterance (one 30 s window) with its own prompt.

    The listener uses it to read an utterance with the command vocabulary as the
    prompt; mlx_whisper's own `decode` does the work.
    """
    from mlx_whisper.audio import N_FRAMES, N_SAMPLES, log_mel_spectrogram, pad_or_trim
    from mlx_whisper.decoding import DecodingOptions, decode

    wm = load_whisper(options.model)
    language = _language(wm, options)
    mel = log_mel_spectrogram(check_audio(audio), n_mels=wm.model.dims.n_mels, padding=N_SAMPLES)
    mel = pad_or_trim(mel, N_FRAMES, axis=-2)
    decoding = DecodingOptions(language=language, prompt=prompt, fp16=False,
                               without_timestamps=True)
    with _decode_lock:
        result = decode(wm.model, mel, decoding)
    return Hypothesis(result.text.strip(), float(result.avg_logprob), float(result.no_speech_prob))


@dataclass
class StreamResult:
    """A partial (the utterance so far, may still change) or final transcript of an utterance."""

    text: str
    final: bool
    utterance: int  # 0, 1, 2... per utterance in this stream
    start: float  # seconds since the stream began
    end: float
    language: str = ""
    audio: np.ndarray | None = field(default=None, repr=False)  # the utterance's samples


@dataclass(frozen=True)
class StreamOptions:
    partial_every_s: float | None = field(
        default=1.5, metadata={"help": "seconds of new speech between partial results; None: none"}
    )
    max_utterance_s: float = field(default=25.0, metadata={"help": "cut longer speech into parts"})


class Stream:
    """Microphone-style transcription: `feed(chunk)` as audio arrives, `finish()` at the end.

    Utterances end on a pause (VadOptions.min_silence_s). Each `feed` returns the
    results it produced. `stop()` may be called from another thread at any time:
    later audio is ignored and `run()` returns.
    """

    def __init__(self, options: TranscribeOptions = TranscribeOptions(),
                 stream_options: StreamOptions = StreamOptions(), transcribe_finals: bool = True):
        """With `transcribe_finals=False`, finals carry only their audio (text ""), for a
        caller that reads them its own way (the Listener)."""
        self.options = options
        self.transcribe_finals = transcribe_finals
        self.stream_options = stream_options
        self._detector = SpeechDetector()
        self._stopped = threading.Event()
        self._pending = np.zeros(0, np.float32)  # samples not yet a whole VAD frame
        self._utterance: list[np.ndarray] = []  # frames of the current utterance (with padding)
        self._preroll: list[np.ndarray] = []  # recent silent frames, kept as leading padding
        self._frames_seen = 0
        self._utt_start = 0  # frame index where the current utterance starts
        self._speech_frames = 0
        self._silent_run = 0
        self._last_partial_at = 0
        self._count = 0
        v = options.vad_options
        self._frame_s = FRAME / SAMPLE_RATE
        self._pad_frames = max(int(v.pad_s / self._frame_s), 1)
        self._end_frames = max(int(v.min_silence_s / self._frame_s), 1)
        self._min_speech_frames = max(int(v.min_speech_s / self._frame_s), 1)

    @property
    def stopped(self) -> bool:
        return self._stopped.is_set()

    def stop(self) -> None:
        self._stopped.set()

    def feed(self, chunk: np.ndarray) -> list[StreamResult]:
        if self.stopped:
            return []
        audio = np.concatenate([self._pending, check_audio(chunk)])
        n = len(audio) // FRAME
        self._pending = audio[n * FRAME :]
        out: list[StreamResult] = []
        for frame in audio[: n * FRAME].reshape(n, FRAME):
            if self.stopped:
                break
            result = self._on_frame(frame)
            if result is not None:
                out.append(result)
        return out

    def finish(self) -> list[StreamResult]:
        """End of audio: the final result of any utterance still open."""
        if self.stopped or self._speech_frames == 0:
            return []
        result = self._final()
        return [result] if result else []

    def run(self, chunks: Iterable[np.ndarray]) -> Iterator[StreamResult]:
        """Feed `chunks` in order, yielding results, until they end or `stop()` is called."""
        for chunk in chunks:
            if self.stopped:
                return
            yield from self.feed(chunk)
        yield from self.finish()

    def _on_frame(self, frame: np.ndarray) -> StreamResult | None:
        v = self.options.vad_options
        p = self._detector.frame_probability(frame)
        self._frames_seen += 1
        in_utterance = self._speech_frames > 0
        if not in_utterance:
            self._preroll = (self._preroll + [frame])[-self._pad_frames :]
            if p >= v.threshold:
                self._utterance = list(self._preroll)
                self._utt_start = self._frames_seen - len(self._preroll)
                self._speech_frames, self._silent_run, self._last_partial_at = 1, 0, 0
            return None
        self._utterance.append(frame)
        if p < v.off_threshold:
            self._silent_run += 1
        else:
            self._silent_run = 0
            self._speech_frames += 1
        if self._silent_run >= self._end_frames:
            return self._final()
        if len(self._utterance) * self._frame_s >= self.stream_options.max_utterance_s:
            return self._final()
        every = self.stream_options.partial_every_s
        if every and (self._speech_frames - self._last_partial_at) * self._frame_s >= every:
            self._last_partial_at = self._speech_frames
            return self._result(final=False)
        return None

    def _final(self) -> StreamResult | None:
        keep = len(self._utterance) - max(self._silent_run - self._pad_frames, 0)
        self._utterance = self._utterance[:keep]
        result = (self._result(final=True) if self._speech_frames >= self._min_speech_frames
                  else None)
        self._utterance, self._preroll = [], []
        self._speech_frames = self._silent_run = 0
        self._detector.reset()
        if result is None or (self.transcribe_finals and not result.text):
            return None
        self._count += 1
        return result

    def _result(self, final: bool) -> StreamResult:
        audio = np.concatenate(self._utterance)
        start = self._utt_start * self._frame_s
        end = start + len(audio) / SAMPLE_RATE
        if final and not self.transcribe_finals:
            return StreamResult("", True, self._count, start, end, self.options.language, audio)
        # The detector already found speech here; Whisper decodes the whole utterance.
        t = transcribe(audio, replace(self.options, vad=False))
        return StreamResult(t.text, final, self._count, start, end, t.language, audio)
