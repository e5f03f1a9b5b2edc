"""The learned part of the WQRM: a linear scorer over MiniLM embeddings and rigid metrics.

    raw(text) = w . z + b,   z = (x - mean) / std,   x = [embed(text) ; f(metrics(text))]

where embed is the bundled all-MiniLM-L6-v2 paragraph embedding (384 numbers) and
f the learned-metric vector (LEARNED_METRICS, MTLD on a log scale, a missing value
replaced by its training mean). w is fitted by `python -m engine.quality.train` on
pairwise human judgements (better minus worse, logistic loss) plus scored paragraphs.
The weights ship as human-readable JSON in resources/wqrm/scorer.json; nothing
trains at start-up.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from engine.errors import KillahError
from engine.quality.assets import WQRM_DIR

SCORER_FORMAT = "killah-wqrm-scorer v1"
SCORER_FILE = WQRM_DIR / "scorer.json"

# Metrics that need no persona profile, no log-probs and no sentence embeddings
# (the last are too slow to compute for the whole training set on a laptop CPU).
LEARNED_METRICS: tuple[str, ...] = (
    "ttr",
    "mtld",
    "sentence_len_mean",
    "sentence_len_cv",
    "compression",
    "generic_phrases",
    "novelty",
    "repetition",
)
_LOG_SCALED = {"mtld", "sentence_len_mean"}


def metric_vector(values: Mapping[str, float | None], fill: Sequence[float] | None = None) -> np.ndarray:
    """The LEARNED_METRICS of `values` as numbers (log1p for MTLD and mean sentence length).

    A missing value becomes `fill[i]` (the training mean), or NaN when no fill is given.
    """
    out = np.empty(len(LEARNED_METRICS), dtype=np.float64)
    for i, name in enumerate(LEARNED_METRICS):
        v = values.get(name)
        if v is None or not math.isfinite(v):
            out[i] = fill[i] if fill is not None else np.nan
        else:
            out[i] = math.log1p(v) if name in _LOG_SCALED else v
    return out


@dataclass(frozen=True)
class LearnedScorer:
    weights: np.ndarray  # (d,)
    bias: float
    mean: np.ndarray  # (d,)
    std: np.ndarray  # (d,)
    metric_fill: np.ndarray  # (len(LEARNED_METRICS),) raw training means of the metric vector
    raw_quantiles: np.ndarray  # (101,) of raw scores on training texts, for the 0-1 calibration
    embedder: str
    meta: dict

    @property
    def dim(self) -> int:
        return int(self.weights.shape[0])

    def features(self, embeddings: np.ndarray, metric_values: Sequence[Mapping[str, float | None]]) -> np.ndarray:
        """(n, d) raw feature rows: embedding then metric vector."""
        mvecs = np.stack([metric_vector(m, self.metric_fill) for m in metric_values])
        return np.concatenate([np.asarray(embeddings, dtype=np.float64), mvecs], axis=1)

    def raw(self, features: np.ndarray) -> np.ndarray:
        """raw = w . ((x - mean) / std) + b for each row."""
        z = (np.asarray(features, dtype=np.float64) - self.mean) / self.std
        return z @ self.weights + self.bias

    def calibrated(self, raw: np.ndarray) -> np.ndarray:
        """Share of training texts scoring below `raw` (empirical CDF), in [0, 1]."""
        levels = np.linspace(0.0, 1.0, len(self.raw_quantiles))
        return np.interp(raw, self.raw_quantiles, levels)

    def score_texts(self, texts: Sequence[str], metric_values=None) -> np.ndarray:
        """Raw scores of `texts` (embeds them; computes metrics unless given)."""
        from engine.embeddings import embed
        from engine.quality.features import text_metrics

        if metric_values is None:
            metric_values = [text_metrics(t) for t in texts]
        return self.raw(self.features(embed(list(texts), self.embedder_name), metric_values))

    @property
    def embedder_name(self) -> str | None:
        from engine.embeddings import DEFAULT_EMBEDDER

        return None if self.embedder == DEFAULT_EMBEDDER else self.embedder

    def to_dict(self) -> dict:
        return {
            "format": SCORER_FORMAT,
            "embedder": self.embedder,
            "features": {"embedding_dims": self.dim - len(LEARNED_METRICS), "metrics": list(LEARNED_METRICS),
                         "log1p": sorted(_LOG_SCALED)},
            "bias": self.bias,
            "weights": [round(float(x), 8) for x in self.weights],
            "mean": [round(float(x), 8) for x in self.mean],
            "std": [round(float(x), 8) for x in self.std],
            "metric_fill": [round(float(x), 8) for x in self.metric_fill],
            "raw_quantiles": [round(float(x), 8) for x in self.raw_quantiles],
            **self.meta,
        }

    @classmethod
    def from_dict(cls, d: dict) -> "LearnedScorer":
        if d.get("format") != SCORER_FORMAT:
            raise KillahError(f"WQRM scorer: unknown format {d.get('format')!r}, expected {SCORER_FORMAT!r}")
        if list(d["features"]["metrics"]) != list(LEARNED_METRICS):
            raise KillahError("WQRM scorer: its metric list differs from this version's; retrain it")
        arrays = {k: np.asarray(d[k], dtype=np.float64) for k in ("weights", "mean", "std", "metric_fill", "raw_quantiles")}
        dim = d["features"]["embedding_dims"] + len(LEARNED_METRICS)
        bad = [k for k in ("weights", "mean", "std") if arrays[k].shape != (dim,)]
        if bad:
            raise KillahError(f"WQRM scorer: {', '.join(bad)} should have {dim} numbers")
        known = {"format", "embedder", "features", "bias", "weights", "mean", "std", "metric_fill", "raw_quantiles"}
        return cls(
            weights=arrays["weights"], bias=float(d["bias"]), mean=arrays["mean"], std=arrays["std"],
            metric_fill=arrays["metric_fill"], raw_quantiles=arrays["raw_quantiles"],
            embedder=d["embedder"], meta={k: v for k, v in d.items() if k not in known},
        )


def load_scorer(path: str | Path | None = None) -> LearnedScorer:
    """Load the shipped scorer (or the one at `path`)."""
    if path is None:
        return _shipped_scorer()
    return _read(Path(path))


@lru_cache(maxsize=1)
def _shipped_scorer() -> LearnedScorer:
    return _read(SCORER_FILE)


def _read(path: Path) -> LearnedScorer:
    if not path.exists():
        raise KillahError(f"WQRM scorer weights missing: {path} (run python -m engine.quality.train)")
    try:
        return LearnedScorer.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError) as e:
        raise KillahError(f"cannot read WQRM scorer {path}: {e}") from e
