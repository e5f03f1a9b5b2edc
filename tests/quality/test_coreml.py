"""Core ML export of the shipped WQRM head."""

from __future__ import annotations

import numpy as np
import pytest

ct = pytest.importorskip("coremltools", reason="coremltools is not installed")

from engine.quality import coreml  # noqa: E402
from engine.quality.head import Head, load_head  # noqa: E402


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    head = load_head()
    path = tmp_path_factory.mktemp("coreml") / "wqrm_head.mlpackage"
    coreml.export(head, path)
    return head, path


def test_exported_spec_validates(package):
    head, path = package
    assert (path / "Manifest.json").exists()
    coreml.check_package(path, head)  # raises on a wrong type, shape or weight
    spec = ct.utils.load_spec(str(path))
    meta = spec.description.metadata.userDefined
    assert meta["killah.wqrm.training_data_sha256"] == head.meta["training_data_sha256"]
    assert meta["killah.wqrm.layers"] == ",".join(map(str, head.layers))


def test_check_package_catches_other_weights(package):
    from engine.errors import KillahError

    head, path = package
    other = Head({**head.arrays, "W1": head.arrays["W1"] * 2}, head.layers, head.meta)
    with pytest.raises(KillahError, match="weights differ"):
        coreml.check_package(path, other)


@pytest.mark.skipif(not coreml.can_predict(), reason="Core ML prediction runs only on macOS")
def test_coreml_outputs_match_numpy(package):
    from engine.quality.encoder import pooled

    head, path = package
    x = pooled(["The bus came late.", "steps steps the the water water"], head.layers)
    assert np.allclose(coreml.predict(path, x), head.score_features(x)[0], rtol=1e-3, atol=1e-2)
