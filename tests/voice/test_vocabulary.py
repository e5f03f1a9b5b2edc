"""The personal vocabulary: Whisper's glossary prompt, the correction of misheard forms (EN, RU),
the store and `killah vocabulary`, and real dictation with and without it (espeak-ng audio)."""

from __future__ import annotations

import json

import pytest

from desktop.cli import main as killah
from engine.errors import KillahError
from engine.voice.transcribe import PROMPT_CHARS, TranscribeOptions, transcribe, whisper_prompt
from engine.voice.vocabulary import Vocabulary, sound_key

# Not the bench's terms (bench/data/vocabulary.json): these set the thresholds.
VOCAB = Vocabulary().add(["Zeldovich", "Okonkwo", "Kshetrapal", "photogrammetry", "Mara Voss",
                          "Кшетрапал", "Зельдович"])


@pytest.mark.parametrize("heard, expected", [
    ("Doctor Neldovich opened the letter.", "Doctor Zeldovich opened the letter."),
    ("The survey used FOGO Grammetry to map it.", "The survey used photogrammetry to map it."),
    ("Okon Kwo walked to the square.", "Okonkwo walked to the square."),
    ("the temple of kshetrapal", "the temple of Kshetrapal"),  # spelling; "of" stays
    ("Храм Кшитрапала стоял у поля.", "Храм Кшетрапала стоял у поля."),  # the ending kept
    ("Письмо доктору Зельдовичу.", "Письмо доктору Зельдовичу."),  # already right
])
def test_misheard_terms_become_the_term(heard, expected):
    assert VOCAB.correct(heard, "ru" if heard[0] > "z" else "en")[0] == expected


def test_everyday_words_are_never_changed_by_similarity():
    text = "She saw the cobra and the mosquito near the photograph of the old ward."
    assert VOCAB.correct(text)[0] == text  # photograph ~ photogrammetry, but it is common
    strict = VOCAB.correct("Zeldovitch and Okonkow met Marra Voss.", strict=True)[0]
    assert strict == "Zeldovich and Okonkwo met Marra Voss."  # generated text: one word at a time


def test_a_taught_form_is_replaced_wherever_it_is_heard_again():
    v = VOCAB.learn("She won", "Siobhan")
    fixed = v.correct("She won left. Then she won the race.")[0]
    assert fixed == "Siobhan left. Then Siobhan the race."
    assert v.find("siobhan").heard == ("She won",)
    assert VOCAB.learn("Kshetrapal", "Kshetrapal") is VOCAB  # not a correction


def test_the_glossary_goes_first_and_the_context_fills_what_is_left():
    context = "Once upon a time " * 60
    prompt = whisper_prompt(TranscribeOptions(initial_prompt=context, vocabulary=VOCAB))
    assert prompt.startswith("Glossary: Mara Voss, photogrammetry, Kshetrapal, Okonkwo, Zeldovich.")
    assert "Кшетрапал" not in prompt and len(prompt) <= PROMPT_CHARS
    assert prompt.endswith("Once upon a time")
    ru = whisper_prompt(TranscribeOptions(language="ru", vocabulary=VOCAB))
    assert ru.startswith("Словарь: ") and "Кшетрапал" in ru
    assert whisper_prompt(TranscribeOptions(initial_prompt="abc")) == "abc"
    assert sound_key("Кшетрапал") == sound_key("Кшитрапал")


def test_the_store_and_the_command_line(capsys, killah_home):
    assert killah(["vocabulary", "add", "Zeldovich", "Mara Voss", "Кшетрапал"]) == 0
    assert capsys.readouterr().out == "Zeldovich\nMara Voss\nКшетрапал\n"
    assert killah(["vocabulary", "add", "Siobhan", "--heard", "She won"]) == 0
    capsys.readouterr()
    assert killah(["vocabulary", "remove", "zeldovich", "Nobody"]) == 0
    out = capsys.readouterr()
    assert "not in the vocabulary: Nobody" in out.err
    assert killah(["vocabulary", "list", "--json"]) == 0
    terms = json.loads(capsys.readouterr().out)["terms"]
    assert [(t["text"], t["heard"], t["lang"]) for t in terms] == [
        ("Mara Voss", [], "en"), ("Кшетрапал", [], "ru"), ("Siobhan", ["She won"], "en")]
    assert Vocabulary.load().find("Mara Voss") is not None
    assert killah(["vocabulary", "add", "!!!"]) == 1
    assert "has no letters" in capsys.readouterr().err
    (killah_home / "vocabulary.json").write_text("[1, 2]")
    with pytest.raises(KillahError, match="not a killah-vocabulary v1 file"):
        Vocabulary.load()


def test_dictation_hears_a_name_once_it_is_in_the_vocabulary(speaker, tiny_en):
    audio = speaker.say("Okonkwo walked to the village square before dawn.")
    before = transcribe(audio, TranscribeOptions(model="tiny.en")).text
    after = transcribe(audio, TranscribeOptions(model="tiny.en", vocabulary=VOCAB)).text
    assert "Okonkwo" not in before
    assert "Okonkwo" in after and "village square" in after


def test_killah_transcribe_uses_the_vocabulary_unless_told_not_to(speaker, tiny_en, capsys):
    wav = speaker.wav("Doctor Zeldovich opened the letter from the harbour office.")
    killah(["vocabulary", "add", "Zeldovich"])
    capsys.readouterr()
    assert killah(["transcribe", str(wav), "--no-vocabulary"]) == 0
    assert "Zeldovich" not in capsys.readouterr().out
    assert killah(["transcribe", str(wav)]) == 0
    assert "Zeldovich" in capsys.readouterr().out


def test_a_transcript_that_reads_the_glossary_back_is_caught():
    """Whisper base on unclear Russian audio wrote "Словарь, Ферапонт, синекдоха, ..." (the
    prompt) instead of the speech; such a transcript is decoded again without the glossary."""
    v = Vocabulary().add(["Ферапонт", "синекдоха", "Okonkwo", "Brannoch"])
    assert v.echoed("Словарь, Ферапонт, синекдоха, Беребля.")
    assert v.echoed("Glossary: Okonkwo.")
    assert v.echoed("Ферапонтом, синекдоха")  # a case ending does not hide the list
    assert not v.echoed("Старый Ферапонт чинил лодку.")
    assert not v.echoed("Okonkwo walked to the square.")
