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
    for preset in tasks.PRESETS:  # the base alone: the two-shot frame (the restyle one runs away)
        assert tasks.build(preset, TEXT) == tasks.rephrase_prompt(TEXT, mode=preset)
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
    """The rewrite task adapter's frame: no trailing space; the completion is ' ' + rewrite."""
    p = tasks.task_prompt("formal", "Maria  opened\na bakery.")
    assert p.text.endswith("Original: Maria opened a bakery.\nRewritten:") and p.stop == ("\n",)
    record = tasks.task_example("formal", "Maria opened a bakery.", "Maria established a bakery.")
    assert record == {"prompt": p.text, "completion": " Maria established a bakery.\n"}
    framed = tasks.PromptSettings(task_frame=tasks.TASK_FRAME)
    framed_text = {m: tasks.build(m, "A b c.", settings=framed).text
                   for m in ("shorter", "like_me")}
    assert framed_text["shorter"] == tasks.task_prompt("shorter", "A b c.").text
    assert framed_text["like_me"] == tasks.task_prompt("rephrase", "A b c.").text
    assert tasks.build("rephrase", "A b c.").text != tasks.task_prompt("rephrase", "A b c.").text
    with pytest.raises(ValueError, match="no task frame"):
        tasks.task_prompt("story", "x")


def test_two_shot_frames_show_the_mode_in_the_texts_language():
    """The base answered Russian in English after English examples; each preset had no
    example at all (the restyle frame ran away to 2-5x the words)."""
    russian = "Игорь одолжил Наташе свои конспекты, но она их так и не вернула."
    ru = tasks.build("rephrase", russian)
    assert ru.text.endswith(f"Original: {russian}\nRewritten: ") and ru.stop == ("\n",)
    assert tasks.REWRITE_SHOTS[("rephrase", "ru")][0][1] in ru.text
    assert tasks.REPHRASE_SHOTS[0][1] not in ru.text
    for preset in tasks.PRESETS:
        for text, lang in ((TEXT, "en"), (russian, "ru")):
            p = tasks.build(preset, text)
            shots = tasks.REWRITE_SHOTS[(preset, lang)]
            assert p.task == preset and all(b in p.text for _, b in shots), (preset, lang)
    # each preset's examples demonstrate it, by the same measures the checks use
    from engine.quality.register import register

    for (mode, lang), pairs in tasks.REWRITE_SHOTS.items():
        for a, b in pairs:
            ratio = len(b.split()) / len(a.split())
            if mode == "shorter":
                assert ratio <= 0.9, (a, b)
            if mode == "longer":
                assert ratio >= 1.15, (a, b)
            if mode in ("formal", "casual"):
                shift = register(b, lang) - register(a, lang)
                assert (shift >= 0.15) if mode == "formal" else (shift <= -0.15), (a, b, shift)
    with pytest.raises(ValueError, match="no two-shot frame for 'story'"):
        tasks.rephrase_prompt(TEXT, mode="story")


def test_exemplars_bring_their_frame_markers_as_stops_and_their_names_to_avoid():
    named = ("Mr. Knightley walked with Harriet to Hartfield, and Emma watched them go.",
             "Miss Bates talked of Jane and of the Campbells all the way to the Crown.")
    request = "Emma and her father sit by the fire; a letter from Jane arrives."
    for mode in ("continue", "like_me", "story"):
        prompt = tasks.build(mode, request, named)
        assert set(tasks.FRAME_STOPS) <= set(prompt.stop), mode
        # names only the exemplars use, never the request's, nor titles or common words
        assert {"Knightley", "Harriet", "Hartfield", "Bates", "Campbells"} <= \
            set(prompt.avoid), mode
        # "Crown": also a common word, which the (case-blind) ban would take from the writer
        assert not {"Emma", "Jane", "Mr", "Miss", "Crown"} & set(prompt.avoid), mode
        assert set(tasks.FRAME_PHRASES) <= set(prompt.avoid)
    plain = tasks.build("continue", request)
    assert plain.stop == () and plain.avoid == ()
    assert tasks.build("rephrase", request, named).stop[0] == "\n"
    restyle = tasks.restyle_prompt("a plain description", "Chekhov", 40)
    assert set(tasks.RESTYLE_PHRASES) <= set(restyle.avoid)  # "her 189 word excerpt"


def test_russian_exemplar_names_are_avoided_in_every_case():
    ex = ("Вечером Вронский приехал к Облонским, и Анна вышла к нему.",)
    avoid = set(tasks.exemplar_avoid(ex, "Анну ждали дома."))
    assert {"Вронский", "Вронского", "Вронскому", "Облонским", "Облонских"} <= avoid
    assert not any(a.lower().startswith("анн") for a in avoid)  # the request names her


def test_the_restyle_frame_keeps_the_authors_name_and_its_own_words_out_of_the_prose():
    """'This excerpt was taken from Conrad's 1908 novel', quotations signed '– Conrad'."""
    p = tasks.restyle_prompt("A ship leaves the harbour at dusk.", "Joseph Conrad", 120)
    assert {"Joseph", "Conrad", "excerpt"} <= set(p.avoid)
    named = tasks.restyle_prompt("Conrad sails; the crew waits.", "Joseph Conrad", 120)
    assert "Conrad" not in named.avoid and "Joseph" in named.avoid  # the request's own name
    ru = tasks.author_avoid("Максим Горький", "Старик сидел у моря.")
    assert {"Максим", "Горький", "Горького", "Горькому"} <= set(ru)
    assert tasks.author_avoid("the same writer", "x") == () == tasks.author_avoid("H. G. Wel", "")
    assert tasks.author_avoid("H. G. Wells", "") == ("Wells",)
