"""The rewrite task adapter's data (pairs, build) and its DPO stage, on small data and the tiny model."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from engine import tasks
from training.tasks import build as rbuild
from training.tasks.pairs import archaic, bible_candidates, label

VERSES = [
    {"ref": "Ruth 1:1", "KJV": "And it came to pass in the days when the judges ruled, that there was a famine.",
     "WEB": "In the days when the judges judged, there was a famine in the land.",
     "BBE": "Now in the days when the judges were ruling, there was no food in the land.",
     "ASV": "And it came to pass in the days when the judges judged, that there was a famine in the land.",
     "DARBY": "And it came to pass in the days when the judges judged, that there was a famine in the land."},
    {"ref": "Jonah 1:3", "WEB": "But Jonah rose up to flee to Tarshish from the presence of Yahweh.",
     "BBE": "But Jonah got up to go in flight to Tarshish, away from the face of the Lord.",
     "ASV": "But Jonah rose up to flee unto Tarshish from the presence of Jehovah.",
     "DARBY": "And Jonah rose up to flee to Tarshish from the presence of Jehovah."},
]


def test_label_follows_length_then_register():
    assert label("one two three four five six seven eight", "one two three four five") == "shorter"
    assert label("one two three four", "one two three four five six") == "longer"
    assert label("We got the stuff, it's cool.", "We have therefore received the items.") == "formal"
    assert label("We have therefore received the items.", "We got the stuff, it's cool.") == "casual"
    assert label("The cat sat on the mat.", "On the mat sat the cat.") == "rephrase"


def test_archaic_forms_are_recognised_but_ordinary_words_are_not():
    assert archaic("And he saith unto them") and archaic("Thou art the man")
    assert not archaic("The priest sat in the west of the forest at least once")


def test_bible_pairs_skip_archaic_versions(tmp_path):
    path = tmp_path / "bible.jsonl"
    path.write_text("".join(json.dumps(v) + "\n" for v in VERSES), encoding="utf-8")
    pairs = list(bible_candidates(path))
    assert pairs and all(not archaic(p.source) and not archaic(p.target) for p in pairs)
    assert not [p for p in pairs if "unto" in p.source + p.target]  # Jonah 1:3 in the ASV
    jonah = {p.origin.removeprefix("bible:").split(">")[0] for p in pairs if "Jonah" in p.source}
    assert jonah == {"WEB", "BBE", "DARBY"}
    assert all(p.source != p.target for p in pairs)


def test_build_writes_task_frame_records_without_split_overlap(tmp_path):
    data = tmp_path / "data"
    (data / "style_bench/bible_parallel").mkdir(parents=True)
    (data / "quality_pairs").mkdir(parents=True)
    (data / rbuild.BIBLE).write_text("".join(json.dumps(v) + "\n" for v in VERSES), encoding="utf-8")
    lamp = {"rejected": "Mira giggled, causing the flamingo to startle and knock over a towering stack of pies. "
                        "The sun set slowly over the quiet harbour town that evening.",
            "chosen": "Mira giggled, and the startled flamingo knocked over a stack of pies. "
                      "The sun set slowly over the quiet harbour town."}
    (data / rbuild.LAMP).write_text(json.dumps(lamp) + "\n", encoding="utf-8")
    selfgen = tmp_path / "selfgen.jsonl"
    selfgen.write_text(json.dumps({"mode": "rephrase", "source": "Я живу здесь двадцать лет.",
                                   "target": "Двадцать лет я живу здесь.", "lang": "ru"}, ensure_ascii=False) + "\n")
    out = tmp_path / "out"
    manifest = rbuild.build(data, out, [selfgen])
    text = lambda r: r["prompt"] + r["completion"]
    train = [text(json.loads(x)) for x in (out / "train.jsonl").read_text("utf-8").splitlines()]
    valid = [text(json.loads(x)) for x in (out / "valid.jsonl").read_text("utf-8").splitlines()]
    assert manifest["train"] == len(train) and manifest["valid"] == len(valid) and train
    assert all(t.startswith("Task: ") and "\nRewritten: " in t and t.endswith("\n") for t in train + valid)
    source = lambda t: t.split("\nOriginal: ")[1].split("\nRewritten:")[0]
    assert not {source(t) for t in train} & {source(t) for t in valid}
    assert set(manifest["licences"]) <= {"bible", "lamp", "selfgen"} and "selfgen" in manifest["licences"]


def test_dpo_loss_is_log2_at_zero_margin_and_falls_with_it():
    import mlx.core as mx

    from training.tasks.dpo import dpo_loss

    zero = mx.array([0.0])
    loss, acc, _ = dpo_loss(zero, zero, zero, zero, beta=0.1)
    assert float(acc.item()) == 0.0
    assert float(loss.item()) == pytest.approx(math.log(2))
    better, _, _ = dpo_loss(mx.array([5.0]), zero, zero, zero, beta=0.1)
    assert float(better.item()) < math.log(2)


def _tiny_adapter(tiny_model_dir: Path, out: Path) -> Path:
    import mlx.core as mx
    from mlx.utils import tree_flatten
    from mlx_lm.tuner.utils import linear_to_lora_layers, remove_lora_layers

    from engine.models import load_model

    lm = load_model(str(tiny_model_dir))
    params = {"rank": 4, "scale": 10.0, "dropout": 0.0, "keys": ["self_attn.q_proj", "self_attn.v_proj"]}
    lm.model.freeze()
    linear_to_lora_layers(lm.model, len(lm.model.layers), params)
    out.mkdir(parents=True)
    mx.save_safetensors(str(out / "adapters.safetensors"), dict(tree_flatten(lm.model.trainable_parameters())))
    (out / "adapter_config.json").write_text(json.dumps(
        {"fine_tune_type": "lora", "num_layers": -1, "lora_parameters": params}), encoding="utf-8")
    remove_lora_layers(lm.model)
    return out


def test_dpo_raises_the_chosen_over_the_rejected_on_the_tiny_model(tiny_model_dir, tmp_path):
    from training.tasks import dpo

    adapter = _tiny_adapter(tiny_model_dir, tmp_path / "sft")
    pairs = tmp_path / "prefs.jsonl"
    rows = [{"prompt": tasks.task_prompt("rephrase", "The quick brown fox jumps.").text,
             "chosen": " A quick brown fox leaps.\n", "rejected": " 1000 and twelve 1250 steps.\n"}] * 4
    pairs.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    args = dpo.build_parser().parse_args([
        "--pairs", str(pairs), "--adapter", str(adapter), "--run-dir", str(tmp_path / "run"),
        "--model", str(tiny_model_dir), "--beta", "0.5", "--learning-rate", "1e-2", "--batch-size", "2",
        "--iters", "6", "--save-every", "3", "--valid-share", "0", "--sft-weight", "0"])
    events = []
    summary = dpo.run(args, progress=events.append)
    assert summary["status"] == "done" and summary["step"] == 6
    assert summary["last"][-1]["loss"] < summary["first"][0]["loss"]
    assert summary["last"][-1]["reward_margin"] > 0
    assert (tmp_path / "run" / "adapters.safetensors").is_file()
    steps = [e for e in events if e.stage == "dpo" and e.info.get("event") == "train"]
    assert [e.done for e in steps] == list(range(1, 7)) and all(e.total == 6 for e in steps)


def test_dpo_cancels_with_a_checkpoint_resumes_and_stops_early_on_held_out_pairs(tiny_model_dir, tmp_path):
    from engine.progress import Cancelled, CancelToken
    from training.tasks import dpo

    adapter = _tiny_adapter(tiny_model_dir, tmp_path / "sft")
    pairs = tmp_path / "prefs.jsonl"
    rows = [{"prompt": tasks.task_prompt("rephrase", f"Sentence number {i} is here.").text,
             "source": f"Sentence number {i} is here.",
             "chosen": f" Here is sentence number {i}.\n", "rejected": " 1000 and twelve 1250 steps.\n"}
            for i in range(8)]
    pairs.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    argv = ["--pairs", str(pairs), "--adapter", str(adapter), "--run-dir", str(tmp_path / "run"),
            "--model", str(tiny_model_dir), "--learning-rate", "1e-2", "--batch-size", "2", "--iters", "40",
            "--valid-share", "0.25", "--eval-every", "2", "--patience", "2", "--save-every", "100"]
    token = CancelToken()

    def stop_at_3(event):
        if event.info.get("event") == "train" and event.done == 3:
            token.cancel()

    with pytest.raises(Cancelled, match="resume"):
        dpo.run(dpo.build_parser().parse_args(argv), progress=stop_at_3, cancel=token)
    assert (tmp_path / "run" / "checkpoint.safetensors").is_file()
    summary = dpo.run(dpo.build_parser().parse_args(argv))
    assert summary["resumed_from"] == 3 and summary["valid_pairs"] == 2 and summary["train_pairs"] == 6
    vals = [json.loads(x) for x in (tmp_path / "run" / "progress.jsonl").read_text().splitlines()]
    vals = [v for v in vals if v["event"] == "val"]
    assert vals[0]["step"] == 0 and summary["best"]["loss"] == min(v["loss"] for v in vals)
    if summary["status"] == "stopped early":  # two evaluations in a row without a better loss
        assert summary["step"] < 40 and [v["loss"] for v in vals][-3] <= min(v["loss"] for v in vals[-2:])


def test_preference_pairs_the_best_and_the_worst_candidate():
    from types import SimpleNamespace as NS

    from training.tasks.selfgen import preference

    def cand(text, ok, reasons, score):
        return NS(text=text, faithful=ok, faithfulness=NS(reasons=tuple(reasons)), score=score)

    good, bad = cand("good", True, [], 8.0), cand("bad", False, ["loses the number 112"], 9.5)
    worse = cand("worse", False, ["loses the number 112", "adds the name Paris", "drops a negation"], 9.9)
    assert preference([bad, good], 0.5) == (good, bad)  # faithful beats a higher WQRM score
    assert preference([bad, worse], 0.5) == (bad, worse)  # two fewer failed checks
    assert preference([bad, cand("b2", False, ["adds a negation"], 7.0)], 0.5) is None
    assert preference([good, cand("g2", True, [], 7.8)], 0.5) is None  # too close to prefer
    assert preference([good], 0.5) is None


def _completion_records(n: int) -> list[dict]:
    sources = ["The quick brown fox jumps over the lazy dog.", "Maria opened a small bakery in 2019.",
               "He climbed the hundred and twelve steps each evening."]
    return [{"prompt": tasks.task_prompt("rephrase", sources[i % 3] + " " * (i % 2)).text,
             "completion": " " + sources[i % 3].replace("The", "A") + "\n"} for i in range(n)]


def test_completion_loss_scores_only_the_answer_and_matches_mlx_lms_masked_loss(tiny_lm):
    """The sliced output layer gives mlx-lm's masked loss; the prompt's tokens do not count."""
    import mlx.core as mx
    from mlx_lm.tuner.trainer import default_loss, iterate_batches

    from training.completions import CompletionData, completion_loss, with_start

    data = CompletionData(_completion_records(4), tiny_lm)
    tokens, offset = data.process(data[0])
    prompt_ids = tiny_lm.tokenizer.encode(data[0]["prompt"])
    assert tokens[:offset][-len(prompt_ids) + 1:] == prompt_ids[1:]  # the prompt as inference sees it
    assert tiny_lm.tokenizer.decode(tokens[offset:]) == data[0]["completion"]
    processed = [data.process(data[i]) for i in range(len(data))]
    batch, lengths = next(iterate_batches(processed, 4, 256))
    tokens_, lengths_, skip = next(with_start(iter([(batch, lengths)])))
    assert skip.shape[0] == min(o for _, o in processed) - 1 > 0
    real = mx.concatenate([lengths[:, :1], lengths[:, 1:] - 1], axis=1)  # mlx-lm counts one pad
    full, n_full = default_loss(tiny_lm.model, batch, real)
    sliced, n_sliced = completion_loss(tiny_lm.model, tokens_, lengths_, skip)
    answers = sum(len(t) - o for t, o in processed)
    assert int(n_full.item()) == int(n_sliced.item()) == answers
    assert float(sliced.item()) == pytest.approx(float(full.item()), rel=1e-4)


def test_fit_trains_on_prompt_completion_records(tiny_lm, tmp_path):
    from training.fit import FitConfig, run

    data = tmp_path / "data"
    data.mkdir()
    for name, n in (("train", 12), ("valid", 4)):
        (data / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in _completion_records(n)))
    summary = run(FitConfig(data=str(data), run_dir=str(tmp_path / "run"), iters=8, batch_size=4,
                            learning_rate=1e-2, steps_per_report=1, steps_per_eval=4, val_batches=1,
                            max_seq_length=128), lm=tiny_lm)
    assert summary["status"] == "done"
    vals = [v["val_loss"] for v in summary["val_losses"]]
    assert vals[-1] < vals[0]
    # only the answers' tokens were trained on: 4 per step of the shortest answers at least
    answer_tokens = [len(tiny_lm.tokenizer.encode(r["completion"], add_special_tokens=False))
                     for r in _completion_records(12)]
    assert summary["trained_tokens"] <= 8 * 4 * max(answer_tokens)


def test_a_run_finalised_at_its_checkpoint_ships_with_the_losses_of_the_whole_run(tiny_lm, tmp_path):
    """Stopped at step 4 of 8, then finished there (--iters 4): the package keeps the validation
    losses logged before the stop, and serves the languages its data names."""
    import mlx.core as mx

    from engine.progress import CancelToken
    from training.fit import FitConfig, run
    from training.tasks.package import package

    data = tmp_path / "data"
    data.mkdir()
    for name, n in (("train", 12), ("valid", 4)):
        (data / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in _completion_records(n)))
    (data / "manifest.json").write_text(json.dumps({"languages": ["en"], "train": 12,
                                                    "licences": {"lamp": "BSD-3-Clause"}}))
    token = CancelToken()

    def cancel_at_4(p):
        if p.info.get("event") == "train" and p.info.get("step") == 4:
            token.cancel()

    cfg = dict(data=str(data), run_dir=str(tmp_path / "run"), batch_size=4, learning_rate=1e-2,
               steps_per_report=1, steps_per_eval=2, val_batches=1, max_seq_length=128, save_every=100)
    first = run(FitConfig(iters=8, **cfg), lm=tiny_lm, progress=cancel_at_4, cancel=token)
    assert first["status"] == "cancelled" and first["step"] == 4
    done = run(FitConfig(iters=4, **cfg), lm=tiny_lm)
    assert done["status"] == "done" and done["val_losses"] == []  # this invocation trained nothing
    shipped = package(tmp_path / "run", data, name="rw", out=tmp_path / "out", lm=tiny_lm)
    meta = json.loads((shipped / "metadata.json").read_text())
    assert len(meta["training"]["val_losses"]) >= 2 and meta["training"]["val_losses"][0]["step"] == 0
    assert meta["training"]["final_train_loss"] is not None and meta["languages"] == ["en"]
    assert "lamp: BSD-3-Clause" in meta["licence"]  # the data's licences travel with the weights
    weights = mx.load(str(shipped / "adapters.safetensors"))
    assert weights and all(v.dtype == mx.float16 for v in weights.values())
