"""Held-out measures of a WQRM, each with a bootstrap 95% CI.

Pairs and scored paragraphs are resampled by source group (engine.quality.data), not
one by one: the versions of one paragraph are not independent judgements.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence

import numpy as np

BOOTSTRAP = 1000


def _ci(values: Sequence[float]) -> list[float]:
    lo, hi = np.percentile(values, [2.5, 97.5])
    return [round(float(lo), 4), round(float(hi), 4)]


def _by_group(items: Sequence, groups: Sequence[int]) -> list[list[int]]:
    members: dict[int, list[int]] = defaultdict(list)
    for i, g in enumerate(groups):
        members[g].append(i)
    return list(members.values())


def pair_accuracy(
    score: Mapping[str, float], pairs: Sequence, groups: Mapping[str, int], seed: int = 0
) -> dict:
    """Share of pairs with score(better) > score(worse) (ties half), with a group-bootstrap CI."""
    if not pairs:
        return {"n": 0}
    wins = np.array(
        [
            1.0
            if score[p.better] > score[p.worse]
            else 0.5
            if score[p.better] == score[p.worse]
            else 0.0
            for p in pairs
        ]
    )
    clusters = _by_group(pairs, [groups[p.better] for p in pairs])
    rng = np.random.default_rng(seed)
    boots = []
    for _ in range(BOOTSTRAP):
        pick = rng.integers(0, len(clusters), len(clusters))
        idx = np.concatenate([clusters[i] for i in pick])
        boots.append(wins[idx].mean())
    return {"acc": round(float(wins.mean()), 4), "ci95": _ci(boots), "n": len(pairs)}


def spearman_ci(
    pred: Sequence[float], gold: Sequence[float], groups: Sequence[int], seed: int = 0
) -> dict:
    from scipy.stats import spearmanr

    pred, gold = np.asarray(pred, dtype=np.float64), np.asarray(gold, dtype=np.float64)
    if len(pred) < 3:
        return {"n": len(pred)}
    clusters = _by_group(pred, groups)
    rng = np.random.default_rng(seed)
    boots = []
    for _ in range(BOOTSTRAP):
        pick = rng.integers(0, len(clusters), len(clusters))
        idx = np.concatenate([clusters[i] for i in pick])
        boots.append(spearmanr(pred[idx], gold[idx]).statistic)
    return {
        "rho": round(float(spearmanr(pred, gold).statistic), 4),
        "ci95": _ci(boots),
        "n": len(pred),
    }


def distribution(values: Sequence[float], threshold: float = 3.0) -> dict:
    """Median, 10th/90th percentiles and the share at or below `threshold` (with a CI)."""
    v = np.asarray(values, dtype=np.float64)
    if not len(v):
        return {"n": 0}
    rng = np.random.default_rng(0)
    low = (v <= threshold).astype(np.float64)
    boots = [low[rng.integers(0, len(v), len(v))].mean() for _ in range(BOOTSTRAP)]
    p10, p50, p90 = np.percentile(v, [10, 50, 90])
    return {
        "n": len(v),
        "median": round(float(p50), 2),
        "p10": round(float(p10), 2),
        "p90": round(float(p90), 2),
        f"share_le_{threshold:g}": round(float(low.mean()), 3),
        "share_ci95": _ci(boots),
    }
