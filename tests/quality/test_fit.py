"""Fitting the head (MLX), folding it, saving and loading it; the feature cache; the CIs."""

from __future__ import annotations

import numpy as np
import pytest

from engine.errors import KillahError
from engine.quality import evaluate as ev
from engine.quality.fit import FitConfig, Targets, fit
from engine.quality.head import Head, load_head


def _toy(n=300, seed=0):
    """Features of one 'layer' (1152 dims) driven by 6 latent factors; quality is one of them."""
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(n, 6))
    x = (
        latent @ rng.normal(size=(6, 1152)) * 3
        + rng.normal(size=(n, 1152)) * 0.3
        + rng.normal(size=1152) * 5
    )
    y = 5 + 2 * latent[:, 0]
    broken = (latent[:, 1] > 0).astype(float)
    return x, y, broken


def test_fit_learns_pairs_scores_and_broken_and_folds_its_scaling():
    x, y, broken = _toy()
    rng = np.random.default_rng(1)
    tr = np.arange(200)
    pairs = np.array(
        [(i, j) if y[i] > y[j] else (j, i) for i, j in rng.integers(0, 200, (400, 2)) if i != j]
    )
    t = Targets(pairs, tr, y[tr], tr, broken[tr], np.arange(0), np.arange(0.0))
    head = fit(x, t, FitConfig(layers=(3,), hidden=32, pca=64, steps=300))
    _, q, p = head.score_features(x)  # the folded head reads raw features
    test = np.arange(200, 300)
    assert np.corrcoef(q[test], y[test])[0, 1] > 0.6
    assert ((p[test] > 0.5) == (broken[test] > 0)).mean() > 0.75


def test_metric_columns_bypass_the_projection_and_are_folded_too():
    from engine.quality.head import EXTRA

    x, _, broken = _toy()
    rng = np.random.default_rng(2)
    extra = rng.normal(size=(len(x), len(EXTRA))) * 3 + 1
    y = 5 + 2 * extra[:, 5] / 3  # quality lives in one metric column only
    xe = np.concatenate([x, extra], axis=1)
    tr = np.arange(200)
    t = Targets(np.zeros((0, 2), int), tr, y[tr], tr, broken[tr], np.arange(0), np.arange(0.0))
    head = fit(xe, t, FitConfig(layers=(3,), hidden=32, pca=64, steps=300), n_extra=len(EXTRA))
    assert head.extra == tuple(EXTRA)
    _, q, _ = head.score_features(xe)
    assert np.corrcoef(q[200:], y[200:])[0, 1] > 0.8


def test_linear_quality_learns_pairs_and_is_folded_into_wl():
    from engine.quality.head import EXTRA

    x, _, broken = _toy(400, seed=3)
    rng = np.random.default_rng(4)
    extra = rng.normal(size=(len(x), len(EXTRA)))
    pc = (x - x.mean(0)) @ np.linalg.svd(x - x.mean(0), full_matrices=False)[2][0]
    y = pc / pc.std() + extra[:, 2]  # one leading component and one metric column
    xe = np.concatenate([x, extra], axis=1)
    tr = np.arange(300)
    pairs = np.array(
        [(i, j) if y[i] > y[j] else (j, i) for i, j in rng.integers(0, 300, (900, 2)) if i != j]
    )
    t = Targets(pairs, tr[:0], y[:0], tr, broken[tr], tr[:0], y[:0])
    cfg = FitConfig(layers=(3,), hidden=16, pca=64, steps=300, linear=4, lr=1e-2)
    head = fit(xe, t, cfg, n_extra=len(EXTRA))
    assert np.all(head.arrays["wq"] == 0) and np.any(head.arrays["wl"] != 0)
    _, q, p = head.score_features(xe)  # the folded head reads raw features
    test = np.arange(300, 400)
    assert np.corrcoef(q[test], y[test])[0, 1] > 0.8
    assert ((p[test] > 0.5) == (broken[test] > 0)).mean() > 0.75


