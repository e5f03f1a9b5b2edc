"""The WQRM score: 0-10, its breakdown and reasons, log-probs and persona awareness."""

from __future__ import annotations

import math

import pytest

from engine.quality.composite import score_texts
from engine.quality.head import BROKEN_SCORE
from engine.quality.metrics import doubled_words, latin_share
from engine.quality.profile import StyleProfile

GOOD = (
    "The bus came late. Mara counted the coins in her palm twice, then paid the driver with the "
    "exact fare and sat by the window. Outside, the market was closing; men stacked crates of "
    "onions against the wall of the bank, and a boy chased a paper bag across the square."
)
SLOP = (
    "She took a deep breath, her voice barely above a whisper. A testament to the rich tapestry "
    "of their bond, the moment sent shivers down her spine. She couldn't help but feel a sense of "
    "unspoken connection as the sun dipped below the horizon, casting long shadows across the room."
)


def test_doubled_words_and_latin_share():
    assert doubled_words(["the", "the", "water", "water"]) == pytest.approx(2 / 3)
    assert doubled_words(["a"]) is None
    assert latin_share("Hello мир") == pytest.approx(5 / 8)
    assert latin_share("123 ...") is None


def test_score_range_breakdown_and_slop_ordering():
    good, slop = score_texts([GOOD, SLOP])
    for q in (good, slop):
        assert 0.0 <= q.score <= 10.0
        assert set(q.components) >= {"quality", "fluency", "repetition", "stock_phrases", "english"}
        assert q.components["perplexity_variation"] is None  # no log-probs given
        expected = (1 - q.metrics["p_broken"]) * q.metrics["quality"] + q.metrics["p_broken"] * BROKEN_SCORE
        assert q.score == pytest.approx(min(10.0, max(0.0, expected)))
    assert good.components["stock_phrases"] > slop.components["stock_phrases"]
    assert any(r.startswith("stock phrases") for r in slop.reasons)
    assert good.score > slop.score


def test_logprobs_enable_the_perplexity_component():
    (q,) = score_texts([GOOD], logprobs=[[-1.0] * 16 + [-3.0] * 16])
    assert q.components["perplexity_variation"] is not None
    assert 0.0 < q.components["perplexity_variation"] <= 1.0


def test_persona_profile_moves_the_style_components():
    """A persona of long, clause-heavy sentences rates a choppy text's rhythm lower than the general profile."""
    long_sentences = [
        "It was a truth that nobody in the village cared to admit, though everyone knew it, that the "
        "old mill had not turned since the winter of the great flood, when the river rose over the "
        "weir and carried away the miller's cart, his two goats and most of his temper." for _ in range(3)
    ]
    persona = StyleProfile.from_texts(long_sentences, name="long")
    choppy = "He ran. She hid. The dog barked. Rain fell. Nobody came. The door shut."
    (general,) = score_texts([choppy])
    (personal,) = score_texts([choppy], persona_profile=persona)
    assert personal.components["sentence_rhythm"] < general.components["sentence_rhythm"]
    assert math.isfinite(personal.score) and personal.score == pytest.approx(general.score)
