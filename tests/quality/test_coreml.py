"""Core ML export of the shipped learned scorer."""

from __future__ import annotations

import numpy as np
import pytest

ct = pytest.importorskip("coremltools", reason="coremltools is not installed")

from engine.quality import coreml  # noqa: E402
from engine.quality.scorer import load_scorer  # noqa: E402


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    scorer = load_scorer()
    path = tmp_path_factory.mktemp("coreml") / "wqrm_scorer.mlpackage"
    coreml.export(scorer, path)
    return scorer, path


def test_folded_weights_equal_the_scorer():
    scorer = load_scorer()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(5, scorer.dim)) * scorer.std + scorer.mean
    w, b = coreml.folded_weights(scorer)
    assert np.allclose(x @ w + b, scorer.raw(x))


def test_exported_spec_validates(package):
    scorer, path = package
    assert (path / "Manifest.json").exists()
    coreml.check_package(path, scorer)  # raises on a wrong type, shape or weight
    spec = ct.utils.load_spec(str(path))
    meta = spec.description.metadata.userDefined
    assert meta["killah.scorer.training_data_sha256"] == scorer.meta["training_data_sha256"]


def test_check_package_catches_other_weights(package, tmp_path):
    from engine.errors import KillahError
    from engine.quality.scorer import LearnedScorer

    scorer, path = package
    other = LearnedScorer(scorer.weights * 2, scorer.bias, scorer.mean, scorer.std, scorer.metric_fill,
                          scorer.raw_quantiles, scorer.embedder, scorer.meta)
    with pytest.raises(KillahError, match="weights differ"):
        coreml.check_package(path, other)


@pytest.mark.skipif(not coreml.can_predict(), reason="Core ML prediction runs only on macOS")
def test_coreml_outputs_match_numpy(package):
    scorer, path = package
    rng = np.random.default_rng(1)
    x = rng.normal(size=(8, scorer.dim)) * scorer.std + scorer.mean
    assert np.allclose(coreml.predict(path, x), scorer.raw(x), rtol=1e-3, atol=1e-3)
