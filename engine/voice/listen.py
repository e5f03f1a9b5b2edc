"""Listening: audio chunks in, a stream of dictation and commands out.

`Listener` joins the pieces: `Stream` cuts utterances on pauses; a short
utterance is first read with the command vocabulary as Whisper's prompt (small
models mishear isolated commands: "undo that" -> "a doot net"), and when the
grammar finds a command in that reading, it is one. Otherwise the utterance is
transcribed as dictation (with the text before the cursor as the prompt) and
parsed again, so a plainly heard command still counts. Dictation gets
spoken punctuation when enabled, and the text dictated so far becomes Whisper's
initial prompt for the next utterance (names and style carry over). A
`stop_listening` command stops the listener after it is emitted.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Iterable, Iterator, Union

import numpy as np

from engine.voice.audio import SAMPLE_RATE
from engine.voice.commands import Command, Dictation, GrammarOptions, parse, vocabulary_prompt
from engine.voice.punctuation import apply_spoken_punctuation
from engine.voice.transcribe import (
    Stream,
    StreamOptions,
    StreamResult,
    TranscribeOptions,
    decode_utterance,
    transcribe,
)

CHUNK_S = 0.5  # how `listen` slices a whole recording, like a microphone would
COMMAND_MAX_S = 4.5  # longer utterances (with padding) are dictation: skip the command reading
MIN_LOGPROB = -1.0  # a command reading less sure than this is not trusted
MAX_NO_SPEECH = 0.6


@dataclass(frozen=True)
class Partial:
    """The utterance heard so far (not yet final); for display only."""

    text: str

    def to_json(self) -> dict:
        return {"type": "partial", "text": self.text}


Event = Union[Command, Dictation, Partial]


@dataclass(frozen=True)
class ListenOptions:
    commands: bool = field(default=True, metadata={"help": "recognise spoken commands"})
    spoken_punctuation: bool = field(
        default=False, metadata={"help": "turn 'comma', 'full stop', 'новый абзац'... into symbols"}
    )
    grammar: GrammarOptions = GrammarOptions()


def interpret(text: str, options: ListenOptions = ListenOptions(), language: str = "en"
              ) -> Command | Dictation | None:
    """One final utterance -> a Command, Dictation, or None when nothing was said."""
    text = text.strip()
    if not text:
        return None
    lang = language if language in ("en", "ru") else None
    event = parse(text, options.grammar, lang) if options.commands else Dictation(text)
    if isinstance(event, Dictation) and options.spoken_punctuation:
        event = Dictation(apply_spoken_punctuation(event.text, lang or "en"))
    return event


class Listener:
    """Feed microphone chunks; get events. `stop()` is safe from any thread."""

    def __init__(
        self,
        transcribe_options: TranscribeOptions = TranscribeOptions(),
        options: ListenOptions = ListenOptions(),
        stream_options: StreamOptions = StreamOptions(),
        context: str = "",
    ):
        self.options = options
        self.context = context  # text before the cursor
        self._stream = Stream(transcribe_options, stream_options, transcribe_finals=False)

    @property
    def stopped(self) -> bool:
        return self._stream.stopped

    def stop(self) -> None:
        self._stream.stop()

    def set_vocabulary(self, vocabulary) -> None:
        """The writer's vocabulary changed (a correction was learned): use it from now on."""
        self._stream.options = replace(self._stream.options, vocabulary=vocabulary)

    def set_context(self, text_before_cursor: str) -> None:
        """The editor tells us what precedes the cursor; it primes the next utterance."""
        self.context = text_before_cursor

    def feed(self, chunk: np.ndarray) -> list[Event]:
        self._prime()
        return self._events(self._stream.feed(chunk))

    def finish(self) -> list[Event]:
        return self._events(self._stream.finish())

    def run(self, chunks: Iterable[np.ndarray]) -> Iterator[Event]:
        for chunk in chunks:
            if self.stopped:
                return
            yield from self.feed(chunk)
        yield from self.finish()

    def _prime(self) -> None:
        prompt = self.context.strip() or None
        if self._stream.options.initial_prompt != prompt:
            self._stream.options = replace(self._stream.options, initial_prompt=prompt)

    def _events(self, results: list[StreamResult]) -> list[Event]:
        out: list[Event] = []
        for r in results:
            if not r.final:
                out.append(Partial(r.text))
                continue
            event = self._recognize(r)
            if event is None:
                continue
            out.append(event)
            if isinstance(event, Dictation):
                self.context = f"{self.context} {event.text}".strip()
                self._prime()
            elif event.name == "stop_listening":
                self.stop()
                break
        return out


    def _recognize(self, r: StreamResult) -> Command | Dictation | None:
        options = self._stream.options
        duration = len(r.audio) / SAMPLE_RATE
        if self.options.commands and options.language in ("en", "ru") and duration <= COMMAND_MAX_S:
            hyp = decode_utterance(r.audio, options, vocabulary_prompt(options.language))
            if hyp.avg_logprob >= MIN_LOGPROB and hyp.no_speech_prob < MAX_NO_SPEECH:
                event = parse(hyp.text, self.options.grammar, options.language)
                if isinstance(event, Command):
                    return event
        text = transcribe(r.audio, replace(options, vad=False)).text
        return interpret(text, self.options, options.language)


def chunks_of(audio: np.ndarray, seconds: float = CHUNK_S) -> Iterator[np.ndarray]:
    step = int(seconds * SAMPLE_RATE)
    for i in range(0, len(audio), step):
        yield audio[i : i + step]


def listen(audio: np.ndarray, transcribe_options: TranscribeOptions = TranscribeOptions(),
           options: ListenOptions = ListenOptions(), partials: bool = False) -> list[Event]:
    """A whole recording through the microphone path: its dictation and commands, in order."""
    stream_options = StreamOptions(partial_every_s=1.5 if partials else None)
    listener = Listener(transcribe_options, options, stream_options)
    return list(listener.run(chunks_of(audio)))
