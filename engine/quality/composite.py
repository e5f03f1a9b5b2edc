"""The WQRM score of a text on 0-10, with a breakdown and reasons in words.

    score = clip((1 - p_broken) * quality + p_broken * 1, 0, 10)      (engine.quality.head)

`quality` is the learned head's reading of the text on the LAMP 1-10 scale (writers'
scores of paragraphs; writer-edited versions above AI drafts); `p_broken` its
probability that the text does not read as prose at all (shuffled, doubled or cut
words, number soup, another language, word salad, loops). Rigid metrics do not enter
the score: they are shown beside it and name the reason when a score is low.

| component            | value in [0, 1], higher is better                        |
|----------------------|----------------------------------------------------------|
| quality              | quality / 10                                             |
| fluency              | 1 - p_broken                                             |
| repetition           | 1 - max(repeated 3-gram share, doubled-word share)       |
| stock_phrases        | exp(-generic-phrase hits per 100 words / 4)              |
| english              | share of letters in the Latin script                     |
| sentence_rhythm      | exp(-KL) to the persona's or the general sentence lengths|
| perplexity_variation | min(1, CV of segment perplexities / 0.6) (with log-probs)|
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from engine.quality import metrics

PPL_CV_FULL = 0.6
LOW = 3.0  # at or below this a text is called broken in the docs and tests


@dataclass(frozen=True)
class QualityScore:
    score: float  # 0-10
    components: dict[str, float | None]  # each in [0, 1], None when not computable
    weights: dict[str, float]  # what the score is made of (quality, gated by fluency)
    metrics: dict[str, float | None]  # raw values behind the components
    reasons: tuple[str, ...] = field(default=())  # plain words, most important first

    def to_dict(self) -> dict:
        rnd = lambda v: None if v is None else round(float(v), 4)  # noqa: E731
        return {
            "score": round(self.score, 2),
            "reasons": list(self.reasons),
            "components": {k: rnd(v) for k, v in self.components.items()},
            "weights": {k: rnd(v) for k, v in self.weights.items()},
            "metrics": {k: rnd(v) for k, v in self.metrics.items()},
        }


def _metrics(text: str, profile, logprobs) -> dict[str, float | None]:
    tokens = metrics.words(text)
    lengths = metrics.sentence_lengths(text)
    kl = None
    if profile is not None and lengths:
        kl = metrics.kl_divergence(
            profile.sentence_length_dist,
            metrics.sentence_length_distribution(lengths, profile.bins),
        )
    return {
        "repetition": metrics.repetition(tokens),
        "doubled_words": metrics.doubled_words(tokens),
        "generic_phrases": metrics.generic_phrase_penalty(text),
        "latin_share": metrics.latin_share(text),
        "digit_share": sum(t.isdigit() for t in tokens) / len(tokens) if tokens else None,
        "sentence_len_kl": kl,
        "perplexity_variation": metrics.perplexity_variation(logprobs)
        if logprobs is not None
        else None,
    }


def _components(quality: float, p_broken: float, m: dict) -> dict[str, float | None]:
    rep = [v for v in (m["repetition"], m["doubled_words"]) if v is not None]
    gpp, kl, cv = m["generic_phrases"], m["sentence_len_kl"], m["perplexity_variation"]
    return {
        "quality": min(1.0, max(0.0, quality / 10.0)),
        "fluency": 1.0 - p_broken,
        "repetition": 1.0 - max(rep) if rep else None,
        "stock_phrases": None if gpp is None else math.exp(-gpp / 4.0),
        "english": m["latin_share"],
        "sentence_rhythm": None if kl is None else math.exp(-kl),
        "perplexity_variation": None if cv is None else min(1.0, cv / PPL_CV_FULL),
    }


def _stock(text: str, limit: int = 3) -> list[str]:
    from engine.quality.slop import find_generic, load_lexicon

    hits = sorted(find_generic(text, load_lexicon("en")), key=lambda h: -h[1])
    return list(dict.fromkeys(h[0] for h in hits))[:limit]


def reasons(text: str, score: float, quality: float, p_broken: float, m: dict) -> tuple[str, ...]:
    """Why the score is what it is, in words (the strongest reason first)."""
    out = []
    latin = m["latin_share"]
    if latin is not None and latin < 0.5:
        out.append("not English: the quality model reads English prose only")
    elif latin is not None and latin < 0.9:
        out.append("mixed languages")
    if p_broken >= 0.5:
        out.append("reads as broken: not fluent sentences")
    if (m["doubled_words"] or 0) >= 0.05 or (m["repetition"] or 0) >= 0.3:
        out.append("repeated words")
    numbers = (m["digit_share"] or 0) >= 0.2
    if numbers:
        out.append("mostly numbers")
    if (m["generic_phrases"] or 0) >= 1.5:
        # Over-used single words (a name, "canvas") are common in good prose too: only
        # multi-word stock phrases are called out.
        found = [f for f in _stock(text, limit=10) if " " in f][:3]
        if found:
            out.append("stock phrases: " + ", ".join(f"“{f}”" for f in found))
    if p_broken < 0.5 and quality < 4.5 and not numbers:  # a list of numbers is no draft
        out.append("reads like an unedited draft: generic, over-explained")
    if not out and score >= 7.0:
        out.append("reads as fluent, specific prose")
    return tuple(out)


def score_texts(
    texts: Sequence[str],
    persona_profile=None,
    logprobs: Sequence[Sequence[float] | None] | None = None,
) -> list[QualityScore]:
    """The WQRM score of each text, with its breakdown and reasons.

    `persona_profile` (a StyleProfile) sets the sentence-rhythm reference (the shipped
    general profile otherwise); `logprobs[i]` (the generator's per-token log-probs of
    text i) adds the perplexity-variation component. Neither changes the score.
    """
    from engine.quality.head import load_head
    from engine.quality.profile import general_profile

    texts = list(texts)
    if not texts:
        return []
    lps = list(logprobs) if logprobs is not None else [None] * len(texts)
    if len(lps) != len(texts):
        raise ValueError(f"got {len(lps)} log-prob lists for {len(texts)} texts")
    profile = persona_profile or general_profile()
    score, quality, p_broken = load_head().score_texts(texts)
    out = []
    for t, s, q, p, lp in zip(texts, score, quality, p_broken, lps):
        m = _metrics(t, profile, lp)
        comps = _components(float(q), float(p), m)
        out.append(
            QualityScore(
                float(s),
                comps,
                {"quality": 1.0},
                {"quality": float(q), "p_broken": float(p), **m},
                reasons(t, float(s), float(q), float(p), m),
            )
        )
    return out


def whole_text(paragraph_scores: Sequence[QualityScore], lengths: Sequence[int]) -> float:
    """A text's score from its paragraphs': their mean weighted by word count."""
    w = np.asarray(lengths, dtype=np.float64)
    return float(np.dot(w, [q.score for q in paragraph_scores]) / max(1.0, w.sum()))
