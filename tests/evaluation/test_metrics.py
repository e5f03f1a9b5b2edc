"""Bootstrap intervals and the text metrics, checked against first principles."""

from __future__ import annotations

import numpy as np

from training.evaluation.metrics import (
    bootstrap_ci, distinct_n, generic_per_1k, length_ratio, repeated_ngram_share,
)


def test_bootstrap_interval_contains_the_estimate_and_narrows_with_more_samples():
    rng = np.random.default_rng(1)
    small = rng.binomial(1, 0.7, size=20).astype(float)
    large = rng.binomial(1, 0.7, size=500).astype(float)
    a, b = bootstrap_ci(small, seed=0), bootstrap_ci(large, seed=0)
    for est, x in ((a, small), (b, large)):
        assert est.lo <= est.mean <= est.hi
        assert est.mean == x.mean() and est.n == len(x)
    assert (b.hi - b.lo) < 0.5 * (a.hi - a.lo)
    # width of a 95% interval of a proportion: about 2 * 1.96 * sqrt(p(1-p)/n)
    expected = 2 * 1.96 * np.sqrt(large.mean() * (1 - large.mean()) / len(large))
    assert abs((b.hi - b.lo) - expected) < 0.25 * expected


def test_bootstrap_is_seeded_and_ignores_missing_values():
    x = [0.1, 0.5, float("nan"), 0.9, 0.3]
    assert bootstrap_ci(x, seed=3) == bootstrap_ci(x, seed=3)
    assert bootstrap_ci(x).n == 4
    assert np.isnan(bootstrap_ci([]).mean)


def test_text_metrics_from_first_principles():
    assert distinct_n("a b a b", 1) == 0.5
    assert distinct_n("a b a b", 2) == 2 / 3
    # "the cat sat" twice: all six words are inside a repeated 3-gram; "down" is not
    assert repeated_ngram_share("the cat sat the cat sat down", 3) == 6 / 7
    assert length_ratio("one two three", 6) == 0.5


def test_generic_phrase_rate_counts_lexicon_hits_per_thousand_words():
    plain = "The ship left the harbour at noon and reached the island before dark."
    sloppy = "She took a deep breath, her voice barely above a whisper, and stepped forward."
    assert generic_per_1k(plain) == 0
    assert generic_per_1k(sloppy) >= 1000 * 2 / 14
