"""Type stubs for the Rust extension `simlar._simlar`.

Strings are compared as sequences of Unicode code points: Cyrillic and CJK
characters count as one character each, not as their UTF-8 bytes. Every batch
function releases the GIL and runs on all cores.
"""

from collections.abc import Callable, Iterable

import numpy as np
import numpy.typing as npt

__all__ = [
    "__version__",
    "jaccard_ngrams",
    "jaccard_ngrams_matrix",
    "levenshtein_normalized",
    "levenshtein_normalized_matrix",
    "lsh_params",
    "minhash_signatures",
    "near_duplicates",
]
__version__: str

def jaccard_ngrams(
    s1: str,
    s2: str,
    n: int = 3,
    *,
    lowercase: bool = False,
    fold_whitespace: bool = False,
    processor: Callable[[str], str] | None = None,
    score_cutoff: float | None = None,
) -> float:
    """Jaccard similarity of the sets of character n-grams of two strings.

    Example: ``jaccard_ngrams("night", "nacht", 2) == 1 / 7`` (only "ht" is
    shared among 7 distinct bigrams).

    Arguments:
        s1, s2: the strings to compare.
        n: n-gram length in characters (>= 1).
        lowercase: lowercase both strings first (full Unicode case mapping, as
            ``str.lower``).
        fold_whitespace: collapse each run of Unicode whitespace to one space and
            strip both ends first.
        processor: applied to each string before anything else; must return str.
        score_cutoff: results below it are returned as 0.0 (rapidfuzz's rule).

    Returns:
        ``|A & B| / |A | B|`` in [0, 1]; 1.0 means the same n-gram set. A
        non-empty string shorter than ``n`` has one n-gram, itself. Empty strings
        have no n-grams: ``jaccard_ngrams("", "") == 1.0`` and
        ``jaccard_ngrams("", "abc") == 0.0``.

    Raises:
        TypeError: ``s1`` or ``s2`` (or the processor's result) is not a str.
        ValueError: ``n`` is 0 or ``score_cutoff`` is outside [0, 1].
        OverflowError: ``n`` is negative.
    """

def jaccard_ngrams_matrix(
    queries: Iterable[str],
    choices: Iterable[str],
    n: int = 3,
    *,
    lowercase: bool = False,
    fold_whitespace: bool = False,
    processor: Callable[[str], str] | None = None,
    score_cutoff: float | None = None,
) -> npt.NDArray[np.float32]:
    """All-pairs :func:`jaccard_ngrams` of ``queries`` against ``choices``.

    Arguments:
        queries, choices: sequences of str (lists, tuples or any iterable; a
            bare str is rejected).
        n, lowercase, fold_whitespace, processor, score_cutoff: as in
            :func:`jaccard_ngrams`.

    Returns:
        float32 array of shape ``(len(queries), len(choices))``; ``out[i, j]``
        compares ``queries[i]`` with ``choices[j]``. Empty strings follow
        :func:`jaccard_ngrams` (two empty strings: 1.0). An empty list gives a
        matrix with a zero dimension.

    Raises:
        TypeError: an element is None or not a str; the message names it, e.g.
            ``choices[3] must be str, not NoneType``.
        ValueError: ``n`` is 0 or ``score_cutoff`` is outside [0, 1].
        MemoryError: the result matrix cannot be allocated.
    """

def levenshtein_normalized(
    s1: str,
    s2: str,
    *,
    processor: Callable[[str], str] | None = None,
    score_cutoff: float | None = None,
) -> float:
    """Normalized Levenshtein distance: edits / max(len(s1), len(s2)).

    The same value as ``rapidfuzz.distance.Levenshtein.normalized_distance``
    with unit weights. Example: ``levenshtein_normalized("kitten", "sitting")
    == 3 / 7``.

    Arguments:
        s1, s2: the strings to compare.
        processor: applied to each string first; must return str.
        score_cutoff: results above it are returned as 1.0 (rapidfuzz's rule).

    Returns:
        A distance in [0, 1]: 0.0 for equal strings, 1.0 when nothing can be
        kept. ``levenshtein_normalized("", "") == 0.0`` and
        ``levenshtein_normalized("", "abc") == 1.0``.

    Raises:
        TypeError: ``s1`` or ``s2`` (or the processor's result) is not a str.
        ValueError: ``score_cutoff`` is outside [0, 1].
    """

