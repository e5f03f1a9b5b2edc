"""Spoken commands and dictation from real (espeak-ng) audio through the microphone path."""

from __future__ import annotations

import random
import re
import threading
import time

import numpy as np
import pytest

from engine.voice.commands import EN, Command, Dictation, parse
from engine.voice.grammar import NUMBER, ORDINAL
from engine.voice.listen import Listener, chunks_of, listen
from engine.voice.transcribe import StreamOptions, TranscribeOptions
from tests.voice.conftest import silence

SEED = 20261124
N_COMMANDS = 20


def compose(rng: random.Random, name: str) -> str:
    """A random phrasing of command `name` from the grammar's vocabulary (slots, numbers)."""
    template = rng.choice(EN.templates[name])
    text = re.sub(r"\{(\w+)\}", lambda m: rng.choice(list(EN.slots[m.group(1)])), template)
    text = text.replace(NUMBER, rng.choice(["two", "three", "four"]))
    return text.replace(ORDINAL, rng.choice(["second", "third"]))


def spoken_commands() -> list[str]:
    rng = random.Random(SEED)
    names = list(EN.templates)
    picks = names + [rng.choice(names) for _ in range(N_COMMANDS - len(names))]
    return [compose(rng, name) for name in picks]


def clip(speaker, text: str) -> np.ndarray:
    return np.concatenate([silence(0.3), speaker.say(text), silence(0.9)])


@pytest.fixture(scope="module")
def command_results(speaker, tiny_en):
    out = []
    for text in spoken_commands():
        expected = parse(text)
        assert isinstance(expected, Command), f"the grammar itself rejects {text!r}"
        out.append((text, expected, listen(clip(speaker, text))))
    return out


def test_spoken_commands_are_recognised(command_results):
    hits, report = 0, []
    for text, expected, events in command_results:
        got = events[0] if len(events) == 1 else None
        ok = isinstance(got, Command) and (got.name, got.args) == (expected.name, expected.args)
        hits += ok
        report.append(f"{'ok ' if ok else 'BAD'} {text!r} -> {[e.to_json() for e in events]}")
    accuracy = hits / len(command_results)
    print("\n".join(report) + f"\ncommand accuracy {accuracy:.0%}")
    assert accuracy >= 0.95, "\n".join(report)


@pytest.mark.parametrize("text", [
    "It was cold outside.",
    "Thank you so much.",
    "See you tomorrow.",
    "We need more time.",
    "The next day was sunny.",
])
def test_short_dictation_stays_dictation(speaker, tiny_en, text):
    """Short prose is read with the command vocabulary too, and must not turn into a command."""
    events = listen(clip(speaker, text))
    assert len(events) == 1 and isinstance(events[0], Dictation), events
    assert events[0].text


def test_a_session_of_dictation_and_commands_in_order(speaker, tiny_en):
    audio = np.concatenate([
        silence(0.3), speaker.say("The rain had stopped by the time we reached the harbor."),
        silence(1.0), speaker.say("new paragraph"), silence(1.0),
        speaker.say("stop listening"), silence(1.0), speaker.say("This must not be heard."),
        silence(0.8),
    ])
    events = listen(audio)
    assert [type(e).__name__ for e in events] == ["Dictation", "Command", "Command"], events
    assert "rain had stopped" in events[0].text.lower()
    assert [e.name for e in events[1:]] == ["new_paragraph", "stop_listening"]


def test_listener_emits_partials_and_can_be_stopped_from_another_thread(speaker, tiny_en):
    sentence = speaker.say("She walked slowly along the quiet road and thought about the winter.")
    audio = np.concatenate([silence(0.3), sentence, silence(0.2), sentence, silence(1.0)])
    listener = Listener(TranscribeOptions(), stream_options=StreamOptions(partial_every_s=1.0))
    events, first_partial = [], threading.Event()

    def consume():
        for event in listener.run(chunks_of(audio, 0.25)):
            events.append(event)
            first_partial.set()

    worker = threading.Thread(target=consume)
    worker.start()
    assert first_partial.wait(120), "no partial result"
    listener.stop()
    started = time.monotonic()
    worker.join(60)
    assert not worker.is_alive()
    assert time.monotonic() - started < 30  # returns after at most the decode in flight
    assert events[0].to_json()["type"] == "partial" and events[0].text
    assert not any(isinstance(e, (Command, Dictation)) for e in events)  # stopped before the end
