"""Near-duplicate paragraphs: exact key first, then MinHash LSH candidates checked by Jaccard.

A paragraph's exact key is the sha1 of its normalised text (lowercased,
whitespace folded), so copies that differ only in case or spacing are one
paragraph. Longer paragraphs also get MinHash band keys over character
5-grams; a new paragraph that shares a band with a stored one and has a
character 5-gram Jaccard of at least NEAR_DUP_JACCARD is linked to it instead
of being stored again. The Jaccard comes from the `simlar` Rust extension when
it is importable, else from the plain-Python reference below.
"""

from __future__ import annotations

import hashlib
import zlib

import numpy as np

NGRAM = 5
NEAR_DUP_JACCARD = 0.85
MIN_NEAR_DUP_WORDS = 12  # shorter paragraphs (headings, "Yes, sir.") are only exact-matched
BANDS, ROWS = 8, 4  # 32 hash functions; P(candidate | J=0.85) ~ 0.99, (J=0.5) ~ 0.4

_PRIME = (1 << 31) - 1  # a*h stays below 2**62: no uint64 overflow
_rng = np.random.default_rng(20240601)
_A = _rng.integers(1, _PRIME, size=BANDS * ROWS, dtype=np.uint64)
_B = _rng.integers(0, _PRIME, size=BANDS * ROWS, dtype=np.uint64)


def normalize(text: str) -> str:
    return " ".join(text.lower().split())


def exact_key(text: str) -> str:
    return hashlib.sha1(normalize(text).encode("utf-8")).hexdigest()


def _shingles(norm: str) -> set[str]:
    if len(norm) <= NGRAM:
        return {norm}
    return {norm[i : i + NGRAM] for i in range(len(norm) - NGRAM + 1)}


def band_keys(text: str) -> list[int]:
    """BANDS signed 63-bit keys; paragraphs sharing any key are near-duplicate candidates."""
    hashes = np.fromiter(
        (zlib.crc32(s.encode("utf-8")) for s in _shingles(normalize(text))), dtype=np.uint64
    )
    h = (hashes % np.uint64(_PRIME))[:, None]
    mixed = (_A * h + _B) % np.uint64(_PRIME)
    signature = mixed.min(axis=0).reshape(BANDS, ROWS)
    keys = []
    for band, row in enumerate(signature):
        digest = hashlib.blake2b(row.tobytes() + bytes([band]), digest_size=8).digest()
        keys.append(int.from_bytes(digest, "little", signed=True) >> 1)
    return keys


def jaccard(a: str, b: str) -> float:
    """Character 5-gram Jaccard of the normalised texts (lower-cased, whitespace folded; the
    simlar Rust extension, which scripts/install.sh builds)."""
    import simlar

    return float(simlar.jaccard_ngrams(a, b, n=NGRAM, lowercase=True, fold_whitespace=True))
