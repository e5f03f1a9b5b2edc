"""Faithfulness of rewrites: facts, register, the checks together, and rerank's ordering."""

from __future__ import annotations

import pytest

from engine.quality import faithfulness as F
from engine.quality.facts import compare, facts, numbers
from engine.quality.register import register

LIGHTHOUSE = ("Each evening he climbed the hundred and twelve steps, trimmed the wick, and watched "
              "the grey water for ships that never came.")
# The top "rephrasing" the base model offered for it (issue 15), and a faithful one.
GARBLED = ("1000 and twelve 1250 steps, trimming the wick, and watching the gray water for ships "
           "that never came.")
FAITHFUL = ("Every evening he went up the 112 steps, trimmed the wick and watched the grey sea for "
            "ships that did not come.")


@pytest.mark.parametrize("text,lang,expected", [
    ("a hundred and twelve steps", "en", {"112"}),
    ("He paid 3,000 dollars for two eggs.", "en", {"3000", "2"}),
    ("the fifth floor, twenty-three years", "en", {"5", "23"}),
    ("It weighs 2.5 million tons.", "en", {"2500000"}),
    ("двадцать три года на пятом этаже", "ru", {"23", "5"}),
    ("за 300 тысяч рублей и две тысячи", "ru", {"300000", "2000"}),
    ("в 7:45, а не в 8:15", "ru", {"7:45", "8:15"}),
])
def test_numbers_are_compared_by_value(text, lang, expected):
    assert numbers(text, lang) == expected


def test_facts_of_a_sentence():
    f = facts("Tom sold his car to his sister Anna for 3,000 dollars last March, not in May 2020.")
    assert f.numbers == {"3000", "2020"}
    assert f.names == {"tom", "anna"}
    assert f.dates == {"month:3", "month:5"}
    assert f.negations == 1
    assert f.count == 2 + 2 + 2 + 1


def test_russian_names_decline():
    kept, reasons = compare("Игорь одолжил Наташе свои конспекты.", "Свои конспекты Игорь дал Наташе.")
    assert kept == 1.0 and reasons == []
    kept, reasons = compare("Прошлой весной Том продал машину сестре Анне.", "Том продал машину сестре весной.")
    assert "loses the name Анн" in reasons


def test_the_issue_example_loses_and_adds_numbers():
    kept, reasons = compare(LIGHTHOUSE, GARBLED)
    assert kept == 0.5  # 112 lost; no name, date or negation changed
    assert reasons[0] == "loses the number 112"
    assert {"adds the number 1000", "adds the number 1250"} <= set(reasons)
    assert compare(LIGHTHOUSE, FAITHFUL) == (1.0, [])


def test_negations_and_added_names():
    _, reasons = compare("Kate did not tell her parents.", "Kate told her parents.")
    assert reasons == ["drops a negation"]
    _, reasons = compare("Kate told her parents.", "Kate told her parents and Oliver.")
    assert reasons == ["adds the name Oliver"]


def test_register_orders_formal_above_casual():
    formal = "I regret to inform you that the meeting has therefore been postponed until Thursday."
    casual = "hey, so the meeting's off till thursday lol, sorry guys!"
    assert register(formal) > 0 > register(casual)
    assert register("Сообщаем, что совещание, следовательно, переносится на четверг.") > register(
        "ну короче, встреча переносится на четверг, блин!")


def test_change_is_zero_for_a_copy_and_one_for_new_words():
    assert F.change("The cat sat.", "the cat sat") == 0.0
    assert F.change("The cat sat.", "A dog ran.") == 1.0


def test_assess_without_model_marks_copies_facts_and_intent():
    out = F.assess(LIGHTHOUSE, [GARBLED, LIGHTHOUSE, FAITHFUL, ""], "rephrase", embed=False)
    assert [c.ok for c in out] == [False, False, True, False]
    assert out[1].reasons == ("a copy of the original",)
    assert out[3].reasons == ("empty",)
    shorter = F.assess(LIGHTHOUSE, [FAITHFUL], "shorter", embed=False)[0]
    assert not shorter.ok and shorter.reasons[0].startswith("not shorter")
    with pytest.raises(ValueError, match="unknown rewrite task"):
        F.assess(LIGHTHOUSE, [FAITHFUL], "poem")


def test_assess_on_the_real_models(real_lm):
    """The faithful rewrite passes every check; the garbled one and an unrelated one fail."""
    unrelated = "The cat sat on the mat and purred all afternoon."
    out = F.assess(LIGHTHOUSE, [GARBLED, FAITHFUL, unrelated], "rephrase", lm=real_lm, thorough=True)
    assert [c.ok for c in out] == [False, True, False]
    assert out[1].similarity > out[2].similarity
    assert out[1].entailment > out[2].entailment
    assert any(r.startswith("meaning drifts") for r in out[2].reasons)
    assert all(c.perplexity_ratio is not None for c in out)


def test_rerank_puts_faithful_candidates_first(tiny_lm):
    from engine.generate import Completion
    from engine.quality.rerank import rank

    cands = [Completion(t, [], [], "stop") for t in (GARBLED, LIGHTHOUSE, FAITHFUL)]
    ranked = rank(cands, source=LIGHTHOUSE, task="rephrase")
    assert ranked[0].text == FAITHFUL and ranked[0].faithful is True
    assert all(r.faithful is False for r in ranked[1:])
    assert ranked[1].to_dict()["faithfulness"]["reasons"]


def test_the_same_suggestion_is_offered_once():
    """`killah rephrase` once offered two identical candidates: duplicates are dropped."""
    from engine.generate import Completion
    from engine.quality.rerank import rank

    texts = (FAITHFUL, GARBLED, " " + FAITHFUL.upper().replace(" ", "  "), GARBLED, FAITHFUL)
    ranked = rank([Completion(t, [], [], "stop") for t in texts], source=LIGHTHOUSE)
    assert sorted(r.index for r in ranked) == [0, 1]
    assert [r.text for r in ranked] == [FAITHFUL, GARBLED]


def test_a_translation_is_not_a_rephrasing():
    src = "Экзамен длится три часа, и телефоны в аудитории запрещены."
    out = F.assess(src, ["The exam lasts three hours and phones in the auditorium are forbidden.",
                         "На экзамен отводится три часа; пользоваться телефонами в аудитории нельзя."],
                   "rephrase")
    assert out[0].reasons[0] == "written in another language" and not out[0].ok
    assert out[1].ok, out[1].reasons
