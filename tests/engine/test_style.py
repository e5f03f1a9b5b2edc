"""The frozen Style value: its strength mapping, its checks, and what it opens into for a model."""

from __future__ import annotations

import argparse
import json

import mlx.core as mx
import pytest

from engine import paths, tasks
from engine.adapters import AdapterStack, load_adapter
from engine.errors import KillahError
from engine.persona.steering import DEFAULT_STRENGTH as MEASURED_STEERING
from engine.perturb import perturb_input
from engine.style import (
    DEFAULT_STRENGTH,
    ActiveStyle,
    AdapterSpec,
    Style,
    add_style_options,
    list_adapters,
    persona_strength,
    steering_strength,
    style_from_args,
)
from tests.training.test_adapters import logits, make_adapter

TEXT = "Each evening he climbed the hundred and twelve steps and watched the grey water for ships."
NOISE = {"input_noise": 0.08, "seed": 3}  # what make_adapter writes into metadata.json


@pytest.fixture
def adapters(tiny_lm, tmp_path):
    """A style adapter (author and perturbation in its metadata) and a task adapter for rephrase."""
    style = make_adapter(tiny_lm, tmp_path / "austen", 1, ["self_attn.q_proj", "mlp.down_proj"])
    task = make_adapter(tiny_lm, tmp_path / "rephrase", 2, ["self_attn.v_proj"], rank=2, scale=5.0)
    return style, task


def test_user_strength_is_linear_with_the_default_at_the_measured_steering_strength():
    assert steering_strength(0) == 0
    assert steering_strength(DEFAULT_STRENGTH) == MEASURED_STEERING
    assert steering_strength(1) == 4 * MEASURED_STEERING
    assert steering_strength(0.5) == 2 * steering_strength(0.25)
    for s in (0.0, 0.1, 0.25, 0.8, 1.0):
        assert persona_strength(steering_strength(s)) == pytest.approx(s)
    assert Style(persona="me", strength=0.5).steering == steering_strength(0.5)
    assert Style(strength=0.5).steering == 0  # no persona, nothing to steer with


@pytest.mark.parametrize("kwargs, message", [
    ({"strength": 1.5}, "persona strength must be in [0, 1]"),
    ({"exemplars": 9}, "exemplars must be in [0, 8]"),
    ({"neutral": "mine"}, "neutral must be one of"),
    ({"adapters": (AdapterSpec("/a/x", tasks=("rephrase",)),
                   AdapterSpec("/a/y", tasks=("rephrase",)))},
     "two task adapters for rephrase: x, y"),
])
def test_a_bad_style_is_refused_naming_the_field(kwargs, message):
    with pytest.raises(ValueError) as err:
        Style(**kwargs)
    assert message in str(err.value)


def test_adapter_spec_names_the_adapter_in_its_errors():
    with pytest.raises(ValueError, match="adapter austen: strength must be in"):
        AdapterSpec("/a/austen", strength=3)
    with pytest.raises(ValueError, match="adapter austen: unknown mode"):
        AdapterSpec("/a/austen", tasks=("summarize",))


def test_style_round_trips_and_reads_settings_written_before_it(tmp_path):
    style = Style(persona="me", strength=0.4, exemplars=2, layers=(5,),
                  adapters=(AdapterSpec(str(tmp_path / "a"), 0.5),
                            AdapterSpec("/b", tasks=("formal",))))
    assert Style.from_dict(style.to_dict()) == style
    old = AdapterSpec.from_dict({"name": "austen", "scale": 0.7})  # settings.json before Style
    assert old.path == str(paths.adapters_dir() / "austen") and old.strength == 0.7
    assert not old.is_task


def test_the_task_adapter_sits_over_the_style_adapter_only_in_its_modes(tiny_lm, adapters):
    style_dir, task_dir = adapters
    style = Style(adapters=(AdapterSpec(str(task_dir), 0.5, ("rephrase",)),
                            AdapterSpec(str(style_dir), 1.5)))
    # the style adapter under the task adapter, whatever order they were given in
    assert [a.name for a in style.adapters_for("rephrase")] == ["austen", "rephrase"]
    assert [a.name for a in style.adapters_for("continue")] == ["austen"]
    active = style.open(tiny_lm)
    rephrase, cont = active.stack("rephrase"), active.stack("continue")
    s, t = load_adapter(style_dir), load_adapter(task_dir)
    assert [(e.adapter.path, e.scale) for e in rephrase.entries] == [
        (s.path, s.lora_scale * 1.5), (t.path, t.lora_scale * 0.5)]  # strength x the trained scale
    assert [e.adapter.path for e in cont.entries] == [s.path]
    # the transforms the style gives change the model exactly as the hand-built stack does
    expected = AdapterStack.for_model(tiny_lm, [(s, s.lora_scale * 1.5), (t, t.lora_scale * 0.5)])
    outs = []
    for transform in (active.transforms("rephrase")[0], expected):
        undo = transform.apply(tiny_lm.model)
        outs.append(logits(tiny_lm.model))
        undo()
    assert mx.array_equal(outs[0], outs[1]).item()
    assert active.transforms("story") == (cont,)


