"""The WQRM head: from the encoder's pooled features to a 0-10 score and P(broken).

    h        = gelu(x W1 + b1)            (x: pooled features of `layers`; W1 folds the
                                           training standardisation and projection in)
    quality  = h wq + bq                  (on the LAMP 1-10 scale)
    p_broken = sigmoid(h wb + bb)
    score    = clip((1 - p_broken) * quality + p_broken * BROKEN_SCORE, 0, 10)

The head ships as resources/wqrm/head.safetensors (float32 arrays W1, b1, wq, bq,
wb, bb) beside wqrm.json (format, layers, how it was trained, held-out results).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from engine.errors import KillahError
from engine.quality.assets import WQRM_DIR

HEAD_FORMAT = "killah-wqrm-head v2"
HEAD_FILE = WQRM_DIR / "head.safetensors"
META_FILE = WQRM_DIR / "wqrm.json"
BROKEN_SCORE = 1.0  # where text that reads as broken lands
ARRAYS = ("W1", "b1", "wq", "bq", "wb", "bb")


def _gelu(x: np.ndarray) -> np.ndarray:
    from scipy.special import erf

    return 0.5 * x * (1.0 + erf(x / np.sqrt(2.0)))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


@dataclass(frozen=True)
class Head:
    arrays: dict[str, np.ndarray]
    layers: tuple[int, ...]
    meta: dict

    def __post_init__(self):
        missing = [k for k in ARRAYS if k not in self.arrays]
        if missing:
            raise KillahError(f"WQRM head: missing arrays {', '.join(missing)}")
        d_in = self.arrays["W1"].shape[0]
        if d_in != 3 * 384 * len(self.layers):
            raise KillahError(f"WQRM head: W1 has {d_in} rows for layers {self.layers}")

    def parts(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(quality on the 1-10 scale, P(broken)) for each row of pooled features."""
        a = self.arrays
        h = _gelu(np.asarray(features, dtype=np.float64) @ a["W1"] + a["b1"])
        return h @ a["wq"] + float(a["bq"][0]), _sigmoid(h @ a["wb"] + float(a["bb"][0]))

    @staticmethod
    def combine(quality: np.ndarray, p_broken: np.ndarray) -> np.ndarray:
        return np.clip((1.0 - p_broken) * quality + p_broken * BROKEN_SCORE, 0.0, 10.0)

    def score_features(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(score 0-10, quality, P(broken)) for each row."""
        q, p = self.parts(features)
        return self.combine(q, p), q, p

    def score_texts(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        from engine.quality.encoder import pooled

        return self.score_features(pooled(list(texts), self.layers))

    def save(self, folder: Path, meta: dict) -> None:
        from safetensors.numpy import save

        from engine.atomic import write_bytes, write_json

        folder = Path(folder)
        arrays = {k: np.ascontiguousarray(self.arrays[k], dtype=np.float32) for k in ARRAYS}
        write_bytes(folder / HEAD_FILE.name, save(arrays))
        write_json(folder / META_FILE.name, {"format": HEAD_FORMAT, "layers": list(self.layers), **meta})


def load_head(folder: str | Path | None = None) -> Head:
    """The shipped head (or the one saved in `folder`)."""
    return _shipped() if folder is None else _read(Path(folder))


@lru_cache(maxsize=1)
def _shipped() -> Head:
    return _read(WQRM_DIR)


def _read(folder: Path) -> Head:
    head_file, meta_file = folder / HEAD_FILE.name, folder / META_FILE.name
    if not head_file.exists() or not meta_file.exists():
        raise KillahError(f"WQRM weights missing in {folder} (train them: python -m engine.quality.train DATA)")
    try:
        from safetensors.numpy import load_file

        meta = json.loads(meta_file.read_text(encoding="utf-8"))
        if meta.get("format") != HEAD_FORMAT:
            raise KillahError(f"WQRM head: unknown format {meta.get('format')!r}, expected {HEAD_FORMAT!r}")
        arrays = {k: v.astype(np.float64) for k, v in load_file(str(head_file)).items()}
        return Head(arrays, tuple(int(x) for x in meta["layers"]), meta)
    except (OSError, ValueError, KeyError) as e:
        raise KillahError(f"cannot read WQRM head in {folder}: {e}") from e
