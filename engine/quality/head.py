"""The WQRM head: from the encoder's pooled features to a 0-10 score and P(broken).

    h        = gelu(x W1 + b1)            (x: pooled features of `layers`, then the
                                           `extra` text metrics of text_vector; W1 folds the
                                           training standardisation and projection in)
    quality  = x wl + h wq + bq           (on the LAMP 1-10 scale; a linear path and/or
                                           the hidden layer, whichever the fit trained)
    p_broken = sigmoid(h wb + bb)
    score    = clip((1 - p_broken) * quality + p_broken * BROKEN_SCORE, 0, 10)

The head ships as resources/wqrm/head.safetensors (float32 arrays W1, b1, wl, wq, bq,
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

HEAD_FORMAT = "killah-wqrm-head v3"
OLD_FORMATS = ("killah-wqrm-head v2",)  # read too: no linear path (wl = 0)
HEAD_FILE = WQRM_DIR / "head.safetensors"
META_FILE = WQRM_DIR / "wqrm.json"
BROKEN_SCORE = 1.0  # where text that reads as broken lands
ARRAYS = ("W1", "b1", "wl", "wq", "bq", "wb", "bb")
# Rigid text metrics the head reads beside the encoder (a missing value gets its default).
EXTRA: dict[str, float] = {
    "ttr": 1.0,
    "log_mtld": 0.0,
    "log_sentence_len": 0.0,
    "sentence_len_cv": 0.0,
    "compression": 1.0,
    "generic_phrases": 0.0,
    "novelty": 1.0,
    "repetition": 0.0,
    "doubled_words": 0.0,
    "latin_share": 1.0,
    "digit_share": 0.0,
}


def text_vector(text: str) -> np.ndarray:
    """The EXTRA metrics of `text`, in order (MTLD and mean sentence length as log1p)."""
    from engine.quality import metrics as m

    tokens = m.words(text)
    lengths = m.sentence_lengths(text)
    mtld = m.mtld(tokens)
    values = {
        "ttr": m.type_token_ratio(tokens),
        "log_mtld": None if mtld is None else float(np.log1p(mtld)),
        "log_sentence_len": float(np.log1p(np.mean(lengths))) if lengths else None,
        "sentence_len_cv": float(np.std(lengths) / np.mean(lengths)) if len(lengths) > 1 else None,
        "compression": m.compression_ratio(text),
        "generic_phrases": m.generic_phrase_penalty(text),
        "novelty": m.ngram_novelty(tokens),
        "repetition": m.repetition(tokens),
        "doubled_words": m.doubled_words(tokens),
        "latin_share": m.latin_share(text),
        "digit_share": sum(t.isdigit() for t in tokens) / len(tokens) if tokens else None,
    }
    return np.array(
        [default if values[k] is None else float(values[k]) for k, default in EXTRA.items()]
    )


def features(texts: Sequence[str], layers: Sequence[int], extra: bool) -> np.ndarray:
    """What a head reads: the pooled encoder states, then (if `extra`) the text metrics."""
    from engine.quality.encoder import pooled

    x = pooled(list(texts), layers)
    return np.concatenate([x, np.stack([text_vector(t) for t in texts])], axis=1) if extra else x


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
        if d_in != 3 * 384 * len(self.layers) + len(self.extra):
            raise KillahError(
                f"WQRM head: W1 has {d_in} rows for layers {self.layers} "
                f"and {len(self.extra)} metrics"
            )
        if self.arrays["wl"].shape != (d_in,):
            raise KillahError(f"WQRM head: wl has shape {self.arrays['wl'].shape}, not ({d_in},)")

    @property
    def extra(self) -> tuple[str, ...]:
        return tuple(self.meta.get("extra", ()))

    def parts(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(quality on the 1-10 scale, P(broken)) for each row of pooled features."""
        a = self.arrays
        x = np.asarray(features, dtype=np.float64)
        h = _gelu(x @ a["W1"] + a["b1"])
        quality = x @ a["wl"] + h @ a["wq"] + float(a["bq"][0])
        return quality, _sigmoid(h @ a["wb"] + float(a["bb"][0]))

    @staticmethod
    def combine(quality: np.ndarray, p_broken: np.ndarray) -> np.ndarray:
        return np.clip((1.0 - p_broken) * quality + p_broken * BROKEN_SCORE, 0.0, 10.0)

    def score_features(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(score 0-10, quality, P(broken)) for each row."""
        q, p = self.parts(features)
        return self.combine(q, p), q, p

    def score_texts(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self.extra and list(self.extra) != list(EXTRA):
            raise KillahError("WQRM head: its metric list differs from this version's; retrain it")
        return self.score_features(features(texts, self.layers, bool(self.extra)))

    def save(self, folder: Path, meta: dict) -> None:
        from safetensors.numpy import save

        from engine.atomic import write_bytes, write_json

        folder = Path(folder)
        arrays = {k: np.ascontiguousarray(self.arrays[k], dtype=np.float32) for k in ARRAYS}
        write_bytes(folder / HEAD_FILE.name, save(arrays))
        write_json(
            folder / META_FILE.name, {"format": HEAD_FORMAT, "layers": list(self.layers), **meta}
        )


def load_head(folder: str | Path | None = None) -> Head:
    """The shipped head (or the one saved in `folder`)."""
    return _shipped() if folder is None else _read(Path(folder))


@lru_cache(maxsize=1)
def _shipped() -> Head:
    return _read(WQRM_DIR)


def _read(folder: Path) -> Head:
    head_file, meta_file = folder / HEAD_FILE.name, folder / META_FILE.name
    if not head_file.exists() or not meta_file.exists():
        raise KillahError(
            f"WQRM weights missing in {folder} (train them: python -m engine.quality.train DATA)"
        )
    try:
        from safetensors.numpy import load_file

        meta = json.loads(meta_file.read_text(encoding="utf-8"))
        if meta.get("format") not in (HEAD_FORMAT, *OLD_FORMATS):
            raise KillahError(
                f"WQRM head: unknown format {meta.get('format')!r}, expected {HEAD_FORMAT!r}"
            )
        arrays = {k: v.astype(np.float64) for k, v in load_file(str(head_file)).items()}
        if meta["format"] in OLD_FORMATS and "W1" in arrays:
            arrays.setdefault("wl", np.zeros(arrays["W1"].shape[0]))
        return Head(arrays, tuple(int(x) for x in meta["layers"]), meta)
    except (OSError, ValueError, KeyError) as e:
        raise KillahError(f"cannot read WQRM head in {folder}: {e}") from e
