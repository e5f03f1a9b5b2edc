"""All rigid metrics of a text in one dict, and the batch helpers that feed them.

`text_metrics` is what the composite score and the learned scorer read. Sentence
embeddings (for semantic continuity) are computed in one batch for many texts by
`sentence_embeddings`, because the embedder is the slow part.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from engine.quality import metrics
from engine.quality.profile import StyleProfile

METRICS: tuple[str, ...] = (
    "ttr",
    "mtld",
    "sentence_len_mean",
    "sentence_len_cv",
    "sentence_len_kl",
    "compression",
    "generic_phrases",
    "novelty",
    "repetition",
    "continuity",
    "style_match",
    "perplexity_variation",
)


def sentence_embeddings(texts: Sequence[str]) -> list[np.ndarray]:
    """Per text, the (n_sentences, d) embeddings of its sentences, embedded in one batch."""
    from engine.embeddings import embed

    split = [metrics.sentences(t) for t in texts]
    flat = [s for ss in split for s in ss]
    vecs = embed(flat) if flat else np.zeros((0, 1), dtype=np.float32)
    out, start = [], 0
    for ss in split:
        out.append(vecs[start : start + len(ss)])
        start += len(ss)
    return out


def text_metrics(
    text: str,
    profile: StyleProfile | None = None,
    sentence_vectors: np.ndarray | None = None,
    logprobs: Sequence[float] | None = None,
    references: Sequence[str] | None = None,
) -> dict[str, float | None]:
    """Every metric of METRICS for `text` (None where undefined or its input is missing).

    `profile` supplies the sentence-length reference and the style-match references
    (`references` overrides the latter); `sentence_vectors` the sentence embeddings
    for continuity; `logprobs` the generator's per-token log-probs.
    """
    tokens = metrics.words(text)
    lengths = metrics.sentence_lengths(text)
    mean_len = float(np.mean(lengths)) if lengths else None
    cv_len = float(np.std(lengths) / np.mean(lengths)) if len(lengths) > 1 else None
    kl = None
    if profile is not None and lengths:
        kl = metrics.kl_divergence(
            profile.sentence_length_dist, metrics.sentence_length_distribution(lengths, profile.bins)
        )
    refs = references if references is not None else (profile.references if profile else ())
    return {
        "ttr": metrics.type_token_ratio(tokens),
        "mtld": metrics.mtld(tokens),
        "sentence_len_mean": mean_len,
        "sentence_len_cv": cv_len,
        "sentence_len_kl": kl,
        "compression": metrics.compression_ratio(text),
        "generic_phrases": metrics.generic_phrase_penalty(text),
        "novelty": metrics.ngram_novelty(tokens),
        "repetition": metrics.repetition(tokens),
        "continuity": metrics.semantic_continuity(sentence_vectors) if sentence_vectors is not None else None,
        "style_match": metrics.ngram_style_match(text, refs) if refs else None,
        "perplexity_variation": metrics.perplexity_variation(logprobs) if logprobs is not None else None,
    }
