"""Rigid writing-quality metrics: small pure functions on text, tokens or numbers.

Each function documents its formula. None of them loads a model: semantic
continuity takes sentence embeddings (engine.embeddings.embed makes them) and
perplexity variation takes the generator's per-token log-probs. A metric that is
undefined for its input (too short) returns None rather than a made-up number.
"""

from __future__ import annotations

import lzma
import math
import re
from collections.abc import Sequence
from functools import lru_cache
from itertools import pairwise

import numpy as np

# Tokens, sentences and n-gram statistics come from engine.text (re-exported: the metrics' API).
from engine.text import distinct_n, sentences, words  # noqa: F401
from engine.text import repeated_ngram_share as repetition  # noqa: F401

_LETTER = re.compile(r"[^\W\d_]")
_LATIN = re.compile(r"[A-Za-z\u00C0-\u024F]")

# Sentence-length histogram bin edges, in words: [1,5), [5,10), ... [60, inf).
SENTENCE_LENGTH_BINS: tuple[int, ...] = (1, 5, 10, 15, 20, 25, 30, 40, 60)

# Semantic continuity outside this band is either incoherent (low) or repetitive (high).
CONTINUITY_BAND: tuple[float, float] = (0.3, 0.7)

MTLD_THRESHOLD = 0.72

_LZMA_FILTERS = [{"id": lzma.FILTER_LZMA2, "preset": 9, "dict_size": 1 << 20}]


def type_token_ratio(tokens: Sequence[str]) -> float | None:
    """TTR = |distinct tokens| / |tokens|."""
    if not tokens:
        return None
    return len(set(tokens)) / len(tokens)


def _mtld_pass(tokens: Sequence[str], threshold: float) -> float:
    factors = 0.0
    types: set[str] = set()
    count = 0
    for token in tokens:
        count += 1
        types.add(token)
        if len(types) / count <= threshold:
            factors += 1
            types, count = set(), 0
    if count:
        factors += (1 - len(types) / count) / (1 - threshold)
    return len(tokens) / factors if factors else float(len(tokens))


def mtld(tokens: Sequence[str], threshold: float = MTLD_THRESHOLD) -> float | None:
    """Measure of Textual Lexical Diversity (McCarthy & Jarvis 2010), bidirectional.

    Walking the tokens, a "factor" ends each time the running TTR of the current
    segment falls to `threshold`; the leftover segment counts as the partial factor
    (1 - TTR_rest) / (1 - threshold). MTLD = |tokens| / factors, averaged over the
    forward and the reversed pass. One word repeated gives 2.0 (a factor every two
    tokens); a text with no repeated word gives |tokens| (no factor ever completes).
    """
    if not tokens:
        return None
    return (_mtld_pass(tokens, threshold) + _mtld_pass(list(reversed(tokens)), threshold)) / 2


def sentence_lengths(text: str) -> list[int]:
    """Words per sentence."""
    return [len(words(s)) for s in sentences(text)]


def sentence_length_distribution(
    lengths: Sequence[int], bins: Sequence[int] = SENTENCE_LENGTH_BINS, alpha: float = 0.5
) -> np.ndarray:
    """P(bin) of sentence lengths over `bins` (last bin open-ended), add-`alpha` smoothed.

    P(i) = (count_i + alpha) / (n + alpha * B): never zero, so KL stays finite.
    """
    edges = list(bins) + [math.inf]
    counts = np.zeros(len(bins), dtype=np.float64)
    for length in lengths:
        for i in range(len(bins)):
            if edges[i] <= length < edges[i + 1]:
                counts[i] += 1
                break
    return (counts + alpha) / (counts.sum() + alpha * len(bins))


def kl_divergence(p: Sequence[float], q: Sequence[float]) -> float:
    """KL(P || Q) = sum_i P(i) log(P(i) / Q(i)), in nats; 0 when P == Q.

    For the sentence-length metric P is the reference profile (persona or general)
    and Q the text's smoothed distribution.
    """
    p, q = np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)
    if p.shape != q.shape:
        raise ValueError(f"distributions differ in length: {p.shape} vs {q.shape}")
    p, q = p / p.sum(), q / q.sum()
    mask = p > 0
    return float(np.sum(p[mask] * np.log(p[mask] / q[mask])))


def _fold(text: str) -> str:
    return " ".join(text.lower().split())


@lru_cache(maxsize=4096)
def char_ngrams(text: str, n: int = 3) -> frozenset[str]:
    """The set of character n-grams of the lower-cased, whitespace-folded text (cached)."""
    text = _fold(text)
    if len(text) < n:
        return frozenset({text} if text else ())
    return frozenset(text[i : i + n] for i in range(len(text) - n + 1))


def _jaccard_rows(text: str, references: Sequence[str], n: int) -> np.ndarray:
    """Char n-gram Jaccard of `text` vs each reference (the simlar Rust extension)."""
    from simlar import jaccard_ngrams_matrix

    return np.asarray(jaccard_ngrams_matrix([_fold(text)], [_fold(r) for r in references], n=n))[0]


