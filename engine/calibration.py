"""The WQRM recalibrated to one writer: their persona profile and their weights, from their choices.

The writing-quality reward model scores every text the same way for everyone. A
writer's own choices (engine.feedback pairs: the text they kept or wrote over the
suggestion they passed up) say what *they* prefer. `fit(pairs)` learns two things:

- the persona profile: an engine.quality StyleProfile of the texts the writer kept
  and wrote (the sentence-length and n-gram references the style components compare
  against), used in place of the general profile;
- weights: a Bradley-Terry (logistic) model over the WQRM's score and components and
  the text's length, fitted on (chosen - rejected) feature differences with an L2 pull
  towards "the WQRM score alone", so with few pairs it stays the WQRM.

`UserCalibration.score(text)` is then the writer's own reading of a text; stored as
JSON (`killah-calibration v1`) under KILLAH_HOME/preferences/, with engine.atomic.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine import atomic, paths
from engine.errors import KillahError

FORMAT = "killah-calibration v1"
L2 = 1.0  # pull towards the plain WQRM score, per feature
STEPS = 800
LEARNING_RATE = 0.5


def calibration_path() -> Path:
    return paths.home() / "preferences" / "calibration.json"


def _features(quality, text: str, names: Sequence[str]) -> list[float]:
    """[score / 10, each named component (0.5 when missing), log words]."""
    comps = quality.components
    vals = [quality.score / 10.0]
    vals += [0.5 if comps.get(n) is None else float(comps[n]) for n in names]
    vals.append(math.log1p(len(text.split())))
    return vals


@dataclass(frozen=True)
class UserCalibration:
    names: tuple[str, ...]  # the WQRM components used, in feature order
    weights: tuple[float, ...]  # score/10, the components, log words
    profile: dict | None = field(default=None, repr=False)  # a StyleProfile.to_dict()
    pairs: int = 0

    def persona_profile(self):
        from engine.quality.profile import StyleProfile

        return StyleProfile.from_dict(self.profile) if self.profile else None

    def score_texts(self, texts: Sequence[str]) -> list[float]:
        """The writer's reading of each text (higher: more what they keep)."""
        from engine.quality.composite import score_texts

        qualities = score_texts(list(texts), self.persona_profile())
        w = np.asarray(self.weights)
        return [float(np.dot(w, _features(q, t, self.names))) for q, t in zip(qualities, texts)]

    def to_dict(self) -> dict:
        return {"format": FORMAT, "names": list(self.names), "weights": list(self.weights),
                "profile": self.profile, "pairs": self.pairs}

    @classmethod
    def from_dict(cls, d: dict) -> UserCalibration:
        if d.get("format") != FORMAT:
            raise KillahError(f"not a {FORMAT} file")
        return cls(tuple(d["names"]), tuple(float(w) for w in d["weights"]), d.get("profile"),
                   int(d.get("pairs", 0)))

    def save(self, path: str | Path | None = None) -> Path:
        path = Path(path) if path is not None else calibration_path()
        atomic.write_json(path, self.to_dict())
        return path


def load(path: str | Path | None = None) -> UserCalibration | None:
    """The writer's calibration, or None when there is none yet."""
    path = Path(path) if path is not None else calibration_path()
    try:
        return UserCalibration.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, KillahError) as e:
        raise KillahError(f"cannot read the calibration {path}: {e}") from None


def fit(chosen: Sequence[str], rejected: Sequence[str], kept: Sequence[str] = (),
        l2: float = L2) -> UserCalibration:
    """Fit on pairs (chosen[i] preferred to rejected[i]); `kept`: more of the writer's texts
    for the profile (default: the chosen ones)."""
    from engine.quality.composite import score_texts
    from engine.quality.profile import StyleProfile

    if len(chosen) != len(rejected) or not chosen:
        raise KillahError("calibration needs pairs: as many chosen texts as rejected ones")
    profile_texts = [t for t in (*chosen, *kept) if t.split()]
    profile = StyleProfile.from_texts(profile_texts, name="writer") if profile_texts else None
    qc = score_texts(list(chosen), profile)
    qr = score_texts(list(rejected), profile)
    names = tuple(sorted({n for q in (*qc, *qr) for n in q.components}))
    fc = np.array([_features(q, t, names) for q, t in zip(qc, chosen)])
    fr = np.array([_features(q, t, names) for q, t in zip(qr, rejected)])
    scale = np.maximum(np.abs(fc - fr).mean(0), 1e-3)  # features on a common footing
    d = (fc - fr) / scale
    prior = np.zeros(d.shape[1])
    prior[0] = 1.0 * scale[0]  # "the WQRM score alone", in scaled units
    w = prior.copy()
    for _ in range(STEPS):  # logistic loss on d (label 1), symmetric, L2 towards the prior
        p = 1.0 / (1.0 + np.exp(-(d @ w)))
        grad = -(d * (1.0 - p)[:, None]).mean(0) + l2 * (w - prior) / len(d)
        w -= LEARNING_RATE * grad
    return UserCalibration(names, tuple(float(x) for x in w / scale),
                           profile.to_dict() if profile else None, len(chosen))
