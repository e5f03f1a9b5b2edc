"""A second, independent attribution judge: nearest author centroid in style-encoder space.

The main judge (judge.py) is a TF-IDF + SVM classifier over word and character features.
This one shares no features with it: each candidate author is the mean style vector
(engine.encoders.style) of its judge-training passages, and a passage goes to the author
whose centroid is closest by cosine. So an attribution claim can be checked by two models
that fail in different ways (the SVM can key on names and topic words; the style encoder
was trained with content held fixed).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from engine.errors import KillahError

TEMPERATURE = 0.05  # softmax over centroid cosines, as in training


Embed = Callable[[Sequence[str]], np.ndarray]


def _style_vectors(texts: Sequence[str]) -> np.ndarray:
    from engine.encoders.style import style_vectors

    return style_vectors(texts)


@dataclass
class StyleJudge:
    authors: list[str]
    centroids: np.ndarray  # (K, d) unit rows
    embed: Embed = _style_vectors

    def similarities(self, texts: Sequence[str]) -> np.ndarray:
        return self.embed(list(texts)) @ self.centroids.T

    def attribution(self, texts: Sequence[str], target: str) -> tuple[np.ndarray, np.ndarray]:
        """Per passage: (nearest centroid is the target, 0/1; softmax probability of target)."""
        if target not in self.authors:
            raise KillahError(f"author {target!r} is not among the style judge's candidates")
        if not texts:
            return np.zeros(0), np.zeros(0)
        sims = self.similarities(texts)
        j = self.authors.index(target)
        logits = sims / TEMPERATURE
        proba = np.exp(logits - logits.max(axis=1, keepdims=True))
        proba /= proba.sum(axis=1, keepdims=True)
        return (sims.argmax(axis=1) == j).astype(float), proba[:, j]


def fit_style_judge(passages: dict[str, Sequence[str]], embed: Embed = _style_vectors
                    ) -> StyleJudge:
    """Centroids from each author's passages (name -> texts)."""
    empty = [a for a, texts in passages.items() if not texts]
    if len(passages) < 2 or empty:
        raise KillahError(f"the style judge needs 2+ authors with passages (empty: {empty})")
    authors = sorted(passages)
    rows = []
    for a in authors:
        c = embed(list(passages[a])).mean(axis=0)
        rows.append(c / (np.linalg.norm(c) + 1e-12))
    return StyleJudge(authors, np.stack(rows).astype(np.float32), embed)


def from_judge(judge, per_author: int = 60) -> StyleJudge:
    """A style judge over the same authors and training passages as the main `judge`."""
    from training.evaluation.judge import author_passages

    cfg = judge.config
    passages = {name: [p for p, _w in author_passages(split, "train", cfg, per_author, cfg.seed)]
                for name, split in judge.splits.items()}
    return fit_style_judge(passages)