def test_head_round_trip_and_bad_files(tmp_path):
    x, y, broken = _toy(80)
    idx = np.arange(80)
    head = fit(
        x,
        Targets(np.zeros((0, 2), int), idx, y, idx, broken, idx[:0], y[:0]),
        FitConfig(layers=(3,), hidden=8, pca=16, steps=5),
    )
    head.save(tmp_path, {"training_data_sha256": "x"})
    back = load_head(tmp_path)
    assert back.layers == (3,)
    assert np.allclose(back.score_features(x[:4])[0], head.score_features(x[:4])[0], atol=1e-4)
    with pytest.raises(KillahError, match="missing"):
        load_head(tmp_path / "nowhere")
    with pytest.raises(KillahError, match="rows for layers"):
        Head(head.arrays, (3, 4), {})
    with pytest.raises(KillahError, match="rows for layers"):
        Head(head.arrays, (3,), {"extra": ["ttr"]})
    with pytest.raises(KillahError, match="wl has shape"):
        Head({**head.arrays, "wl": np.zeros(3)}, (3,), {})


def test_a_v2_head_without_the_linear_path_still_reads(tmp_path):
    import json

    from safetensors.numpy import load_file, save_file

    x, y, broken = _toy(80)
    idx = np.arange(80)
    head = fit(
        x,
        Targets(np.zeros((0, 2), int), idx, y, idx, broken, idx[:0], y[:0]),
        FitConfig(layers=(3,), hidden=8, pca=16, steps=5),
    )
    head.save(tmp_path, {})
    arrays = {k: v for k, v in load_file(str(tmp_path / "head.safetensors")).items() if k != "wl"}
    save_file(arrays, str(tmp_path / "head.safetensors"))
    meta = json.loads((tmp_path / "wqrm.json").read_text())
    (tmp_path / "wqrm.json").write_text(json.dumps({**meta, "format": "killah-wqrm-head v2"}))
    back = load_head(tmp_path)
    assert np.allclose(back.score_features(x[:4])[0], head.score_features(x[:4])[0], atol=1e-4)
    (tmp_path / "wqrm.json").write_text(json.dumps({**meta, "format": "killah-wqrm-head v1"}))
    with pytest.raises(KillahError, match="unknown format"):
        load_head(tmp_path)


def test_shipped_head_says_how_it_was_trained():
    head = load_head()
    assert head.meta["command"].startswith("python -m engine.quality.train")
    assert len(head.meta["training_data_sha256"]) == 64
    assert head.meta["heldout"]["pairwise_accuracy"]["all"] is not None


def test_feature_cache_resumes(tmp_path):
    from engine.quality.examples import CACHED_LAYERS, FeatureCache

    cache = FeatureCache(tmp_path)
    cache.fill(["One short line.", "Another line, a little longer."], chunk=1)
    again = FeatureCache(tmp_path)
    assert len(again.rows) == 2
    m = again.matrix(["Another line, a little longer."], (3,))
    assert m.shape == (1, 1152)
    full = again.matrix(["Another line, a little longer."], CACHED_LAYERS)
    assert np.allclose(full[:, 3 * 1152 : 4 * 1152], m)


def test_pair_accuracy_and_bootstrap_ci():
    from engine.quality.data import Pair

    pairs = [Pair(f"b{i}", f"w{i}", "x") for i in range(40)]
    score = {f"b{i}": 1.0 for i in range(40)} | {f"w{i}": 0.0 if i < 30 else 2.0 for i in range(40)}
    groups = {t: int(t[1:]) for t in score}
    r = ev.pair_accuracy(score, pairs, groups)
    assert r["acc"] == 0.75 and r["n"] == 40
    assert r["ci95"][0] < 0.75 < r["ci95"][1]
    d = ev.distribution([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    assert d["share_le_3"] == 0.3 and d["median"] == 5.5
