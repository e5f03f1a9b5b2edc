"""simlar against the plain-Python reference on random Unicode (hypothesis).

SIMLAR_MAX_EXAMPLES sets the number of examples per property (default 200), as
tiktoken's TIKTOKEN_MAX_EXAMPLES does.
"""

from __future__ import annotations

import os

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import simlar

from . import reference as ref

MAX_EXAMPLES = int(os.environ.get("SIMLAR_MAX_EXAMPLES", "200"))
SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# A small alphabet makes strings share characters and n-grams; the rest is any
# assigned code point (surrogates excluded: they are not valid str for Rust).
SMALL = "ab ЖжЯ東京都\t\u3000😀é"
chars = st.one_of(st.sampled_from(SMALL), st.characters(exclude_categories=("Cs",)))
# Lowercasing is compared only on characters assigned in Python's Unicode
# database, so a newer Unicode in Rust cannot add mappings Python lacks.
assigned = st.one_of(st.sampled_from(SMALL + "ÅΣΑΣ İ"),
                     st.characters(exclude_categories=("Cs", "Cn")))


@st.composite
def similar_pair(draw, alphabet=chars, max_size=200):
    """A string and a copy with a few random edits (both sides may exceed 64 and 128 chars)."""
    a = draw(st.text(alphabet, max_size=max_size))
    b = list(a)
    for _ in range(draw(st.integers(0, 8))):
        op = draw(st.sampled_from("isd"))
        pos = draw(st.integers(0, len(b)))
        if op == "i":
            b.insert(pos, draw(alphabet))
        elif b and pos < len(b):
            if op == "s":
                b[pos] = draw(alphabet)
            else:
                del b[pos]
    pair = (a, "".join(b))
    return pair if draw(st.booleans()) else pair[::-1]


pairs = st.one_of(similar_pair(),
                  st.tuples(st.text(chars, max_size=80), st.text(chars, max_size=80)))
short_lists = st.lists(st.text(chars, max_size=40), max_size=5)


@SETTINGS
@given(pairs)
def test_levenshtein_equals_reference(pair):
    a, b = pair
    assert simlar.levenshtein_normalized(a, b) == ref.levenshtein_normalized(a, b)


@SETTINGS
@given(pairs)
def test_levenshtein_symmetry_identity_bounds(pair):
    a, b = pair
    d = simlar.levenshtein_normalized(a, b)
    assert d == simlar.levenshtein_normalized(b, a)
    assert 0.0 <= d <= 1.0
    assert simlar.levenshtein_normalized(a, a) == 0.0
    assert (d == 0.0) == (a == b)


@SETTINGS
@given(pairs, st.integers(1, 7))
def test_jaccard_equals_reference(pair, n):
    a, b = pair
    assert simlar.jaccard_ngrams(a, b, n) == ref.jaccard_ngrams(a, b, n)


@SETTINGS
@given(similar_pair(alphabet=assigned, max_size=60), st.integers(1, 4), st.booleans(),
       st.booleans())
def test_jaccard_normalization_equals_reference(pair, n, lowercase, fold_whitespace):
    a, b = pair
    got = simlar.jaccard_ngrams(a, b, n, lowercase=lowercase, fold_whitespace=fold_whitespace)
    assert got == ref.jaccard_ngrams(a, b, n, lowercase=lowercase, fold_whitespace=fold_whitespace)


@SETTINGS
@given(pairs, st.integers(1, 5))
def test_jaccard_symmetry_identity_bounds(pair, n):
    a, b = pair
    s = simlar.jaccard_ngrams(a, b, n)
    assert s == simlar.jaccard_ngrams(b, a, n)
    assert 0.0 <= s <= 1.0
    assert simlar.jaccard_ngrams(a, a, n) == 1.0


@SETTINGS
@given(short_lists, short_lists)
def test_levenshtein_matrix_equals_reference(queries, choices):
    got = simlar.levenshtein_normalized_matrix(queries, choices)
    want = np.array([[ref.levenshtein_normalized(q, c) for c in choices] for q in queries],
                    dtype=np.float32)
    assert got.dtype == np.float32 and got.shape == (len(queries), len(choices))
    np.testing.assert_array_equal(got, want.reshape(len(queries), len(choices)))


@SETTINGS
@given(short_lists, short_lists, st.integers(1, 4))
def test_jaccard_matrix_equals_reference(queries, choices, n):
    got = simlar.jaccard_ngrams_matrix(queries, choices, n)
    want = np.array([[ref.jaccard_ngrams(q, c, n) for c in choices] for q in queries],
                    dtype=np.float32)
    assert got.dtype == np.float32 and got.shape == (len(queries), len(choices))
    np.testing.assert_array_equal(got, want.reshape(len(queries), len(choices)))


@SETTINGS
@given(st.lists(st.text(chars, max_size=60), min_size=2, max_size=6), st.floats(0.3, 1.0))
def test_near_duplicates_are_verified_components(texts, threshold):
    """On small inputs LSH finds every pair: the clusters equal the brute-force ones."""
    verified = [
        (i, j)
        for i in range(len(texts))
        for j in range(i + 1, len(texts))
        if ref.jaccard(ref.ngrams(texts[i], 5), ref.ngrams(texts[j], 5)) >= threshold
    ]
    # One row per band: one equal MinHash value of 128 makes a candidate, so a pair
    # with similarity >= 0.3 is missed with probability < 0.7**128; the exact
    # re-check then decides.
    got = simlar.near_duplicates(texts, threshold, bands=128)
    assert got == ref.clusters_from_pairs(len(texts), verified)


@settings(SETTINGS, max_examples=max(10, MAX_EXAMPLES // 4))
@given(st.lists(st.text(chars, max_size=70), min_size=20, max_size=40),
       st.lists(st.text(chars, max_size=70), max_size=3))
def test_levenshtein_matrix_fills_every_lane(queries, choices):
    """Enough queries of mixed lengths to fill the 8/16/32/64-bit lane groups of a block."""
    got = simlar.levenshtein_normalized_matrix(queries, choices)
    want = np.array([[ref.levenshtein_normalized(q, c) for c in choices] for q in queries],
                    dtype=np.float32)
    np.testing.assert_array_equal(got, want.reshape(len(queries), len(choices)))
