"""Spoken punctuation in dictation, English and Russian."""

import pytest

from engine.voice.listen import ListenOptions, interpret
from engine.voice.punctuation import apply_spoken_punctuation


@pytest.mark.parametrize("heard, language, expected", [
    ("Hello comma how are you question mark", "en", "Hello, how are you?"),
    ("Hello, comma, world. Full stop. new paragraph and then we left period", "en",
     "Hello, world.\n\nAnd then we left."),
    ("I said open quote yes close quote period", "en", "I said “yes”."),
    ("wait dash no exclamation mark", "en", "Wait — no!"),
    ("first colon apples semicolon pears", "en", "First: apples; pears"),
    ("periodically we met", "en", "Periodically we met"),
    ("Привет запятая как дела вопросительный знак новый абзац всё хорошо точка", "ru",
     "Привет, как дела?\n\nВсё хорошо."),
    ("Раз, два точка с запятой три.", "ru", "Раз, два; три."),
])
def test_spoken_punctuation(heard, language, expected):
    assert apply_spoken_punctuation(heard, language) == expected


def test_spoken_punctuation_only_when_enabled():
    text = "Dear John comma thank you"
    assert interpret(text).text == text
    assert interpret(text, ListenOptions(spoken_punctuation=True)).text == "Dear John, thank you"
