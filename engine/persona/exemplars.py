"""Exemplars, the persona embedding and the "sounds like you" score.

Exemplars: paragraphs scored by relevance to the context (content embedding cosine)
and by how characteristic they are of the persona's style (stylometry and the style
encoder, `PersonaData.typicality`), then picked by maximal marginal relevance so the k
chosen do not repeat one another.

Persona embedding (PersonaPlugs-style): attention over the persona's paragraphs with the
context as query, softmax(E c / tau) on content embeddings, and the weighted sum of the
paragraphs' style vectors, renormalised: the persona's style where it writes about this.

"Sounds like you": stylometric closeness and the style encoder's cosine to the persona,
so that writing about the persona's topics in another voice does not score high.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np

from engine.index.ingest import EMBED_MAX_TOKENS
from engine.persona.persona import PersonaData
from engine.tasks import EXEMPLAR_BUDGET_WORDS, EXEMPLAR_MAX_WORDS
from engine.text import word_count

RELEVANCE_WEIGHT = 0.6  # score = w * relevance + (1 - w) * typicality
MMR_LAMBDA = 0.7  # MMR: lambda * score - (1 - lambda) * max similarity to those already picked
ATTENTION_TEMPERATURE = 0.05
CANDIDATE_POOL = 200


def _context_vector(data: PersonaData, context: str) -> np.ndarray:
    from engine.embeddings import embed

    if not context.strip():
        return data.centroid
    return embed([context[-2000:]], name=data.embedder, max_tokens=EMBED_MAX_TOKENS)[0]


def mmr(scores: np.ndarray, vectors: np.ndarray, k: int, lam: float = MMR_LAMBDA) -> list[int]:
    """Indices of k rows picked greedily by maximal marginal relevance (vectors unit-norm)."""
    chosen: list[int] = []
    if k <= 0 or len(scores) == 0:
        return chosen
    redundancy = np.full(len(scores), -np.inf)
    available = np.ones(len(scores), dtype=bool)
    for _ in range(min(k, len(scores))):
        penalty = np.where(np.isfinite(redundancy), redundancy, 0.0)
        value = np.where(available, lam * scores - (1 - lam) * penalty, -np.inf)
        best = int(np.argmax(value))
        chosen.append(best)
        available[best] = False
        redundancy = np.maximum(redundancy, vectors @ vectors[best])
    return chosen


def select_exemplars(data: PersonaData, context: str, k: int = 3,
                     max_words: int = EXEMPLAR_MAX_WORDS, budget: int = EXEMPLAR_BUDGET_WORDS,
                     exclude: Collection[int] = ()) -> list[str]:
    """Up to k paragraphs most relevant to `context` and most characteristic of the persona,
    together at most `budget` words (engine.tasks' exemplar budget), each at most `max_words`;
    paragraph ids in `exclude` (calibration's held-out ones) and paragraphs the context
    already holds are never chosen."""
    if k <= 0:
        return []
    query = _context_vector(data, context)
    relevance = data.embeddings @ query
    span = float(relevance.max() - relevance.min()) or 1.0
    relevance = (relevance - relevance.min()) / span
    score = RELEVANCE_WEIGHT * relevance + (1 - RELEVANCE_WEIGHT) * data.typicality
    words = np.array([word_count(t) for t in data.texts])
    context_norm = " ".join(context.split())
    usable = (words <= max_words) & ~np.isin(data.ids, np.fromiter(exclude, dtype=np.int64))
    usable &= np.array([" ".join(t.split()) not in context_norm for t in data.texts])
    score = np.where(usable, score, -np.inf)
    pool = np.argsort(-score, kind="stable")[:CANDIDATE_POOL]
    pool = pool[np.isfinite(score[pool])]
    order = mmr(score[pool], data.embeddings[pool], len(pool))
    chosen, used = [], 0
    for i in order:  # MMR order; one that would overrun the budget is skipped
        if used + words[pool[i]] <= budget:
            chosen.append(data.texts[pool[i]])
            used += words[pool[i]]
        if len(chosen) == k:
            break
    return chosen


def persona_embedding(data: PersonaData, context: str = "",
                      temperature: float = ATTENTION_TEMPERATURE) -> np.ndarray:
    """The persona's style vector, attended by the paragraphs' relevance to `context`."""
    query = _context_vector(data, context)
    values = None if data.style_unavailable else data.style_embeddings  # else: content vectors
    return _attend(data.embeddings, query, temperature, values=values)


def _attend(keys: np.ndarray, query: np.ndarray, temperature: float,
            values: np.ndarray | None = None) -> np.ndarray:
    logits = (keys @ query) / temperature
    weights = np.exp(logits - logits.max())
    weights /= weights.sum()
    vec = weights @ (keys if values is None else values)
    return (vec / (np.linalg.norm(vec) + 1e-12)).astype(np.float32)


@dataclass(frozen=True)
class StyleScore:
    score: float  # 0..1, the indicator's value
    stylometric: float  # 0..1: exp(-mean |z|) of the text's features under the persona's
    embedding: float  # style-encoder cosine of the text to the persona's style centroid
    style: float  # 0..1: share of the persona's own paragraphs that are no closer than the text
    note: str = ""  # why the style encoder's half is missing (then score = stylometric, nan)


def style_similarity(text: str, data: PersonaData) -> StyleScore:
    """How much `text` sounds like the persona (see `style_similarities`)."""
    return style_similarities([text], data)[0]


def style_similarities(texts: Sequence[str], data: PersonaData) -> list[StyleScore]:
    """How much each text sounds like the persona: stylometry and the style encoder combined.

    The style part is calibrated on the persona itself: a text's cosine to the style
    centroid is placed among the persona's own paragraphs' cosines (a percentile), so a
    text as close as a typical paragraph of the persona scores about 0.5 there. The texts
    are embedded in one batch. Without the style encoder the score is the stylometric half
    alone and `note` says why.
    """
    from engine.embeddings import STYLE_EMBEDDER, embed
    from engine.index.features import FEATURES, paragraph_features

    if not texts:
        return []
    note = data.style_unavailable or ""
    if note:
        cosines = np.full(len(texts), np.nan)
    else:
        cosines = embed(list(texts), name=STYLE_EMBEDDER) @ data.style_centroid
        own = np.sort(data.style_embeddings @ data.style_centroid)
    out = []
    for text, cosine in zip(texts, cosines):
        feats = paragraph_features(text)
        vec = np.array([feats[n] for n in FEATURES])
        z = np.abs((vec - data.feature_mean) / data.feature_std)
        stylometric = float(np.exp(-np.clip(z, 0, 5).mean()))
        if note:
            out.append(StyleScore(stylometric, stylometric, float("nan"), float("nan"), note))
            continue
        style = float(np.searchsorted(own, cosine, side="right") / len(own)) if len(own) else 0.0
        out.append(StyleScore(0.5 * stylometric + 0.5 * style, stylometric, float(cosine), style))
    return out
