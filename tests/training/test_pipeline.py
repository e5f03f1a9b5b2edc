"""Neutralize checkpointing, the position split, augmentation, registration and `killah train all`."""

from __future__ import annotations

import json
import re
from pathlib import Path

import mlx.core as mx
import pytest

from engine.perturb import PerturbationSettings, noise, perturb_input
from tests.training.conftest import read_jsonl
from training import curate, dataset, neutralize


@pytest.fixture
def corpus(tmp_path, short_work) -> Path:
    curate.run(curate.CurateConfig(files=[str(short_work)], author="Jane Austen", out=str(tmp_path / "corpus.txt")))
    return tmp_path / "corpus.txt"


def _sentences(text: str) -> set[str]:
    return {s.strip() for s in re.split(r"(?<=[.!?])\s+", text) if len(s.split()) >= 6}


def test_no_text_is_in_both_train_and_valid_or_test(small_dataset):
    chunks = read_jsonl(small_dataset / "chunks.jsonl")
    by_split = {p: [c for c in chunks if c["split"] == p] for p in ("train", "valid", "test")}
    assert all(by_split.values())
    train_sents = set().union(*(_sentences(c["text"]) for c in by_split["train"]))
    for held in ("valid", "test"):
        for c in by_split[held]:
            assert not (_sentences(c["text"]) & train_sents), f"{held} chunk {c['id']} shares text with train"
    # held-out chunks come from the end of the book, by position
    last_train = max((c["section"], c["chunk"]) for c in by_split["train"])
    assert all((c["section"], c["chunk"]) > last_train for c in by_split["valid"] + by_split["test"])
    rows = read_jsonl(small_dataset / "train.jsonl")
    assert rows[0]["text"].startswith("Write a ") and "emulating the style and voice of Jane Austen" in rows[0]["text"]


def test_neutralize_resumes_after_a_torn_write(corpus, tmp_path):
    cfg = neutralize.NeutralizeConfig(corpus=str(corpus), min_words=60, max_words=120, limit_chunks=12)
    full = neutralize.run(cfg)
    out = Path(full["out"])
    lines = out.read_text("utf-8").splitlines(keepends=True)
    assert len(lines) == 13 and json.loads(lines[0])["format"] == neutralize.FORMAT
    # as if killed while writing record 6: five whole records and half a line
    out.write_text("".join(lines[:6]) + lines[6][: len(lines[6]) // 2], "utf-8")
    again = neutralize.run(cfg)
    assert again["resumed"] == 5 and again["described"] == 12 and again["status"] == "done"
    assert sorted(read_jsonl(out)[1:], key=lambda r: r["id"]) == sorted(
        [json.loads(x) for x in lines[1:]], key=lambda r: r["id"])
    assert all(r["valid"] for r in read_jsonl(out)[1:])


def test_augmented_variants_go_to_train_only_and_perturbation_is_recorded(small_dataset, tmp_path):
    neutralized = small_dataset.parent / "neutralized.jsonl"
    plain = dataset.run(dataset.DatasetConfig(neutralized=str(neutralized), out=str(tmp_path / "plain"),
                                              valid_share=0.1, test_share=0.1))
    aug = dataset.run(dataset.DatasetConfig(neutralized=str(neutralized), out=str(tmp_path / "aug"),
                                            valid_share=0.1, test_share=0.1, perturb=0.08, info_dropout=True,
                                            abstract=True, perspective=True, topic_swap=True))
    assert aug["valid"] == plain["valid"] and aug["test"] == plain["test"]
    assert aug["train"] > 2 * plain["train"]
    assert aug["variants"]["perspective_plural"] > 0  # Lady Susan is told in letters, in the first person
    assert aug["perturbation"] == {"input_noise": 0.08, "seed": 0}
    valid_plain = read_jsonl(tmp_path / "plain" / "valid.jsonl")
    valid_aug = read_jsonl(tmp_path / "aug" / "valid.jsonl")
    assert valid_plain != valid_aug  # the same noise is applied to validation inputs too


def test_input_noise_touches_about_its_rate_and_is_deterministic(short_work):
    text = " ".join(short_work.read_text("utf-8").split()[:3000])
    noisy = noise(text, 0.08, seed=1)
    assert noisy == noise(text, 0.08, seed=1) and noisy != noise(text, 0.08, seed=2)
    import difflib

    a, b = text.split(), noisy.split()
    changed = 1 - difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()
    assert 0.03 < changed < 0.15
    assert perturb_input(text, PerturbationSettings()) == text


def test_train_all_registers_an_adapter_that_plain_mlx_lm_loads(tiny_model_dir, short_work, tmp_path, capsys):
    from mlx_lm.utils import load

    from engine import paths
    from training.cli import main

    argv = ["all", "--author", "Jane Austen", str(short_work), "--model", str(tiny_model_dir),
            "--out", str(tmp_path / "work"), "--limit-chunks", "10", "--iters", "2", "--no-harness", "--json"]
    assert main(argv) == 0
    result = json.loads(capsys.readouterr().out)
    adapter = Path(result["adapter"])
    assert adapter.parent == paths.adapters_dir()
    assert {p.name for p in adapter.iterdir()} == {"adapters.safetensors", "adapter_config.json", "metadata.json"}
    meta = json.loads((adapter / "metadata.json").read_text())
    assert meta["author"] == "Jane Austen" and meta["base_model"]["hash"]
    assert meta["training"]["steps"] == 2 and meta["evaluation"]["loss"]["valid"]["adapter"]["loss"] > 0
    assert meta["corpus"]["words_out"] > 10_000
    adapted, tokenizer = load(str(tiny_model_dir), adapter_path=str(adapter))
    base, _ = load(str(tiny_model_dir))
    ids = mx.array([tokenizer.encode("It was a fine morning")])
    assert not mx.allclose(adapted(ids), base(ids), atol=1e-4).item()  # the trained LoRA is loaded and acts

    # re-running resumes: nothing is redone, the same adapter comes back
    progress = tmp_path / "work" / "fit" / "progress.jsonl"
    before = progress.read_text()
    assert main(argv) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["adapter"] == result["adapter"] and progress.read_text() == before
