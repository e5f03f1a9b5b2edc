"""Per-passage metrics of generated (or real) passages, and bootstrap intervals.

Every metric is computed per passage, so each summary figure comes with a
percentile bootstrap 95% interval over passages:

- attribution: the judge's top-1 verdict is the target (0/1) and its
  probability of the target;
- content: cosine of MiniLM sentence embeddings (engine.embeddings) between
  the passage and its description, and between the passage and the original
  it was described from;
- fluency: perplexity under the base model (reported, never optimised);
- length: words produced / words asked;
- generic phrases: lexicon hits (engine.quality.slop) per 1,000 words;
- repetition: distinct-1/2 and the share of words inside a repeated 3-gram.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Callable, Sequence

import numpy as np

from engine import text as textutil
from engine.text import word_count, words

# name -> (label, higher is better: True/False/None for "closer to 1 is better")
METRICS = {
    "attribution_top1": ("attribution top-1", True),
    "attribution_prob": ("P(target)", True),
    "style_attribution_top1": ("style-encoder top-1", True),
    "content_vs_description": ("content cos(description)", True),
    "content_vs_original": ("content cos(original)", True),
    "perplexity": ("perplexity", False),
    "length_ratio": ("length ratio", None),
    "generic_per_1k": ("generic phrases /1k words", False),
    "distinct_1": ("distinct-1", True),
    "distinct_2": ("distinct-2", True),
    "repetition_3": ("repeated 3-gram share", False),
}


@dataclass(frozen=True)
class Estimate:
    mean: float
    lo: float
    hi: float
    n: int

    def __str__(self) -> str:
        if math.isnan(self.mean):
            return "n/a"
        return f"{_fmt(self.mean)} [{_fmt(self.lo)}, {_fmt(self.hi)}]"

    def to_dict(self) -> dict:
        return asdict(self)


def _fmt(x: float) -> str:
    return f"{x:.1f}" if abs(x) >= 100 else f"{x:.3f}" if abs(x) < 10 else f"{x:.2f}"


def bootstrap_ci(
    values: Sequence[float],
    n_boot: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
    statistic: Callable[[np.ndarray], float] = np.mean,
) -> Estimate:
    """Point estimate and percentile bootstrap interval of `statistic` over `values`."""
    x = np.asarray([v for v in values if v is not None and not np.isnan(v)], dtype=np.float64)
    if x.size == 0:
        return Estimate(float("nan"), float("nan"), float("nan"), 0)
    point = float(statistic(x))
    if x.size == 1:
        return Estimate(point, point, point, 1)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, x.size, size=(n_boot, x.size))
    if statistic is np.mean:
        stats = x[idx].mean(axis=1)
    else:
        stats = np.array([statistic(x[row]) for row in idx])
    alpha = (1 - confidence) / 2
    lo, hi = np.quantile(stats, [alpha, 1 - alpha])
    return Estimate(point, float(min(lo, point)), float(max(hi, point)), int(x.size))


def _nan(x: float | None) -> float:
    return float("nan") if x is None else float(x)


def distinct_n(text: str, n: int) -> float:
    """engine.text.distinct_n over the passage's words; NaN when it has no n-gram."""
    return _nan(textutil.distinct_n(words(text), n))


def repeated_ngram_share(text: str, n: int = 3) -> float:
    """Share of words inside a word n-gram occurring twice or more (engine.text); NaN if short."""
    return _nan(textutil.repeated_ngram_share(words(text), n))


def generic_per_1k(text: str, lexicon=None) -> float:
    """Generic-phrase lexicon hits per 1,000 words (English lexicons)."""
    from engine.quality.slop import find_generic, load_lexicon

    n = len(words(text))
    if not n:
        return float("nan")
    return 1000.0 * len(find_generic(text, lexicon or load_lexicon("en"))) / n


def length_ratio(text: str, asked: int) -> float:
    return word_count(text) / asked if asked else float("nan")


def cosine_pairs(a: Sequence[str], b: Sequence[str], lang: str = "en") -> np.ndarray:
    """cos(embed(a_i), embed(b_i)): MiniLM for English, multilingual e5-small otherwise."""
    from engine.embeddings import embed, embedder_for

    if not a:
        return np.zeros(0)
    name = embedder_for(lang)
    ea, eb = embed(list(a), name=name), embed(list(b), name=name)
    return np.einsum("ij,ij->i", ea, eb).astype(np.float64)


def perplexity(lm, text: str, max_tokens: int = 1024) -> float:
    """exp(mean NLL) of the text's tokens under `lm`, from the BOS token on."""
    import mlx.core as mx

    from engine.generate import encode

    ids, _ = encode(lm, text)
    ids = ids[: max_tokens + 1]
    if len(ids) < 2:
        return float("nan")
    with lm.lock:
        logits = lm.model(mx.array(ids[:-1])[None])[0].astype(mx.float32)
        logp = logits - mx.logsumexp(logits, axis=-1, keepdims=True)
        targets = mx.array(ids[1:])
        nll = -mx.take_along_axis(logp, targets[:, None], axis=-1).mean()
        value = float(nll.item())
    return math.exp(value)


def passage_metrics(
    texts: Sequence[str],
    *,
    judge=None,
    style_judge=None,
    target: str | None = None,
    descriptions: Sequence[str] | None = None,
    originals: Sequence[str] | None = None,
    asked_words: Sequence[int] | None = None,
    lm=None,
    generic: bool = True,
    lang: str = "en",
) -> dict[str, np.ndarray]:
    """Every available metric, one value per passage (NaN where it does not apply)."""
    n = len(texts)
    out: dict[str, np.ndarray] = {}
    if judge is not None and target is not None:
        top1, prob = judge.attribution(texts, target)
        out["attribution_top1"], out["attribution_prob"] = top1, prob
    if style_judge is not None and target is not None:
        out["style_attribution_top1"] = style_judge.attribution(texts, target)[0]
    if descriptions is not None:
        out["content_vs_description"] = cosine_pairs(texts, descriptions, lang)
    if originals is not None:
        out["content_vs_original"] = cosine_pairs(texts, originals, lang)
    if lm is not None:
        out["perplexity"] = np.array([perplexity(lm, t) for t in texts])
    if asked_words is not None:
        out["length_ratio"] = np.array([length_ratio(t, a) for t, a in zip(texts, asked_words)])
    if generic:
        out["generic_per_1k"] = np.array([generic_per_1k(t) for t in texts])
    out["distinct_1"] = np.array([distinct_n(t, 1) for t in texts])
    out["distinct_2"] = np.array([distinct_n(t, 2) for t in texts])
    out["repetition_3"] = np.array([repeated_ngram_share(t, 3) for t in texts])
    for k, v in out.items():
        if len(v) != n:
            raise ValueError(f"metric {k} has {len(v)} values for {n} passages")
    return out


def summarize(
    per_passage: dict[str, np.ndarray], seed: int = 0, n_boot: int = 2000
) -> dict[str, Estimate]:
    """Mean and bootstrap 95% interval of every metric (same resampling seed for all)."""
    return {k: bootstrap_ci(v, n_boot=n_boot, seed=seed) for k, v in per_passage.items()}
