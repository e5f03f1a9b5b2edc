"""The command grammar on text: phrasings, numbers, ordinals, near-misses, Russian."""

from __future__ import annotations

import json
import random

import pytest

from engine.voice import grammar
from engine.voice.commands import (
    COMMAND_NAMES,
    Command,
    Dictation,
    GrammarOptions,
    expand,
    parse,
    vocabulary_prompt,
    EN,
    RU,
)


def cmd(text: str, language: str | None = None):
    result = parse(text, language=language)
    assert isinstance(result, Command), f"{text!r} stayed dictation"
    return result.name, result.args


@pytest.mark.parametrize("text, name, args", [
    ("New line.", "new_line", {}),
    ("Start a new paragraph.", "new_paragraph", {}),
    ("Delete the last word.", "delete", {"unit": "word", "which": "last"}),
    ("please erase the previous sentence", "delete", {"unit": "sentence", "which": "previous"}),
    ("Remove this paragraph.", "delete", {"unit": "paragraph", "which": "this"}),
    ("Delete that.", "delete", {"unit": "selection", "which": "this"}),
    ("Scratch that.", "delete", {"unit": "selection", "which": "this"}),
    ("Delete the last three words.", "delete", {"unit": "word", "which": "last", "count": 3}),
    ("delete the last 2 sentences", "delete", {"unit": "sentence", "which": "last", "count": 2}),
    ("Delete the second paragraph.", "delete", {"unit": "paragraph", "which": "nth", "index": 2}),
    ("Select the next sentence.", "select", {"unit": "sentence", "which": "next"}),
    ("Highlight the previous paragraph.", "select", {"unit": "paragraph", "which": "previous"}),
    ("Select the 3rd word", "select", {"unit": "word", "which": "nth", "index": 3}),
    ("Select all.", "select", {"unit": "document", "which": "this"}),
    ("Undo.", "undo", {}),
    ("Undo that.", "undo", {}),
    ("Undo three times.", "undo", {"count": 3}),
    ("undo twice", "undo", {"count": 2}),
    ("Redo.", "redo", {}),
    ("Rephrase this.", "rephrase", {"unit": "selection", "which": "this"}),
    ("Reword the last sentence.", "rephrase", {"unit": "sentence", "which": "last"}),
    ("Say it differently.", "rephrase", {"unit": "selection", "which": "this"}),
    ("Continue writing.", "continue", {}),
    ("Keep going.", "continue", {}),
    ("Make it more formal.", "restyle", {"style": "formal", "unit": "selection", "which": "this"}),
    ("Make this more casual, please.", "restyle",
     {"style": "casual", "unit": "selection", "which": "this"}),
    ("Make the last paragraph shorter.", "restyle",
     {"style": "shorter", "unit": "paragraph", "which": "last"}),
    ("Shorten this.", "restyle", {"style": "shorter", "unit": "selection", "which": "this"}),
    ("Make it longer.", "restyle", {"style": "longer", "unit": "selection", "which": "this"}),
    ("Capitalize that.", "capitalize", {"unit": "selection", "which": "this"}),
    ("Capitalise the previous word.", "capitalize", {"unit": "word", "which": "previous"}),
    ("Stop listening.", "stop_listening", {}),
    ("OK, stop dictation.", "stop_listening", {}),
])
def test_english_phrasings_parse_to_commands(text, name, args):
    assert cmd(text) == (name, args)


@pytest.mark.parametrize("heard, name", [
    ("Reframe this paragraph.", "rephrase"),  # misheard "rephrase"
    ("Continue riding.", "continue"),
    ("Knew paragraph.", "new_paragraph"),
    ("Stop listing.", "stop_listening"),
    ("Re-phrase this.", "rephrase"),
    ("Select the net sentence.", "select"),
    ("Capital eyes that.", "capitalize"),
    ("Neue Line.", "new_line"),
])
def test_misrecognised_commands_are_still_found(heard, name):
    assert cmd(heard)[0] == name


@pytest.mark.parametrize("text", [
    "I wanted to delete the last sentence of my essay yesterday.",
    "New paragraphs are hard to write.",
    "The next paragraph is about cats.",
    "The last word.",
    "Previous sentence.",
    "Summarize the selected text.",
    "Replace the word cold with chilly.",
    "undo the damage",
    "Make it better.",
    "Make it happen.",
    "Remove the stain.",
    "Cut the cake.",
    "It was cold.",
    "I like this.",
    "Thank you.",
    "Okay.",
    "Continuing.",
    "Keep it simple.",
    "She told me to stop listening to him and continue writing the novel.",
    "",
])
def test_near_misses_stay_dictation(text):
    assert isinstance(parse(text), Dictation)


