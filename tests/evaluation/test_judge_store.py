"""The judge on disk is data: JSON + npz, hash-checked, never unpickled."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import numpy as np
import pytest

from engine import paths
from training.evaluation import judge as judge_mod
from training.evaluation import judge_store
from training.evaluation.judge import JUDGE_VERSION, JudgeConfig, author_passages, train_judge

SMALL = JudgeConfig(train_per_author=30, test_per_author=5, max_features=5000)
REPO = Path(__file__).resolve().parents[2]


def _dirs(reference, *authors):
    return {a: reference / "en" / a for a in authors}


def _texts(judge, n=4):
    return [p for a in judge.authors for p, _ in author_passages(judge.splits[a], "test", SMALL, n)]


def _folder(judge) -> Path:
    return paths.models_dir() / "judges" / f"{JUDGE_VERSION}-{judge.key}"


def _no_fit(*_a, **_k):
    raise AssertionError("the judge was fitted again instead of loaded")


@pytest.mark.parametrize("authors", [("austen", "wilde"), ("austen", "poe", "twain")])
def test_the_linear_model_matches_sklearn_and_survives_a_round_trip(reference, monkeypatch,
                                                                   authors):
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.svm import LinearSVC

    fresh = train_judge(_dirs(reference, *authors), SMALL)
    texts = _texts(fresh)
    X_train, y = [], []
    for a in fresh.authors:
        for p, _ in author_passages(fresh.splits[a], "train", SMALL, SMALL.train_per_author):
            X_train.append(p)
            y.append(a)
    clf = CalibratedClassifierCV(LinearSVC(C=SMALL.C, random_state=0), method="sigmoid", cv=3,
                                 ensemble=False).fit(fresh.features.transform(X_train), y)
    ours = fresh.model.predict_proba(fresh.features.transform(texts))
    np.testing.assert_allclose(ours, clf.predict_proba(fresh.features.transform(texts)), atol=1e-5)

    monkeypatch.setattr(judge_mod, "_fit", _no_fit)
    loaded = train_judge(_dirs(reference, *authors), SMALL)
    assert loaded.key == fresh.key and loaded.authors == fresh.authors
    assert np.array_equal(loaded.predict_proba(texts), fresh.predict_proba(texts))
    assert np.array_equal(loaded.order_gate(texts), fresh.order_gate(texts))
    assert sorted(p.name for p in _folder(fresh).iterdir()) == ["arrays.npz", "judge.json",
                                                                 "vocab.json"]


def test_a_changed_file_is_refused_and_the_judge_fitted_again(reference):
    dirs = _dirs(reference, "austen", "wilde")
    first = train_judge(dirs, SMALL)
    folder = _folder(first)
    vocab = json.loads((folder / "vocab.json").read_text("utf-8"))
    vocab["char"][0] = "tampered"
    (folder / "vocab.json").write_text(json.dumps(vocab), "utf-8")
    stored, why = judge_store.load(folder, judge_mod.make_features)
    assert stored is None and "vocab.json does not match its hash" in why
    said = []
    again = train_judge(dirs, SMALL, progress=said.append)
    assert any("fitting the judge again: vocab.json does not match" in p.message for p in said)
    assert judge_store.load(folder, judge_mod.make_features)[0] is not None  # a good copy again
    texts = _texts(first)
    np.testing.assert_allclose(again.predict_proba(texts), first.predict_proba(texts))


def test_a_pickle_in_the_cache_is_never_run(reference, tmp_path, monkeypatch):
    """Someone rewrites arrays.npz with a pickled object and fixes the hash: it is not loaded."""
    dirs = _dirs(reference, "austen", "wilde")
    first = train_judge(dirs, SMALL)
    folder = _folder(first)
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (Path.touch, (marker,))

    with np.load(folder / "arrays.npz") as z:
        arrays = {k: z[k] for k in z.files}
    arrays["coef"] = np.array([Payload()], dtype=object)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    (folder / "arrays.npz").write_bytes(buf.getvalue())
    meta = json.loads((folder / "judge.json").read_text("utf-8"))
    meta["sha256"]["arrays.npz"] = judge_store._sha256(folder / "arrays.npz")
    (folder / "judge.json").write_text(json.dumps(meta), "utf-8")

    stored, why = judge_store.load(folder, judge_mod.make_features)
    assert stored is None and "malformed" in why and "pickle" in why.lower()
    train_judge(dirs, SMALL)  # fitted again, and the object never unpickled
    assert not marker.exists()


@pytest.mark.parametrize("edit, reason", [
    (lambda m: m.update(format="something else"), "not a Killah judge"),
    (lambda m: m.update(format_version=99), "judge format 99"),
    (lambda m: m["gate"].update(lo=float("nan")), "finite"),
    (lambda m: m.update(classes=["austen"]), "at least two"),
])
def test_malformed_metadata_is_refused_with_a_reason(reference, edit, reason):
    first = train_judge(_dirs(reference, "austen", "wilde"), SMALL)
    folder = _folder(first)
    meta = json.loads((folder / "judge.json").read_text("utf-8"))
    edit(meta)
    (folder / "judge.json").write_text(json.dumps(meta), "utf-8")
    stored, why = judge_store.load(folder, judge_mod.make_features)
    assert stored is None and reason in why


def test_no_pickle_or_joblib_in_the_product():
    """Nothing in engine/, training/ or desktop/ unpickles (a cache file must not run code)."""
    pattern = re.compile(
        r"^\s*(import|from)\s+(pickle|joblib|dill|cloudpickle)\b|allow_pickle=True", re.MULTILINE)
    bad = [str(f.relative_to(REPO)) for d in ("engine", "training", "desktop")
           for f in (REPO / d).rglob("*.py") if pattern.search(f.read_text("utf-8"))]
    assert not bad, bad


def test_an_author_with_too_little_text_is_one_clear_error(reference, tmp_path):
    from engine.errors import KillahError

    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "note.txt").write_text("A short note. " * 120, "utf-8")  # 360 words: 2 passages
    with pytest.raises(KillahError, match=r"too little text for the judge: mine \(\d\)"):
        train_judge({"mine": mine, "austen": reference / "en" / "austen"}, SMALL)
