"""engine.tasks: one prompt builder and one length budget for every mode the app and CLI offer."""

from __future__ import annotations

import pytest

from engine import tasks
from engine.perturb import PerturbationSettings, perturb_input
from engine.text import tokens_per_word

TEXT = "She walked slowly home through the rain, thinking of the letter she had not sent."
EXEMPLARS = ("First paragraph of mine.", "Second paragraph of mine.")


def test_every_mode_builds_a_prompt_holding_the_text():
    for mode in tasks.MODES:
        prompt = tasks.build(mode, TEXT)
        assert TEXT in prompt.text, mode
        assert tasks.EXEMPLAR_HEADER not in prompt.text  # none given, none shown


def test_modes_map_onto_the_trained_frames():
    assert tasks.build("continue", TEXT, EXEMPLARS) == tasks.continue_prompt(TEXT, EXEMPLARS)
    assert tasks.build("rephrase", TEXT) == tasks.rephrase_prompt(TEXT)
    assert tasks.build("story", TEXT, title="Rain") == tasks.story_prompt(TEXT, "Rain")
    for preset in tasks.PRESETS:
        assert tasks.build(preset, TEXT) == tasks.restyle_preset_prompt(TEXT, preset)
    # "like me" without a style adapter: a rephrasing after the persona's exemplars
    assert tasks.build("like_me", TEXT, EXEMPLARS) == tasks.rephrase_prompt(TEXT, EXEMPLARS)
    # with one: the adapter's restyle frame, its author, its perturbation
    noisy = tasks.PromptSettings(author="Jane Austen", perturbation=PerturbationSettings(0.1, 7))
    assert tasks.build("like_me", TEXT, EXEMPLARS, noisy) == tasks.restyle_prompt(
        TEXT, "Jane Austen", 15, EXEMPLARS, perturbation={"input_noise": 0.1, "seed": 7})
    assert perturb_input(TEXT, noisy.perturbation) in tasks.build("formal", TEXT, (), noisy).text
    assert tasks.build("restyle", "a plain description", word_count=40, author="Chekhov").text == \
        tasks.restyle_prompt("a plain description", "Chekhov", 40).text


def test_rewrite_budgets_follow_the_input_length():
    words = len(TEXT.split())
    per_word = tokens_per_word("en")  # engine.text's measured rate for the text's language
    assert tasks.max_tokens("rephrase", TEXT) == int(16 + words * 2.0 * per_word)
    assert tasks.max_tokens("like_me", TEXT) == int(16 + words * 2.0 * per_word)
    assert tasks.max_tokens("shorter", TEXT) == int(16 + words * 1.3 * per_word)
    assert tasks.max_tokens("longer", TEXT) == int(16 + words * 3.0 * per_word)
    assert tasks.max_tokens("shorter", TEXT) < tasks.max_tokens("formal", TEXT) < \
        tasks.max_tokens("longer", TEXT)
    assert tasks.max_tokens("rephrase", TEXT + " " + TEXT) > tasks.max_tokens("rephrase", TEXT)
    russian = "Он вышел из дома рано утром и долго шёл вдоль реки к старому мосту."
    assert tasks.max_tokens("rephrase", russian) == int(
        16 + len(russian.split()) * 2.0 * tokens_per_word("ru"))


def test_continue_and_story_take_the_callers_length():
    assert tasks.max_tokens("continue", TEXT, 24) == 24
    assert tasks.max_tokens("continue", TEXT) == tasks.DEFAULT_TOKENS["continue"]
    assert tasks.max_tokens("story", "", None) == tasks.DEFAULT_TOKENS["story"]


def test_an_unknown_mode_is_refused_with_the_choices():
    calls = (lambda: tasks.build("summarize", TEXT), lambda: tasks.max_tokens("summarize", TEXT))
    for call in calls:
        with pytest.raises(ValueError, match="unknown mode 'summarize': choose one of continue"):
            call()


def test_task_frame_ends_on_the_colon_and_trains_on_the_same_text():
    """The rewrite task adapter's frame: no trailing space; training is prompt + ' ' + rewrite."""
    p = tasks.task_prompt("formal", "Maria  opened\na bakery.")
    assert p.text.endswith("Original: Maria opened a bakery.\nRewritten:") and p.stop == ("\n",)
    record = tasks.task_example("formal", "Maria opened a bakery.", "Maria established a bakery.")
    assert record["text"] == p.text + " Maria established a bakery.\n"
    framed = tasks.PromptSettings(task_frame=tasks.TASK_FRAME)
    framed_text = {m: tasks.build(m, "A b c.", settings=framed).text
                   for m in ("shorter", "like_me")}
    assert framed_text["shorter"] == tasks.task_prompt("shorter", "A b c.").text
    assert framed_text["like_me"] == tasks.task_prompt("rephrase", "A b c.").text
    assert tasks.build("rephrase", "A b c.").text != tasks.task_prompt("rephrase", "A b c.").text
    with pytest.raises(ValueError, match="no task frame"):
        tasks.task_prompt("story", "x")