def test_commands_inside_prose_stay_dictation():
    """The rule: a command is a whole short utterance, so embedding one in prose keeps it prose."""
    for command in ("delete the last word", "new paragraph", "undo that", "make it more formal"):
        assert isinstance(parse(command), Command)
        prose = f"Then she said {command} and walked out of the room."
        assert parse(prose) == Dictation(prose)


def test_wake_word_required_makes_bare_commands_dictation():
    options = GrammarOptions(wake_word="Killah", require_wake_word=True)
    assert isinstance(parse("Delete the last word.", options), Dictation)
    result = parse("Killah, delete the last word.", options)
    assert isinstance(result, Command) and result.args == {"unit": "word", "which": "last"}


def test_generated_phrasings_all_parse_back_to_their_own_meaning():
    """Every 25th phrasing the English and Russian templates can produce parses to itself."""
    for language in (EN, RU):
        phrases = expand(language)
        for phrase in phrases[::25]:
            if grammar.NUMBER in phrase.text or grammar.ORDINAL in phrase.text:
                continue
            result = parse(phrase.text, language=language.code)
            assert isinstance(result, Command), phrase.text
            assert result.name == phrase.name, phrase.text


def test_random_compositions_from_vocabulary_with_fillers_and_numbers():
    """Compose commands from the slot vocabulary (not a fixed list) and parse them."""
    rng = random.Random(7)
    verbs = list(grammar.EN_SLOTS["del"])
    units = {"word": "words", "sentence": "sentences", "paragraph": "paragraphs"}
    numbers = {v: k for k, v in grammar.EN_NUMBERS.items() if k not in ("once", "twice", "thrice")}
    for _ in range(40):
        verb, unit, n = rng.choice(verbs), rng.choice(list(units)), rng.randint(2, 9)
        spoken_n = rng.choice([numbers[n], str(n)])
        lead = rng.choice(["", "please ", "okay ", "now "])
        text = f"{lead}{verb} the last {spoken_n} {units[unit]}"
        assert cmd(text) == ("delete", {"unit": unit, "which": "last", "count": n}), text


@pytest.mark.parametrize("text, name, args", [
    ("Новая строка.", "new_line", {}),
    ("Новый абзац.", "new_paragraph", {}),
    ("С нового абзаца.", "new_paragraph", {}),
    ("Удали последнее слово.", "delete", {"unit": "word", "which": "last"}),
    ("Удалите предыдущее предложение.", "delete", {"unit": "sentence", "which": "previous"}),
    ("Сотри это.", "delete", {"unit": "selection", "which": "this"}),
    ("Удали последние три слова.", "delete", {"unit": "word", "which": "last", "count": 3}),
    ("Удали второй абзац.", "delete", {"unit": "paragraph", "which": "nth", "index": 2}),
    ("Выдели следующий абзац.", "select", {"unit": "paragraph", "which": "next"}),
    ("Выдели всё.", "select", {"unit": "document", "which": "this"}),
    ("Отмени.", "undo", {}),
    ("Отмени два раза.", "undo", {"count": 2}),
    ("Повтори.", "redo", {}),
    ("Перефразируй это.", "rephrase", {"unit": "selection", "which": "this"}),
    ("Продолжай писать.", "continue", {}),
    ("Сделай короче.", "restyle", {"style": "shorter"}),
    ("Сделай это более формальным.", "restyle",
     {"style": "formal", "unit": "selection", "which": "this"}),
    ("Сделай проще, пожалуйста.", "restyle", {"style": "casual"}),
    ("С заглавной буквы.", "capitalize", {}),
    ("Хватит слушать.", "stop_listening", {}),
])
def test_russian_phrasings_parse_to_commands(text, name, args):
    assert cmd(text) == (name, args)
    assert cmd(text, language="ru") == (name, args)


@pytest.mark.parametrize("text", [
    "Я хочу удалить последнее предложение из письма.",
    "Мама мыла раму.",
    "Следующий абзац будет про кошек.",
    "Спасибо.",
])
def test_russian_near_misses_stay_dictation(text):
    assert isinstance(parse(text), Dictation)


def test_json_shape_is_the_editor_api():
    result = parse("Delete the last two words.")
    assert json.loads(json.dumps(result.to_json())) == {
        "type": "command", "name": "delete",
        "args": {"unit": "word", "which": "last", "count": 2},
        "heard": "Delete the last two words.",
    }
    assert parse("Hello there.").to_json() == {"type": "dictation", "text": "Hello there."}


def test_every_command_name_is_reachable_in_both_languages():
    for language in (EN, RU):
        names = {p.name for p in expand(language)}
        assert names == set(COMMAND_NAMES), language.code


def test_vocabulary_prompt_fits_whisper_prompt_window():
    from mlx_whisper.tokenizer import get_tokenizer

    tokenizer = get_tokenizer(True, num_languages=99)
    for code in ("en", "ru"):
        prompt = vocabulary_prompt(code)
        assert len(tokenizer.encode(" " + prompt)) < 223  # mlx-whisper keeps the last 223
