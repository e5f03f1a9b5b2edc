"""The authorship judge as data: a calibrated linear model, and its files (never pickle).

A fitted judge is three files in one folder:

- `judge.json`: format and version, the judge's key, authors, language, config,
  the word-order gate's thresholds, and the SHA-256 of the two files below;
- `vocab.json`: the terms of each TF-IDF block, in column order;
- `arrays.npz`: each block's IDF weights, the linear model (coefficients,
  intercepts, Platt sigmoid a and b per class) and the gate's trigram table.

`load` checks the format, the hashes and every array's shape and finiteness, and
reads the arrays with allow_pickle=False; anything else gives None and a reason,
and the caller fits the judge again. Nothing in these files can run code.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FORMAT = "killah-judge"
FORMAT_VERSION = 1
BLOCKS = ("char", "word", "distorted")


@dataclass
class CalibratedLinear:
    """A one-vs-rest linear classifier with a Platt sigmoid per class (as sklearn computes it).

    `coef` has one row per class, or a single row (the score of classes[1]) for two classes.
    """

    classes: list[str]
    coef: np.ndarray  # (rows, features) float32
    intercept: np.ndarray  # (rows,)
    a: np.ndarray  # (rows,)
    b: np.ndarray  # (rows,)

    @classmethod
    def from_sklearn(cls, calibrated) -> CalibratedLinear:
        """From a fitted CalibratedClassifierCV(LinearSVC, method='sigmoid', ensemble=False)."""
        (fitted,) = calibrated.calibrated_classifiers_
        svm = fitted.estimator
        classes = [str(c) for c in calibrated.classes_]
        if [str(c) for c in svm.classes_] != classes:
            raise ValueError("the classifier's classes are not in the calibrated order")
        a = np.array([c.a_ for c in fitted.calibrators], dtype=np.float64)
        b = np.array([c.b_ for c in fitted.calibrators], dtype=np.float64)
        return cls(classes, np.asarray(svm.coef_, dtype=np.float32),
                   np.asarray(svm.intercept_, dtype=np.float64), a, b)

    def predict_proba(self, X) -> np.ndarray:
        """(n, classes) probabilities: sigmoid per class, normalised to sum to 1."""
        from scipy.special import expit

        scores = np.asarray(X @ self.coef.T, dtype=np.float64) + self.intercept
        p = expit(-(scores * self.a + self.b))
        k = len(self.classes)
        if k == 2:
            proba = np.column_stack([1.0 - p[:, 0], p[:, 0]])
        else:
            total = p.sum(axis=1, keepdims=True)
            proba = np.divide(p, total, out=np.full_like(p, 1.0 / k), where=total != 0)
        proba[(proba > 1.0) & (proba <= 1.0 + 1e-5)] = 1.0
        return proba


def vectorizers(features) -> dict:
    """block name -> the fitted TfidfVectorizer inside make_features()'s pipeline."""
    union = features.named_steps["features"]
    out = {}
    for name, step in union.transformer_list:
        out[name] = step.named_steps["tfidf"] if hasattr(step, "named_steps") else step
    if tuple(out) != BLOCKS:
        raise ValueError(f"unexpected feature blocks: {tuple(out)}")
    return out


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def save(folder: Path, meta: dict, features, model: CalibratedLinear,
         gate_table: np.ndarray) -> None:
    """Write the judge's three files into `folder` (replaced in one rename)."""
    import io

    from engine.atomic import staging_dir, write_bytes, write_text

    vecs = vectorizers(features)
    vocab = {}
    arrays = {"coef": model.coef, "intercept": model.intercept, "a": model.a, "b": model.b,
              "gate_table": np.asarray(gate_table, dtype=np.uint32)}
    for name, vec in vecs.items():
        terms = [""] * len(vec.vocabulary_)
        for term, i in vec.vocabulary_.items():
            terms[i] = term
        vocab[name] = terms
        arrays[f"idf_{name}"] = np.asarray(vec.idf_)
    with staging_dir(folder) as tmp:
        write_text(tmp / "vocab.json", json.dumps(vocab, ensure_ascii=False))
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        write_bytes(tmp / "arrays.npz", buf.getvalue())
        doc = dict(meta, format=FORMAT, format_version=FORMAT_VERSION, classes=model.classes,
                   sha256={n: _sha256(tmp / n) for n in ("vocab.json", "arrays.npz")})
        write_text(tmp / "judge.json", json.dumps(doc, ensure_ascii=False, indent=1))


