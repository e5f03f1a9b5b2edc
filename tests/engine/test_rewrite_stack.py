"""'Rephrase in my voice': the rewrite task LoRA over the user's style LoRA, with persona steering."""

from __future__ import annotations

import json

import mlx.core as mx
from mlx.utils import tree_flatten

from engine import tasks
from engine.adapters import AdapterStack, load_adapter
from engine.style import AdapterSpec, Style
from tests.engine.test_style import TEXT, adapters, persona_store  # noqa: F401 - fixtures
from tests.training.test_adapters import logits


def _mark_task_frame(folder) -> None:
    meta = json.loads((folder / "metadata.json").read_text())
    meta.update({"prompt_format": tasks.TASK_FRAME, "tasks": list(tasks.REWRITE_MODES), "author": None})
    (folder / "metadata.json").write_text(json.dumps(meta))


def test_like_me_stacks_task_lora_style_lora_and_steering_as_the_parts_give(tiny_lm, adapters, persona_store):  # noqa: F811
    """The stacked model equals the base with both LoRAs fused in, steered by the same vector."""
    style_dir, task_dir = adapters
    _mark_task_frame(task_dir)
    style = Style(persona="me", strength=0.5, exemplars=0, adapters=(
        AdapterSpec(str(style_dir), 0.8), AdapterSpec(str(task_dir), 1.0, tasks.REWRITE_MODES)))
    active = style.open(tiny_lm, store=persona_store)
    # the task adapter's own frame, in its rephrase form, with the style adapter underneath
    assert active.prompt("like_me", TEXT) == tasks.task_prompt("like_me", TEXT)
    assert active.prompt("formal", TEXT) == tasks.task_prompt("formal", TEXT)
    assert active.prompt("continue", TEXT) == tasks.continue_prompt(TEXT)
    stack, steer = active.transforms("like_me")
    s, t = load_adapter(style_dir), load_adapter(task_dir)
    assert [(e.adapter.path, e.scale) for e in stack.entries] == [(s.path, 0.8 * s.lora_scale),
                                                                  (t.path, t.lora_scale)]
    model = tiny_lm.model
    base = logits(model)
    undos = [tr.apply(model) for tr in (stack, steer)]
    stacked = logits(model)
    for undo in reversed(undos):
        undo()
    assert mx.allclose(logits(model), base).item()  # nothing left behind
    # the parts: both LoRAs fused into the weights, then the same steering vector
    original = dict(tree_flatten(model.parameters()))
    AdapterStack.for_model(tiny_lm, [(s, 0.8 * s.lora_scale), (t, t.lora_scale)]).fuse_into(model)
    undo = steer.apply(model)
    parts = logits(model)
    undo()
    model.load_weights(list(original.items()))
    assert not mx.allclose(stacked, base, atol=1e-3).item()
    assert mx.allclose(stacked, parts, atol=1e-4, rtol=1e-4).item(), mx.abs(stacked - parts).max().item()


def test_a_task_adapter_for_some_languages_leaves_the_others_to_the_base(tiny_lm, adapters):  # noqa: F811
    """Metadata "languages": ["en"]: Russian text gets the stack without it, and the base frames."""
    style_dir, task_dir = adapters
    _mark_task_frame(task_dir)
    meta = json.loads((task_dir / "metadata.json").read_text())
    (task_dir / "metadata.json").write_text(json.dumps({**meta, "languages": ["en"]}))
    russian = "Игорь одолжил Наташе свои конспекты, но она их так и не вернула."
    alone = Style(adapters=(AdapterSpec(str(task_dir), 1.0, tasks.REWRITE_MODES),)).open(tiny_lm)
    assert alone.prompt("formal", TEXT) == tasks.task_prompt("formal", TEXT)
    assert [e.adapter.path for e in alone.stack("formal", TEXT).entries] == [load_adapter(task_dir).path]
    assert alone.prompt("formal", russian) == tasks.build("formal", russian)  # the two-shot frame
    assert alone.stack("formal", russian) is None and alone.transforms("formal", russian) == ()
    under = Style(adapters=(AdapterSpec(str(style_dir), 0.8),
                            AdapterSpec(str(task_dir), 1.0, tasks.REWRITE_MODES))).open(tiny_lm)
    assert [e.adapter.path for e in under.stack("rephrase", russian).entries] == [
        load_adapter(style_dir).path]  # the style adapter stays
    assert len(under.stack("rephrase", TEXT).entries) == 2
    assert under.stack("rephrase") is under.stack("rephrase", TEXT)  # no text: the full stack


def test_the_shipped_rewrite_adapter_serves_the_rewrite_modes_when_asked(real_lm):
    """resources/adapters/rewrite loads on the bundled base and brings its own frame; opt-in."""
    active = Style(bundled=True).open(real_lm)
    assert [e.adapter.path.name for e in active.stack("rephrase").entries] == ["rewrite"]
    assert active.prompt("formal", TEXT) == tasks.task_prompt("formal", TEXT)
    assert active.stack("continue") is None and active.prompt("continue", TEXT) == tasks.continue_prompt(TEXT)
    assert Style().open(real_lm).stack("rephrase") is None  # off by default
