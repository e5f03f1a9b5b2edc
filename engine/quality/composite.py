"""The composite WQRM score: a weighted sum of components, on a 0-10 scale.

    score = 10 * sum_i alpha_i * S_i / sum_{i present} alpha_i,   alpha_i >= 0, sum_i alpha_i = 1

Every component S_i is in [0, 1], higher is better:

| component             | from metric            | mapping                                         |
|-----------------------|------------------------|-------------------------------------------------|
| learned               | the learned scorer     | share of training texts it beats (empirical CDF)|
| lexical_diversity     | MTLD                   | empirical CDF                                   |
| novelty               | distinct 2-5-grams     | empirical CDF                                   |
| generic_phrases       | generic-phrase penalty | 1 - empirical CDF                               |
| compression           | LZMA ratio             | 1 - empirical CDF (redundant text compresses)   |
| repetition            | repeated 3-gram share  | 1 - repetition                                  |
| continuity            | adjacent-sentence cos  | band score, 1 inside 0.3-0.7                    |
| sentence_rhythm       | sentence-length KL     | exp(-KL) to the persona's or general profile    |
| style_match           | char 3-gram match      | empirical CDF, vs persona's or general passages |
| perplexity_variation  | CV of segment PPL      | min(1, CV / PPL_CV_FULL)                        |

The alphas are fitted on the training split by `engine.quality.train` (pairwise
logistic loss on the simplex) and ship in resources/wqrm/composite.json. A
component that cannot be computed (no log-probs, one sentence) is left out and
the others are renormalised, so the score stays on 0-10.
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
from engine.quality import metrics
from engine.quality.assets import WQRM_DIR

COMPOSITE_FORMAT = "killah-wqrm-composite v1"
COMPOSITE_FILE = WQRM_DIR / "composite.json"

COMPONENTS: tuple[str, ...] = (
    "learned",
    "lexical_diversity",
    "novelty",
    "generic_phrases",
    "compression",
    "repetition",
    "continuity",
    "sentence_rhythm",
    "style_match",
    "perplexity_variation",
)
# component -> (metric, direction) for the empirical-CDF components
CDF_COMPONENTS: dict[str, tuple[str, int]] = {
    "lexical_diversity": ("mtld", +1),
    "novelty": ("novelty", +1),
    "generic_phrases": ("generic_phrases", -1),
    "compression": ("compression", -1),
    "style_match": ("style_match", +1),
}
PPL_CV_FULL = 0.6  # a segment-perplexity CV at or above this counts as fully varied


@dataclass(frozen=True)
class QualityScore:
    score: float  # 0-10
    components: dict[str, float | None]  # each in [0, 1], None when not computable
    weights: dict[str, float]  # the alphas actually used (renormalised over present components)
    metrics: dict[str, float | None]  # the raw metric values behind the components

    def to_dict(self) -> dict:
        rnd = lambda v: None if v is None else round(float(v), 4)  # noqa: E731
        return {
            "score": round(self.score, 2),
            "components": {k: rnd(v) for k, v in self.components.items()},
            "weights": {k: rnd(v) for k, v in self.weights.items()},
            "metrics": {k: rnd(v) for k, v in self.metrics.items()},
        }


def _cdf(value: float, quantiles: Sequence[float]) -> float:
    q = np.asarray(quantiles, dtype=np.float64)
    return float(np.interp(value, q, np.linspace(0.0, 1.0, len(q))))


@dataclass(frozen=True)
class Composite:
    alphas: dict[str, float]
    quantiles: dict[str, list[float]]  # metric -> quantiles on training texts
    meta: dict

    def components(self, metric_values: Mapping[str, float | None], learned: float | None) -> dict[str, float | None]:
        """Map raw metrics (and the calibrated learned score) to the [0, 1] components."""
        out: dict[str, float | None] = {name: None for name in COMPONENTS}
        out["learned"] = learned
        for name, (metric, direction) in CDF_COMPONENTS.items():
            v = metric_values.get(metric)
            if v is not None and math.isfinite(v) and metric in self.quantiles:
                c = _cdf(v, self.quantiles[metric])
                out[name] = c if direction > 0 else 1.0 - c
        rep = metric_values.get("repetition")
        out["repetition"] = None if rep is None else 1.0 - rep
        cont = metric_values.get("continuity")
        out["continuity"] = None if cont is None else metrics.band_score(cont)
        kl = metric_values.get("sentence_len_kl")
        out["sentence_rhythm"] = None if kl is None else math.exp(-kl)
        cv = metric_values.get("perplexity_variation")
        out["perplexity_variation"] = None if cv is None else min(1.0, cv / PPL_CV_FULL)
        return out

    def combine(self, components: Mapping[str, float | None], metric_values=None) -> QualityScore:
        present = {k: a for k, a in self.alphas.items() if components.get(k) is not None}
        total = sum(present.values())
        if total <= 0:
            weights = {k: 1.0 / len(present) for k in present} if present else {}
        else:
            weights = {k: a / total for k, a in present.items()}
        score = 10.0 * sum(weights[k] * float(components[k]) for k in weights)
        return QualityScore(score, dict(components), weights, dict(metric_values or {}))

    def to_dict(self) -> dict:
        return {
            "format": COMPOSITE_FORMAT,
            "alphas": {k: round(float(v), 6) for k, v in self.alphas.items()},
            "quantiles": {k: [round(float(x), 6) for x in v] for k, v in self.quantiles.items()},
            **self.meta,
        }

    @classmethod
    def from_dict(cls, d: dict) -> "Composite":
        if d.get("format") != COMPOSITE_FORMAT:
            raise KillahError(f"WQRM composite: unknown format {d.get('format')!r}, expected {COMPOSITE_FORMAT!r}")
        alphas = {k: float(v) for k, v in d["alphas"].items()}
        unknown = set(alphas) - set(COMPONENTS)
        if unknown or any(a < 0 for a in alphas.values()) or not math.isclose(sum(alphas.values()), 1.0, abs_tol=1e-3):
            raise KillahError("WQRM composite: weights must be known components, >= 0, summing to 1")
        known = {"format", "alphas", "quantiles"}
        return cls(alphas, {k: list(v) for k, v in d["quantiles"].items()}, {k: v for k, v in d.items() if k not in known})


def load_composite(path: str | Path | None = None) -> Composite:
    return _shipped() if path is None else _read(Path(path))


@lru_cache(maxsize=1)
def _shipped() -> Composite:
    return _read(COMPOSITE_FILE)


def _read(path: Path) -> Composite:
    if not path.exists():
        raise KillahError(f"WQRM composite weights missing: {path} (run python -m engine.quality.train)")
    try:
        return Composite.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError) as e:
        raise KillahError(f"cannot read WQRM composite {path}: {e}") from e


def score_texts(
    texts: Sequence[str],
    persona_profile=None,
    logprobs: Sequence[Sequence[float] | None] | None = None,
) -> list[QualityScore]:
    """The composite score of each text, with its breakdown.

    Style components use `persona_profile` (a StyleProfile) when given, the shipped
    general profile otherwise; `logprobs[i]` (the generator's per-token log-probs of
    text i) enables the perplexity-variation component.
    """
    from engine.embeddings import embed
    from engine.quality.features import sentence_embeddings, text_metrics
    from engine.quality.profile import general_profile
    from engine.quality.scorer import load_scorer

    texts = list(texts)
    if not texts:
        return []
    scorer, composite = load_scorer(), load_composite()
    profile = persona_profile or general_profile()
    lps = list(logprobs) if logprobs is not None else [None] * len(texts)
    if len(lps) != len(texts):
        raise ValueError(f"got {len(lps)} log-prob lists for {len(texts)} texts")
    svs = sentence_embeddings(texts)
    values = [text_metrics(t, profile, sv, lp) for t, sv, lp in zip(texts, svs, lps)]
    learned = scorer.calibrated(scorer.raw(scorer.features(embed(texts, scorer.embedder_name), values)))
    return [
        composite.combine(composite.components(v, float(c)), v) for v, c in zip(values, learned)
    ]
