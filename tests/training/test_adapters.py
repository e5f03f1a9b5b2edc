"""The adapter stack: unfused at run time, equal to the fused float32 model, refusing mismatches."""

from __future__ import annotations

import json
from pathlib import Path

import mlx.core as mx
import pytest
from mlx.utils import tree_flatten, tree_map

from engine.adapters import AdapterStack, architecture_hash, fuse_and_export, load_adapter, normalize_model_id
from engine.errors import AdapterMismatch

TOKENS = mx.array([[2, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50]])


def make_adapter(lm, folder: Path, seed: int, keys: list[str], rank: int = 4, scale: float = 3.0,
                 base: dict | None = None) -> Path:
    """A LoRA with random (non-zero) A and B, saved exactly as mlx-lm saves one."""
    from mlx_lm.tuner.utils import linear_to_lora_layers, remove_lora_layers

    model = lm.model
    mx.random.seed(seed)
    model.freeze()
    linear_to_lora_layers(model, len(model.layers), {"rank": rank, "scale": scale, "dropout": 0.0, "keys": keys})
    model.update(tree_map(lambda p: 0.05 * mx.random.normal(p.shape), model.trainable_parameters()))
    weights = dict(tree_flatten(model.trainable_parameters()))
    remove_lora_layers(model)
    folder.mkdir(parents=True)
    mx.save_safetensors(str(folder / "adapters.safetensors"), weights)
    config = {"fine_tune_type": "lora", "num_layers": -1,
              "lora_parameters": {"rank": rank, "scale": scale, "dropout": 0.0, "keys": keys}}
    (folder / "adapter_config.json").write_text(json.dumps(config))
    meta = {"author": "Test Author", "base_model": base or {"id": lm.model_id, "hash": architecture_hash(lm.config)},
            "perturbation": {"input_noise": 0.08, "seed": 3}}
    (folder / "metadata.json").write_text(json.dumps(meta))
    return folder


@pytest.fixture
def two_adapters(tiny_lm, tmp_path):
    style = make_adapter(tiny_lm, tmp_path / "style", 1, ["self_attn.q_proj", "self_attn.v_proj", "mlp.down_proj"])
    task = make_adapter(tiny_lm, tmp_path / "task", 2, ["self_attn.q_proj", "mlp.up_proj"], rank=2, scale=5.0)
    return load_adapter(style), load_adapter(task)


def logits(model) -> mx.array:
    return model(TOKENS).astype(mx.float32)


def test_stack_equals_float32_fused_model(tiny_lm, two_adapters):
    style, task = two_adapters
    stack = AdapterStack.for_model(tiny_lm, [(style, 0.7), (task, 1.3)])
    base = logits(tiny_lm.model)
    undo = stack.apply(tiny_lm.model)
    stacked = logits(tiny_lm.model)
    undo()
    assert not mx.allclose(stacked, base, atol=1e-3).item()  # the adapters do something
    original = dict(tree_flatten(tiny_lm.model.parameters()))
    stack.fuse_into(tiny_lm.model)
    fused = logits(tiny_lm.model)
    tiny_lm.model.load_weights(list(original.items()))
    assert mx.allclose(stacked, fused, atol=1e-4, rtol=1e-4).item(), mx.abs(stacked - fused).max().item()
    assert mx.allclose(logits(tiny_lm.model), base).item()  # undo and restore leave the base untouched


def test_scale_zero_is_the_base_model(tiny_lm, two_adapters):
    style, task = two_adapters
    base = logits(tiny_lm.model)
    undo = AdapterStack.for_model(tiny_lm, [(style, 0.0), (task, 0.0)]).apply(tiny_lm.model)
    out = logits(tiny_lm.model)
    undo()
    assert mx.array_equal(out, base).item()


