"""The composite score: shipped weights on the simplex, 0-10 scale, breakdown, persona awareness."""

from __future__ import annotations

import json
import math

import pytest

from engine.errors import KillahError
from engine.quality.composite import COMPONENTS, Composite, load_composite, score_texts
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


def test_shipped_weights_are_interpretable():
    comp = load_composite()
    assert set(comp.alphas) == set(COMPONENTS)
    assert all(a >= 0 for a in comp.alphas.values())
    assert sum(comp.alphas.values()) == pytest.approx(1.0, abs=1e-5)  # stored rounded to 6 decimals


def test_bad_weights_are_refused(tmp_path):
    d = load_composite().to_dict()
    d["alphas"] = {**d["alphas"], "learned": d["alphas"]["learned"] + 0.5}
    path = tmp_path / "composite.json"
    path.write_text(json.dumps(d))
    with pytest.raises(KillahError, match="summing to 1"):
        load_composite(path)


def test_missing_components_are_renormalised():
    comp = Composite({c: 1.0 / len(COMPONENTS) for c in COMPONENTS}, {}, {})
    parts = {c: None for c in COMPONENTS} | {"learned": 0.8, "repetition": 0.4}
    q = comp.combine(parts)
    assert q.weights == {"learned": 0.5, "repetition": 0.5}
    assert q.score == pytest.approx(6.0)


def test_score_range_breakdown_and_slop_ordering():
    good, slop = score_texts([GOOD, SLOP])
    for q in (good, slop):
        assert 0.0 <= q.score <= 10.0
        assert set(q.components) == set(COMPONENTS)
        assert q.components["perplexity_variation"] is None  # no log-probs given
        assert sum(q.weights.values()) == pytest.approx(1.0)
        recomposed = 10 * sum(q.weights[k] * q.components[k] for k in q.weights)
        assert q.score == pytest.approx(recomposed)
    assert good.components["generic_phrases"] > slop.components["generic_phrases"]
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
    assert personal.metrics["style_match"] != general.metrics["style_match"]
    assert math.isfinite(personal.score)