@dataclass
class Loaded:
    meta: dict
    features: object  # make_features() pipeline with the stored vocabularies and IDF weights
    model: CalibratedLinear
    gate_table: np.ndarray
    gate_lo: float
    gate_hi: float


def load(folder: Path, make_features) -> tuple[Loaded | None, str]:
    """(the stored judge, "") or (None, why it cannot be used)."""
    try:
        meta = json.loads((folder / "judge.json").read_text("utf-8"))
    except FileNotFoundError:
        return None, "not cached"
    except (OSError, UnicodeDecodeError, ValueError) as e:
        return None, f"judge.json unreadable: {e}"
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        return None, "judge.json is not a Killah judge"
    if meta.get("format_version") != FORMAT_VERSION:
        return None, (f"judge format {meta.get('format_version')} "
                      f"(this version reads {FORMAT_VERSION})")
    hashes = meta.get("sha256")
    for name in ("vocab.json", "arrays.npz"):
        try:
            ok = isinstance(hashes, dict) and hashes.get(name) == _sha256(folder / name)
        except OSError as e:
            return None, f"{name} unreadable: {e}"
        if not ok:
            return None, f"{name} does not match its hash in judge.json"
    try:
        vocab = json.loads((folder / "vocab.json").read_text("utf-8"))
        with np.load(folder / "arrays.npz", allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
        loaded = _build(meta, vocab, arrays, make_features)
    except (OSError, ValueError, KeyError, TypeError) as e:
        return None, f"stored judge is malformed: {e}"
    return loaded, ""


def _build(meta: dict, vocab: dict, arrays: dict, make_features) -> Loaded:
    classes = meta["classes"]
    config = meta["config"]
    if not (isinstance(classes, list) and len(classes) >= 2
            and all(isinstance(c, str) for c in classes)):
        raise ValueError("classes must be a list of at least two names")
    features = make_features(meta["lang"], bool(config["mask_names"]), int(config["max_features"]))
    width = 0
    for name, vec in vectorizers(features).items():
        terms, idf = vocab[name], arrays[f"idf_{name}"]
        if not (isinstance(terms, list) and all(isinstance(t, str) for t in terms)):
            raise ValueError(f"vocabulary {name} must be a list of strings")
        if idf.shape != (len(terms),) or not np.isfinite(idf).all():
            raise ValueError(f"idf_{name} must be {len(terms)} finite numbers")
        vec.vocabulary = {t: i for i, t in enumerate(terms)}
        if len(vec.vocabulary) != len(terms):
            raise ValueError(f"vocabulary {name} repeats a term")
        vec._validate_vocabulary()
        vec.idf_ = idf
        width += len(terms)
    rows = 1 if len(classes) == 2 else len(classes)
    coef = arrays["coef"]
    if coef.shape != (rows, width) or coef.dtype != np.float32:
        raise ValueError(f"coef must be float32 {rows}x{width}, got {coef.dtype} {coef.shape}")
    for k in ("intercept", "a", "b"):
        if arrays[k].shape != (rows,):
            raise ValueError(f"{k} must have {rows} values")
    if not all(np.isfinite(arrays[k]).all() for k in ("coef", "intercept", "a", "b")):
        raise ValueError("the linear model holds non-finite numbers")
    table = arrays["gate_table"]
    if table.dtype != np.uint32 or table.ndim != 1:
        raise ValueError("gate_table must be a 1-D uint32 array")
    lo, hi = float(meta["gate"]["lo"]), float(meta["gate"]["hi"])
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise ValueError("the gate's thresholds must be finite")
    model = CalibratedLinear(classes, coef, arrays["intercept"], arrays["a"], arrays["b"])
    return Loaded(meta, features, model, table, lo, hi)