def test_switching_adapters_needs_no_reload(tiny_lm, two_adapters):
    style, task = two_adapters
    base = logits(tiny_lm.model)
    a = AdapterStack([(style, 1.0)])
    b = AdapterStack([(task, 1.0)])
    undo = a.apply(tiny_lm.model)
    out_a = logits(tiny_lm.model)
    undo()
    undo = b.apply(tiny_lm.model)
    out_b = logits(tiny_lm.model)
    undo()
    undo = a.apply(tiny_lm.model)
    again_a = logits(tiny_lm.model)
    undo()
    assert mx.array_equal(out_a, again_a).item()
    assert not mx.allclose(out_a, out_b, atol=1e-3).item()
    assert mx.array_equal(logits(tiny_lm.model), base).item()
    assert a.cache_key != b.cache_key


def test_stack_matches_plain_mlx_lm_adapter_loading(tiny_lm, tiny_model_dir, two_adapters):
    """Our unfused stack at the trained scale gives mlx-lm's own `load(..., adapter_path=)` logits."""
    from mlx_lm.utils import load

    style, _ = two_adapters
    undo = AdapterStack([style]).apply(tiny_lm.model)  # at its trained scale, as mlx-lm applies it
    ours = logits(tiny_lm.model)
    undo()
    model, _ = load(str(tiny_model_dir), adapter_path=str(style.path))
    assert mx.allclose(ours, logits(model), atol=1e-5).item()


def test_mismatched_base_is_refused_with_every_problem_listed(tiny_lm, tmp_path, two_adapters):
    other = make_adapter(tiny_lm, tmp_path / "other", 3, ["self_attn.q_proj"],
                         base={"id": "Qwen/Qwen2.5-14B", "hash": "0123456789abcdef"})
    weights = mx.load(str(other / "adapters.safetensors"))
    weights["model.layers.0.self_attn.q_proj.lora_a"] = mx.zeros((7, 4))
    weights["model.layers.0.nonexistent.lora_a"] = mx.zeros((64, 4))
    weights["model.layers.0.nonexistent.lora_b"] = mx.zeros((4, 64))
    mx.save_safetensors(str(other / "adapters.safetensors"), weights)
    with pytest.raises(AdapterMismatch) as err:
        AdapterStack.for_model(tiny_lm, [(two_adapters[0], 1.0), (other, 1.0)])
    message = str(err.value)
    assert "Qwen/Qwen2.5-14B" in message
    assert "7 input rows" in message
    assert "nonexistent is not a linear layer" in message
    assert str(two_adapters[0].path) not in message  # the good adapter is not blamed


def test_same_base_in_another_format_is_accepted():
    assert normalize_model_id("mlx-community/gemma-3-270m-4bit") == normalize_model_id("google/gemma-3-270m")
    assert normalize_model_id("google/gemma-3-270m-it") != normalize_model_id("google/gemma-3-270m")


def test_fuse_and_export_writes_a_model_mlx_lm_loads(tiny_lm, two_adapters, tmp_path):
    from mlx_lm.utils import load

    style, task = two_adapters
    stack = AdapterStack([(style, 1.0), (task, 0.5)])
    undo = stack.apply(tiny_lm.model)
    stacked = logits(tiny_lm.model)
    undo()
    out = fuse_and_export(tiny_lm, stack, tmp_path / "fused")
    model, _ = load(str(out))
    assert mx.allclose(logits(model), stacked, atol=1e-4).item()
    assert json.loads((out / "killah_fused.json").read_text())["adapters"][1]["scale"] == 0.5


def test_style_adapter_prompt_applies_its_trained_perturbation(two_adapters):
    from engine.perturb import perturb_input

    style, _ = two_adapters
    description = "A woman writes to her brother that she will visit him at his house in the country soon."
    prompt = style.restyle_prompt(description, 120)
    assert "emulating the style and voice of Test Author" in prompt.text
    expected = perturb_input(description, {"input_noise": 0.08, "seed": 3})
    assert expected in prompt.text
