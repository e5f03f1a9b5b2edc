"""CT2 -> MLX conversion: complete, recorded, atomic, and refusing broken model.bin files."""

from __future__ import annotations

import json
import shutil

import mlx.core as mx
import numpy as np
import pytest
from mlx.utils import tree_flatten

from engine.errors import ModelConversionError
from engine.voice import convert, models


@pytest.fixture(scope="session")
def tiny_ct2():
    return models.ct2_dir("tiny.en")


def test_bundled_tiny_converts_to_every_mlx_parameter_with_the_right_shape(tiny_en, tiny_ct2):
    """Every parameter of mlx-whisper's model gets a tensor from the file, with its shape."""
    from mlx_whisper.whisper import ModelDimensions, Whisper

    folder = models.resolve("tiny.en")
    config = json.loads((folder / "config.json").read_text())
    config.pop("model_type")
    fresh = dict(tree_flatten(Whisper(ModelDimensions(**config), mx.float32).parameters()))
    fresh.pop("alignment_heads")  # not a weight: set from the CT2 config after loading
    saved = mx.load(str(folder / convert.WEIGHTS_FILE))
    assert set(saved) == set(fresh)
    for name, value in saved.items():
        assert value.shape == fresh[name].shape, name
        assert value.dtype == mx.float32, name
    # Weights are the CT2 ones: the fused self-attention [q; k; v] splits back exactly.
    ct2 = convert.parse_ct2((tiny_ct2 / "model.bin").read_bytes())
    qkv = ct2.get("encoder/layer_0/self_attention/linear_0/weight").astype(np.float32)
    d = config["n_audio_state"]
    np.testing.assert_array_equal(np.array(saved["encoder.blocks.0.attn.key.weight"]),
                                  qkv[d : 2 * d])


def test_conversion_records_its_source_and_is_reused(tiny_en, tiny_ct2):
    folder = models.resolve("tiny.en")
    record = convert.read_source_record(folder)
    source_sha, _ = convert.hash_parts([tiny_ct2 / "model.bin"])
    assert record["source_sha256"] == source_sha
    assert record["weights_sha256"] == convert.hash_parts([folder / convert.WEIGHTS_FILE])[0]
    assert record["alignment_heads"]
    before = (folder / convert.WEIGHTS_FILE).stat().st_mtime_ns
    assert models.resolve("tiny.en") == folder
    assert (folder / convert.WEIGHTS_FILE).stat().st_mtime_ns == before  # not converted again


def _ct2_copy(src, dst, data: bytes):
    dst.mkdir()
    (dst / "model.bin").write_bytes(data)
    shutil.copy(src / "config.json", dst / "config.json")
    return dst


def test_truncated_model_bin_is_refused_with_a_clear_message(tiny_ct2, tmp_path):
    data = (tiny_ct2 / "model.bin").read_bytes()
    folder = _ct2_copy(tiny_ct2, tmp_path / "truncated", data[: len(data) // 2])
    with pytest.raises(ModelConversionError, match="truncated or corrupt"):
        models.resolve(str(folder))
    assert not list(models.mlx_cache_dir("x").parent.glob("local-truncated-*"))


def test_corrupt_model_bin_is_refused(tiny_ct2, tmp_path):
    data = bytearray((tiny_ct2 / "model.bin").read_bytes())
    data[0] = 5  # binary version
    folder = _ct2_copy(tiny_ct2, tmp_path / "badversion", bytes(data))
    with pytest.raises(ModelConversionError, match="not a CTranslate2 v6"):
        models.resolve(str(folder))
    with pytest.raises(ModelConversionError, match="unexpected bytes"):
        convert.parse_ct2((tiny_ct2 / "model.bin").read_bytes() + b"\0\0")


def test_a_package_file_that_differs_from_its_wheel_record_is_refused(tiny_ct2, tmp_path):
    with pytest.raises(ModelConversionError, match="is corrupt .*reinstall"):
        convert.convert([tiny_ct2 / "model.bin"], tmp_path / "out", expected_part_sha256=["0" * 64])
    assert not (tmp_path / "out").exists()


def test_failed_conversion_leaves_no_folder_and_keeps_the_old_one(tiny_ct2, tmp_path, monkeypatch):
    target = tmp_path / "model"
    target.mkdir()
    (target / "marker").write_text("old")

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(mx, "save_safetensors", boom)
    with pytest.raises(OSError, match="disk full"):
        convert.convert([tiny_ct2 / "model.bin"], target)
    assert (target / "marker").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["model"]  # no staging leftovers


def test_local_ct2_folder_converts_like_the_bundled_one(tiny_ct2, tmp_path):
    folder = _ct2_copy(tiny_ct2, tmp_path / "myct2", (tiny_ct2 / "model.bin").read_bytes())
    out = models.resolve(str(folder))
    assert (out / convert.WEIGHTS_FILE).is_file()
    assert models.resolve(str(out)) == out  # an mlx-whisper folder is used as it is


def test_unknown_model_names_give_one_clear_line():
    from engine.errors import ModelNotFound

    with pytest.raises(ModelNotFound, match="unknown whisper model 'huge'"):
        models.resolve("huge")
