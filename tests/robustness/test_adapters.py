"""Malformed adapter folders: one message listing every problem, and an app that still starts."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import mlx.core as mx
import pytest

from engine import paths
from engine.adapter_files import read_folder
from engine.adapters import AdapterStack, load_adapter
from engine.errors import KillahError
from tests.training.test_adapters import make_adapter

REPO = Path(__file__).resolve().parents[2]
KEYS = ["self_attn.q_proj", "self_attn.v_proj"]


def _weights(folder: Path) -> dict:
    return dict(mx.load(str(folder / "adapters.safetensors")))


def _save(folder: Path, weights: dict) -> None:
    mx.save_safetensors(str(folder / "adapters.safetensors"), weights)


def _edit_json(folder: Path, name: str, fn) -> None:
    path = folder / name
    path.write_text(json.dumps(fn(json.loads(path.read_text()))))


def test_every_tensor_problem_is_listed_in_one_message(tiny_lm, tmp_path):
    folder = make_adapter(tiny_lm, tmp_path / "bad", 1, KEYS, rank=4)
    w = _weights(folder)
    a_names = sorted(k for k in w if k.endswith(".lora_a"))
    w[a_names[0]] = w[a_names[0]][:, :3]  # rank 3 against lora_b's 4
    w[a_names[1]] = w[a_names[1]][:, 0]  # a 1-D tensor
    w[a_names[2]] = mx.full(w[a_names[2]].shape, float("nan"))
    w[a_names[3]] = mx.full(w[a_names[3]].shape, float("inf"))
    w[a_names[4]] = mx.full(w[a_names[4]].shape, 1e9)
    del w[a_names[5].replace("lora_a", "lora_b")]
    _save(folder, w)
    _edit_json(folder, "adapter_config.json",
               lambda c: {**c, "lora_parameters": {**c["lora_parameters"], "scale": 1e30}})
    with pytest.raises(KillahError) as e:
        load_adapter(folder)
    message = str(e.value)
    assert "\n" not in message and message.startswith(f"adapter {folder}: 7 problem(s): ")
    assert f"{a_names[0][:-7]}: lora_a has rank 3 but lora_b has rank 4" in message
    assert f"{a_names[1]} has shape" in message and "a LoRA factor is 2-D" in message
    assert f"{a_names[2]} holds NaN or infinite values" in message
    assert f"{a_names[3]} holds NaN or infinite values" in message
    assert f"{a_names[4]} holds values as large as 1e+09" in message
    assert f"{a_names[5][:-7]} lacks lora_b" in message
    assert "lora_parameters.scale 1e+30 is not a number" in message


@pytest.mark.parametrize("config, metadata, expected", [
    ([1, 2], None, "adapter_config.json is a JSON list, not an object"),
    ({"lora_parameters": [4, 20]}, None, "lora_parameters is a list, not an object"),
    ({"fine_tune_type": "dora"}, None, "fine_tune_type 'dora' is not supported"),
    ({"lora_parameters": {"rank": 0, "scale": "big"}}, None, "lora_parameters.rank 0"),
    (None, ["a", "list"], "metadata.json is a JSON list, not an object"),
    (None, {"name": 7, "perturbation": "strong", "base_model": {"id": 3}},
     "metadata name is a int, not str"),
    (None, "not json {", "unreadable metadata.json"),
])
def test_malformed_json_is_named_not_raised(tiny_lm, tmp_path, config, metadata, expected):
    folder = make_adapter(tiny_lm, tmp_path / "a", 1, KEYS)
    if config is not None:
        (folder / "adapter_config.json").write_text(json.dumps(config))
    if metadata is not None:
        (folder / "metadata.json").write_text(
            metadata if isinstance(metadata, str) else json.dumps(metadata))
    found = read_folder(folder)
    assert any(expected in p for p in found.problems), found.problems
    with pytest.raises(KillahError, match="problem"):
        load_adapter(folder)


def test_a_rank_that_disagrees_with_the_config_is_named(tiny_lm, tmp_path):
    folder = make_adapter(tiny_lm, tmp_path / "a", 1, KEYS, rank=4)
    _edit_json(folder, "adapter_config.json",
               lambda c: {**c, "lora_parameters": {**c["lora_parameters"], "rank": 8}})
    assert any("rank 4, but adapter_config.json says 8" in p for p in read_folder(folder).problems)


def test_stack_scales_are_bounded(tiny_lm, tmp_path):
    adapter = load_adapter(make_adapter(tiny_lm, tmp_path / "a", 1, KEYS))
    for scale in (1e30, float("nan"), math.inf, "strong"):
        with pytest.raises(KillahError, match="scale"):
            AdapterStack([(adapter, scale)])
    stack = AdapterStack([(adapter, 2.0)])
    with pytest.raises(KillahError, match="outside"):
        stack.with_scales(-5e3)


def _malformed_adapters(root: Path, lm) -> None:
    make_adapter(lm, root / "good", 1, KEYS)
    make_adapter(lm, root / "list_metadata", 2, KEYS)
    (root / "list_metadata" / "metadata.json").write_text('["not", "a", "dict"]')
    make_adapter(lm, root / "list_config", 3, KEYS)
    (root / "list_config" / "adapter_config.json").write_text("[1, 2, 3]")
    make_adapter(lm, root / "nan", 4, KEYS)
    w = _weights(root / "nan")
    _save(root / "nan", {k: mx.full(v.shape, float("nan")) for k, v in w.items()})
    (root / "empty").mkdir()
    (root / "empty" / "adapter_config.json").write_text("")


def test_the_persona_panel_lists_malformed_adapters_without_failing(qtbot, tiny_lm):
    """Regression (issue 17.3): a metadata.json that is a JSON list stopped the app."""
    from desktop.session import Session
    from desktop.settings import Settings
    from desktop.window import MainWindow

    _malformed_adapters(paths.adapters_dir(), tiny_lm)
    window = MainWindow(Session(Settings(model="none")), recover=False)
    qtbot.addWidget(window)
    window.show()
    assert window.persona is not None


def test_the_app_starts_with_malformed_adapter_folders(tmp_path, tiny_lm, tiny_model_dir):
    home = tmp_path / "home"
    _malformed_adapters(home / "adapters", tiny_lm)
    env = {**os.environ, "PYTHONPATH": str(REPO), "QT_QPA_PLATFORM": "offscreen",
           "KILLAH_HOME": str(home)}
    proc = subprocess.run(
        [sys.executable, "-m", "desktop.cli", "app", "--smoke", "--model", str(tiny_model_dir),
         "--smoke-timeout", "120"], env=env, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