def test_like_me_runs_the_style_adapter_on_its_training_frame_and_perturbation(tiny_lm, adapters):
    """The app applies the perturbation the adapter was trained with (metadata.json)."""
    style_dir, task_dir = adapters
    active = Style(adapters=(AdapterSpec(str(style_dir)),
                             AdapterSpec(str(task_dir), tasks=("rephrase",)))).open(tiny_lm)
    settings = active.prompt_settings("like_me")
    assert settings.author == "Test Author" and settings.perturbation.input_noise == 0.08
    noisy = perturb_input(TEXT, NOISE)
    assert noisy != TEXT  # the noise does something to this sentence
    like_me = active.prompt("like_me", TEXT)
    assert like_me.text == load_adapter(style_dir).restyle_prompt(TEXT, len(TEXT.split())).text
    assert "emulating the style and voice of Test Author" in like_me.text and noisy in like_me.text
    formal = active.prompt("formal", TEXT)
    assert noisy in formal.text
    assert "(Rewrite the passage above in a more formal register.)" in formal.text
    assert TEXT in active.prompt("rephrase", TEXT).text  # not a restyle frame: the text as written
    assert active.offers("like_me")


def test_without_a_style_adapter_prompts_are_the_plain_task_prompts(tiny_lm, adapters):
    _, task_dir = adapters
    plain = ActiveStyle(Style())
    task_only = Style(adapters=(AdapterSpec(str(task_dir), tasks=("rephrase",)),)).open(tiny_lm)
    for active in (plain, task_only):
        assert active.prompt_settings("formal") == tasks.PromptSettings()
        for mode in tasks.MODES:
            assert active.prompt(mode, TEXT) == tasks.build(mode, TEXT)
        assert not active.offers("like_me")  # no persona, no style adapter: no voice to write in
    assert plain.transforms("continue") == () and plain.exemplars(TEXT) == ()
    assert Style().open().style == Style()  # a plain style needs no model


def test_a_persona_or_adapter_without_a_model_is_one_clear_error(adapters):
    with pytest.raises(KillahError, match="need the model"):
        Style(adapters=(AdapterSpec(str(adapters[0])),)).open(None)


def test_command_line_options_build_the_style(tiny_lm, adapters, tmp_path):
    style_dir, task_dir = adapters
    installed = paths.adapters_dir() / "austen"
    installed.parent.mkdir(parents=True, exist_ok=True)
    style_dir.rename(installed)
    parser = argparse.ArgumentParser()
    add_style_options(parser)
    args = parser.parse_args(["--persona", "me", "--strength", "0.5", "--adapter", "austen:0.8",
                              "--task-adapter", f"rephrase,formal={task_dir}"])
    style = style_from_args(args)
    assert style.persona == "me" and style.strength == 0.5 and style.exemplars == 3
    assert [(a.path, a.strength, a.tasks) for a in style.adapters] == [
        (str(installed), 0.8, ()), (str(task_dir), 1.0, ("rephrase", "formal"))]
    with pytest.raises(KillahError, match="adapter 'nobody': no such folder"):
        style_from_args(parser.parse_args(["--adapter", "nobody"]))
    with pytest.raises(KillahError, match="persona strength must be in"):
        style_from_args(parser.parse_args(["--strength", "2"]))
    listed = list_adapters()
    assert [(a.name, a.author, a.tasks) for a in listed] == [("austen", "Test Author", ())]


@pytest.fixture
def persona_store(tmp_path):
    """A persona over 24 paragraphs of the shipped reference prose, indexed for real."""
    from engine.index import IndexStore, sync
    from engine.persona import create_persona, reference_paragraphs

    paragraphs = [p for p in reference_paragraphs("en") if len(p.split()) > 40]
    folder = tmp_path / "writing"
    folder.mkdir()
    (folder / "mine.txt").write_text("\n\n".join(paragraphs[:24]), encoding="utf-8")
    with IndexStore(tmp_path / "index.sqlite") as store:
        create_persona(store, "me", [folder])
        sync(store)
        yield store


def test_a_persona_style_steers_at_the_mapped_strength_and_gives_exemplars(tiny_lm, persona_store):
    active = Style(persona="me", strength=0.5, exemplars=2).open(tiny_lm, store=persona_store)
    (steer,) = active.transforms("continue")
    assert steer.strength == steering_strength(0.5) == 2 * MEASURED_STEERING
    context = "My dear brother, I can no longer refuse myself the pleasure of your invitation."
    cont = active.prompt("continue", context)
    assert cont.text.startswith(tasks.EXEMPLAR_HEADER) and cont.text.endswith(context)
    assert len(active.exemplars(context)) == 2
    assert tasks.EXEMPLAR_HEADER not in active.prompt("rephrase", context).text  # rewrites: none
    assert tasks.EXEMPLAR_HEADER in active.prompt("like_me", context).text
    assert active.offers("like_me") and active.quality_profile.name == "me"
    assert 0.0 <= active.style_similarity(context) <= 1.0
    off = Style(persona="me", strength=0.0, exemplars=0).open(tiny_lm, store=persona_store)
    assert off.transforms("continue") == () and off.exemplars(context) == ()


def test_rephrase_command_writes_like_me_through_a_style_adapter(tiny_model_dir, adapters):
    from tests.engine.test_cli import run

    common = ["rephrase", TEXT, "-n", "2", "--model", str(tiny_model_dir), "--seed", "1", "--json"]
    proc = run([*common, "--mode", "like_me"])
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1] == (
        "killah rephrase: error: --mode like_me needs --persona (with --exemplars > 0) "
        "or a style --adapter")
    proc = run([*common, "--mode", "like_me", "--adapter", f"{adapters[0]}:0.5",
                "--max-tokens", "4"])
    assert proc.returncode == 0, proc.stderr
    assert len(json.loads(proc.stdout)["candidates"]) == 2