def levenshtein_normalized_matrix(
    queries: Iterable[str],
    choices: Iterable[str],
    *,
    processor: Callable[[str], str] | None = None,
    score_cutoff: float | None = None,
) -> npt.NDArray[np.float32]:
    """All-pairs :func:`levenshtein_normalized`, like
    ``rapidfuzz.process.cdist(queries, choices,
    scorer=Levenshtein.normalized_distance, workers=-1)``.

    Arguments:
        queries, choices: sequences of str (a bare str is rejected).
        processor, score_cutoff: as in :func:`levenshtein_normalized`.

    Returns:
        float32 array of shape ``(len(queries), len(choices))``. Two empty
        strings give 0.0; an empty string against a non-empty one gives 1.0.

    Raises:
        TypeError: an element is None or not a str; the message names its index.
        ValueError: ``score_cutoff`` is outside [0, 1].
        MemoryError: the result matrix cannot be allocated.
    """

def minhash_signatures(
    texts: Iterable[str],
    num_perm: int = 128,
    ngram: int = 5,
    *,
    seed: int = 1,
    lowercase: bool = False,
    fold_whitespace: bool = False,
) -> npt.NDArray[np.uint32]:
    """MinHash signatures of the character ``ngram``-shingle sets of ``texts``.

    Signatures depend only on the text, ``num_perm``, ``ngram``, ``seed`` and the
    normalization flags: they are the same on every run, process and platform
    (fixed XXH3 hashing, no per-process hash seed). For two texts, the fraction
    of equal columns estimates the Jaccard similarity of their shingle sets.

    Arguments:
        texts: a sequence of str.
        num_perm: number of hash functions (columns), >= 1.
        ngram: shingle length in characters, >= 1.
        seed: a non-negative 64-bit integer choosing the hash functions.
        lowercase, fold_whitespace: as in :func:`jaccard_ngrams`.

    Returns:
        uint32 array of shape ``(len(texts), num_perm)``. An empty text has no
        shingles and a signature of all ``2**32 - 1``; a text shorter than
        ``ngram`` has one shingle, itself.

    Raises:
        TypeError: an element is None or not a str; the message names its index.
        ValueError: ``num_perm`` or ``ngram`` is 0.
        OverflowError: ``seed`` is negative or above ``2**64 - 1``.
        MemoryError: the signature matrix cannot be allocated.
    """

def lsh_params(threshold: float, num_perm: int = 128) -> tuple[int, int]:
    """The LSH ``(bands, rows)`` that :func:`near_duplicates` uses by default.

    They minimize the equally weighted false-positive and false-negative areas of
    the banding S-curve around ``threshold``, the same rule (and the same result)
    as datasketch's ``MinHashLSH(threshold, num_perm)``.

    Returns:
        ``(bands, rows)`` with ``bands * rows <= num_perm``.

    Raises:
        ValueError: ``threshold`` is outside (0, 1] or ``num_perm`` is 0.
    """

def near_duplicates(
    texts: Iterable[str],
    threshold: float = 0.75,
    *,
    num_perm: int = 128,
    ngram: int = 5,
    seed: int = 1,
    bands: int | None = None,
    lowercase: bool = False,
    fold_whitespace: bool = False,
) -> list[list[int]]:
    """Clusters of near-duplicate texts, found with MinHash LSH.

    Candidate pairs (texts sharing an LSH band) are re-checked with the exact
    Jaccard similarity of their ``ngram``-shingle sets, and only pairs with
    similarity >= ``threshold`` are joined, so there are no false positives:
    every member of a cluster has exact similarity >= ``threshold`` with at
    least one other member. Clusters are the connected components of those
    verified pairs (so two members at the ends of a chain may be less similar).
    Pairs that LSH does not propose can be missed (rarely, near the threshold).

    Example: ``near_duplicates(["a cat sat", "b dog ran", "a cat sat!"], 0.5)
    == [[0, 2]]``.

    Arguments:
        texts: a sequence of str.
        threshold: minimum exact Jaccard similarity, in (0, 1].
        num_perm, ngram, seed, lowercase, fold_whitespace: as in
            :func:`minhash_signatures`.
        bands: number of LSH bands (rows per band = ``num_perm // bands``);
            None picks them with :func:`lsh_params`.

    Returns:
        A list of clusters, each a sorted list of indices into ``texts`` with at
        least two members; clusters are ordered by their first index. Texts with
        identical shingle sets always share a cluster; in particular all empty
        texts form one cluster (their similarity is defined as 1.0).

    Raises:
        TypeError: an element is None or not a str; the message names its index.
        ValueError: ``threshold`` is outside (0, 1], ``num_perm`` or ``ngram`` is
            0, or ``bands`` is outside [1, num_perm].
    """