def ngram_style_match(
    text: str, references: Sequence[str], n: int = 3, top_k: int = 5
) -> float | None:
    """Mean of the top-k character n-gram Jaccard similarities of `text` to a reference corpus.

    J(a, b) = |G_n(a) ∩ G_n(b)| / |G_n(a) ∪ G_n(b)| over lower-cased, whitespace-folded
    character n-grams; the match is mean(top_k_b J(text, b)) over reference passages b
    (the persona's paragraphs, or the general reference). Computed by `simlar` when it
    is installed, by plain Python otherwise (same result).
    """
    if not references or not text.strip():
        return None
    sims = np.sort(_jaccard_rows(text, references, n))[::-1]
    return float(np.mean(sims[: max(1, top_k)]))


def compression_ratio(text: str) -> float | None:
    """CBQ = |UTF-8 bytes| / |LZMA2-compressed bytes| (raw LZMA2 stream, preset 9, no header).

    The dictionary is capped at 1 MiB: the same output for texts below that size,
    without preset 9's 64 MiB allocation on every call.

    Repetitive text compresses well (high ratio); varied text does not (near 1 or
    below for short strings).
    """
    data = text.encode("utf-8")
    if not data:
        return None
    packed = lzma.compress(data, format=lzma.FORMAT_RAW, filters=_LZMA_FILTERS)
    return len(data) / len(packed)


def generic_phrase_penalty(text: str, lexicon=None) -> float | None:
    """GPP = 100 * sum_i w_i / N: weighted generic-phrase hits per 100 words.

    The sum runs over lexicon hits (phrases, then words outside matched phrases,
    then structural regexes), w_i in (0, 1] being the item's weight (engine.quality.slop);
    N is the number of words. 0 for plain prose.
    """
    from engine.quality.slop import find_generic, load_lexicon

    n = len(words(text))
    if not n:
        return None
    hits = find_generic(text, lexicon or load_lexicon("en"))
    return 100.0 * sum(w for _, w in hits) / n


def ngram_novelty(tokens: Sequence[str], ns: Sequence[int] = (2, 3, 4, 5)) -> float | None:
    """NNS = (1/K) sum_{k in ns} distinct-k, K = len(ns); 1 when no n-gram repeats."""
    values = [v for v in (distinct_n(tokens, k) for k in ns) if v is not None]
    return sum(values) / len(values) if values else None


def semantic_continuity(embeddings: np.ndarray) -> float | None:
    """SC = (1/(n-1)) sum_i cos(e_i, e_{i+1}) over adjacent sentence embeddings.

    Healthy band: CONTINUITY_BAND (0.3-0.7); below it the text jumps, above it repeats.
    """
    e = np.asarray(embeddings, dtype=np.float64)
    if e.ndim != 2 or len(e) < 2:
        return None
    norms = np.linalg.norm(e, axis=1)
    norms[norms == 0] = 1.0
    e = e / norms[:, None]
    return float(np.mean(np.sum(e[:-1] * e[1:], axis=1)))


def band_score(value: float, band: tuple[float, float] = CONTINUITY_BAND, falloff: float = 0.3) -> float:
    """1 inside [low, high]; falls linearly to 0 at `falloff` outside the band."""
    low, high = band
    if value < low:
        return max(0.0, 1.0 - (low - value) / falloff)
    if value > high:
        return max(0.0, 1.0 - (value - high) / falloff)
    return 1.0


def perplexity_variation(logprobs: Sequence[float], segment: int = 16) -> float | None:
    """PPL_div = std(PPL_s) / mean(PPL_s) over consecutive segments of `segment` tokens.

    PPL_s = exp(-mean(log p) over the segment's tokens); a trailing segment shorter
    than half a segment joins the previous one. None with fewer than 2 segments.
    """
    lp = np.asarray(list(logprobs), dtype=np.float64)
    lp = lp[np.isfinite(lp)]
    bounds = list(range(0, len(lp), segment))
    if len(bounds) > 1 and len(lp) - bounds[-1] < segment / 2:
        bounds.pop()
    if len(bounds) < 2:
        return None
    ends = bounds[1:] + [len(lp)]
    ppl = np.array([math.exp(-float(np.mean(lp[a:b]))) for a, b in zip(bounds, ends)])
    return float(np.std(ppl) / np.mean(ppl))


def doubled_words(tokens: Sequence[str]) -> float | None:
    """Share of tokens equal to the token before them ("the the water water")."""
    if len(tokens) < 2:
        return None
    return sum(a == b for a, b in pairwise(tokens)) / (len(tokens) - 1)


def latin_share(text: str) -> float | None:
    """Share of letters that are Latin-script (a-z with accents)."""
    letters = _LETTER.findall(text)
    return len(_LATIN.findall(text)) / len(letters) if letters else None
