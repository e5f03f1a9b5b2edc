"""The Python surface of simlar: errors, empty strings, huge inputs, options, stubs."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest

import simlar

from . import reference as ref

RUST = Path(__file__).resolve().parents[2] / "rust"


# --- bad input ---------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda bad: simlar.levenshtein_normalized_matrix(["a"], ["b", bad]),
        lambda bad: simlar.jaccard_ngrams_matrix(["a"], ["b", bad]),
    ],
)
@pytest.mark.parametrize("bad, type_name", [(None, "NoneType"), (3, "int"), (b"b", "bytes")])
def test_non_str_choice_is_a_type_error_naming_the_index(call, bad, type_name):
    with pytest.raises(TypeError, match=rf"^choices\[1\] must be str, not {type_name}$"):
        call(bad)


def test_non_str_query_and_text_name_their_index():
    with pytest.raises(TypeError, match=r"queries\[2\] must be str, not NoneType"):
        simlar.levenshtein_normalized_matrix(["a", "b", None], ["c"])
    with pytest.raises(TypeError, match=r"texts\[0\] must be str, not float"):
        simlar.minhash_signatures([1.5])
    with pytest.raises(TypeError, match=r"texts\[1\] must be str, not NoneType"):
        simlar.near_duplicates(["a", None])


def test_scalar_none_is_a_type_error_naming_the_argument():
    with pytest.raises(TypeError, match="s2 must be str, not NoneType"):
        simlar.levenshtein_normalized("a", None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="s1 must be str, not int"):
        simlar.jaccard_ngrams(1, "a")  # type: ignore[arg-type]


def test_a_bare_string_is_not_a_list_of_strings():
    with pytest.raises(TypeError, match="queries must be a sequence of str, not a single str"):
        simlar.levenshtein_normalized_matrix("abc", ["a"])
    with pytest.raises(TypeError, match="choices must be a sequence of str, not int"):
        simlar.jaccard_ngrams_matrix(["a"], 5)  # type: ignore[arg-type]


def test_out_of_domain_options_are_value_errors():
    with pytest.raises(ValueError, match="n must be at least 1"):
        simlar.jaccard_ngrams("a", "b", 0)
    with pytest.raises(ValueError, match="n must be at least 1"):
        simlar.jaccard_ngrams_matrix(["a"], ["b"], 0)
    with pytest.raises(ValueError, match="num_perm must be at least 1"):
        simlar.minhash_signatures(["a"], 0)
    with pytest.raises(ValueError, match="ngram must be at least 1"):
        simlar.near_duplicates(["a"], ngram=0)
    with pytest.raises(ValueError, match=r"threshold must be in \(0, 1\]"):
        simlar.near_duplicates(["a"], 0.0)
    with pytest.raises(ValueError, match=r"bands must be in \[1, num_perm=128\]"):
        simlar.near_duplicates(["a"], bands=129)
    with pytest.raises(ValueError, match=r"score_cutoff must be in \[0, 1\]"):
        simlar.levenshtein_normalized("a", "b", score_cutoff=2.0)
    with pytest.raises(OverflowError):
        simlar.minhash_signatures(["a"], seed=-1)


# --- empty strings (documented in _simlar.pyi) --------------------------------


def test_empty_string_results():
    assert simlar.levenshtein_normalized("", "") == 0.0
    assert simlar.levenshtein_normalized("", "абв") == 1.0
    assert simlar.jaccard_ngrams("", "") == 1.0
    assert simlar.jaccard_ngrams("", "abc") == 0.0
    assert simlar.jaccard_ngrams("ab", "ab", 3) == 1.0  # shorter than n: the string is its n-gram
    assert simlar.jaccard_ngrams("   ", "\t", fold_whitespace=True) == 1.0  # both fold to ""
    sig = simlar.minhash_signatures(["", "x"], 8)
    assert (sig[0] == np.iinfo(np.uint32).max).all() and not (sig[1] == sig[0]).all()
    assert simlar.levenshtein_normalized_matrix([], ["a"]).shape == (0, 1)
    assert simlar.jaccard_ngrams_matrix(["a"], []).shape == (1, 0)
    assert simlar.minhash_signatures([], 16).shape == (0, 16)
    assert simlar.near_duplicates([]) == []
    assert simlar.near_duplicates(["", "a", ""]) == [[0, 2]]


# --- options --------------------------------------------------------------------


def test_processor_is_applied_and_must_return_str():
    assert simlar.levenshtein_normalized("ABC", "abc", processor=str.lower) == 0.0
    m = simlar.jaccard_ngrams_matrix(["A B"], ["a b", "x"], processor=str.lower)
    np.testing.assert_array_equal(m, np.array([[1.0, 0.0]], dtype=np.float32))
    with pytest.raises(TypeError, match=r"queries\[0\] must be str \(after processor\), not int"):
        simlar.levenshtein_normalized_matrix(["a"], ["b"], processor=len)


def test_score_cutoff_follows_rapidfuzz_rules():
    d = ref.levenshtein_normalized("kitten", "sitting")  # 3/7
    assert simlar.levenshtein_normalized("kitten", "sitting", score_cutoff=0.5) == d
    assert simlar.levenshtein_normalized("kitten", "sitting", score_cutoff=0.4) == 1.0
    s = ref.jaccard_ngrams("night", "nacht", 2)  # 1/7
    assert simlar.jaccard_ngrams("night", "nacht", 2, score_cutoff=0.1) == s
    assert simlar.jaccard_ngrams("night", "nacht", 2, score_cutoff=0.2) == 0.0
    m = simlar.levenshtein_normalized_matrix(["kitten"], ["sitting", "kitten"], score_cutoff=0.4)
    np.testing.assert_array_equal(m, np.array([[1.0, 0.0]], dtype=np.float32))


def test_any_iterable_of_str_is_accepted():
    want = simlar.levenshtein_normalized_matrix(["ab", "cd"], ["ab"])
    got = simlar.levenshtein_normalized_matrix(("ab", "cd"), iter(["ab"]))
    np.testing.assert_array_equal(got, want)


# --- MinHash reproducibility ----------------------------------------------------


def test_signatures_are_the_same_in_another_process():
    """Hashing is fixed, not Python's or Rust's per-process randomized hash."""
    texts = ["Все счастливые семьи похожи друг на друга", "東京都の天気", "hello world"]
    here = simlar.minhash_signatures(texts, 64, seed=42)
    code = f"import simlar; print(simlar.minhash_signatures({texts!r}, 64, seed=42).tolist())"
    env = dict(os.environ, PYTHONHASHSEED="12345")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True)
    assert eval(out.stdout) == here.tolist()
    assert not (simlar.minhash_signatures(texts, 64, seed=43) == here).all()


def test_signature_agreement_estimates_jaccard():
    rng = random.Random(3)
    words = [rng.choice(["alpha", "beta", "gamma", "delta", "эпсилон", "ζήτα", "東京"])
             for _ in range(400)]
    a, b = " ".join(words), " ".join(words[:300] + words[::-1][:100])
    truth = ref.jaccard(ref.ngrams(a, 5), ref.ngrams(b, 5))
    sig = simlar.minhash_signatures([a, b], 2048)
    estimate = float((sig[0] == sig[1]).mean())
    assert abs(estimate - truth) < 0.05, (estimate, truth)


def test_lsh_params_are_datasketch_s():
    """datasketch 2.0 MinHashLSH(threshold, num_perm) picks these (b, r)."""
    assert simlar.lsh_params(0.75) == (11, 11)
    assert simlar.lsh_params(0.5, 128) == (25, 5)
    assert simlar.lsh_params(0.9, 64) == (3, 21)


# --- huge inputs -------------------------------------------------------------------


def test_huge_levenshtein_with_known_distance():
    """k substitutions by characters absent from the text cost exactly k edits."""
    rng = random.Random(0)
    alphabet = "abcdefghijklmnopqrstuvwxyzабвгдежзийклмнопрстуфхцчшщыьэюя東京都 "
    a = "".join(rng.choice(alphabet) for _ in range(30_000))
    b = list(a)
    positions = [0, 7_777, 15_000, 29_999]
    for p in positions:
        b[p] = "😀"
    b = "".join(b)
    assert simlar.levenshtein_normalized(a, b) == len(positions) / len(a)
    m = simlar.levenshtein_normalized_matrix([a], [b, a, ""])
    np.testing.assert_array_equal(
        m, np.array([[len(positions) / len(a), 0.0, 1.0]], dtype=np.float32))


def test_huge_repeated_inputs():
    big = "Все счастливые семьи похожи друг на друга. " * 100_000  # 4.3 M characters
    assert simlar.levenshtein_normalized(big, big + "!") == 1 / (len(big) + 1)
    assert simlar.jaccard_ngrams(big, big[1:]) == 1.0
    sig = simlar.minhash_signatures([big, big[::-1]], 16)
    assert sig.shape == (2, 16)
    assert simlar.near_duplicates([big, big + " конец", "x" * 1_000_000], 0.8) == [[0, 1]]


@pytest.mark.skipif(
    not Path("/proc/sys/vm/overcommit_memory").exists()
    or Path("/proc/sys/vm/overcommit_memory").read_text().strip() == "1",
    reason="with unconditional overcommit a huge allocation succeeds and is killed later",
)
def test_matrix_too_large_is_a_memory_error_not_a_crash():
    many = ["a"] * 2_000_000
    with pytest.raises(MemoryError, match=r"2000000 x 2000000 result does not fit in memory"):
        simlar.levenshtein_normalized_matrix(many, many)


# --- packaging -----------------------------------------------------------------------


def test_installed_extension_is_this_checkout_s():
    """A stale simlar from an older checkout would fail here: rerun scripts/install.sh."""
    cargo = tomllib.loads((RUST / "Cargo.toml").read_text())
    assert simlar.__version__ == cargo["package"]["version"]


def test_stubs_match_the_extension():
    """python -m mypy.stubtest simlar._simlar, as CI runs it."""
    out = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "simlar._simlar"], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stdout + out.stderr
