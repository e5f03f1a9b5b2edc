"""The shipped style encoder: what it was trained for, on data it never saw, and its CLI."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from engine.encoders import E5_SMALL, load
from engine.encoders.style import (
    STYLE_ENCODER,
    style_encoder,
    style_similarity,
    style_vectors,
    unavailable,
    version,
)
from engine.errors import KillahError

BIBLE = json.loads((Path(__file__).with_name("data") / "bible_dev.json").read_text())["windows"]
VERSIONS = ("KJV", "BBE", "WEB", "YLT")


def content_fixed_accuracy(embed) -> float:
    """Share of (anchor, positive, negative) triplets with cos(a, p) > cos(a, n), where p is
    the anchor's version on other verses and n another version on the anchor's verses."""
    vecs = {v: embed([w[v] for w in BIBLE]) for v in VERSIONS}
    hits = []
    for v, u in itertools.permutations(VERSIONS, 2):
        for i in range(len(BIBLE)):
            j = (i + 1) % len(BIBLE)
            hits.append(vecs[v][i] @ vecs[v][j] > vecs[v][i] @ vecs[u][i])
    return float(np.mean(hits))


def test_style_vectors_are_unit_rows_of_the_head_size():
    v = style_vectors(["It was late.", "Было поздно."])
    assert v.shape == (2, style_encoder().dim)
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert len(version()) == 12


def test_style_beats_content_when_content_is_held_fixed():
    """On Bible books it never trained on, the content embedder it starts from nearly always
    pairs the same verses in two versions; the style encoder pairs a version with itself on
    other verses in a sizeable share of the triplets (docs/style-encoder.md: it moves toward
    style, without reaching a majority)."""
    ours = content_fixed_accuracy(style_vectors)
    base = content_fixed_accuracy(lambda t: load(E5_SMALL).encode(t))
    assert base < 0.1, base
    assert ours > base + 0.2, (ours, base)


def test_similarity_cli_prints_json(tmp_path, capsys):
    from desktop.cli import main

    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text(BIBLE[0]["KJV"], encoding="utf-8")
    b.write_text(BIBLE[1]["KJV"], encoding="utf-8")
    assert main(["style", "similarity", str(a), str(b), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"similarity"}
    assert out["similarity"] == pytest.approx(style_similarity(BIBLE[0]["KJV"], BIBLE[1]["KJV"]),
                                              abs=1e-5)
    assert main(["style", "similarity", str(a), str(tmp_path / "missing.txt")]) != 0
    assert "missing.txt" in capsys.readouterr().err


def test_stel_cli_scores_a_task_file(tmp_path, capsys):
    from desktop.cli import main
    from engine.encoders import stel

    tasks = stel.load_tasks()[::35]  # 20 tasks, every style type
    path = tmp_path / "tasks.jsonl"
    path.write_text("".join(json.dumps(t) + "\n" for t in tasks), encoding="utf-8")
    assert main(["style", "stel", "--tasks", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n"] == 20 and 0.0 <= out["stel"] <= 1.0 and 0.0 <= out["stel_or_content"] <= 1.0
    assert sum(v["n"] for v in out["by_type"].values()) == 20


def test_empty_text_is_refused():
    with pytest.raises(KillahError, match="non-empty"):
        style_similarity("  ", "text")


def test_the_shipped_encoder_is_installed_and_a_broken_one_is_named_in_one_line(tmp_path):
    meta = json.loads((STYLE_ENCODER / "encoder.json").read_text())["meta"]
    assert meta["steps"] > 0 and "stand-in" not in meta  # trained weights, not a placeholder
    if meta.get("product") is False:  # shipped for `killah style`, kept out of the meters
        assert unavailable() == f"style encoder not used: {meta['product_note']}"
    else:
        assert unavailable() is None
    assert unavailable(tmp_path).startswith("style encoder missing: ")
    (tmp_path / "encoder.json").write_text("{not json", encoding="utf-8")
    assert "unreadable" in unavailable(tmp_path)
    (tmp_path / "encoder.json").write_text(json.dumps({"format": "other"}), encoding="utf-8")
    assert "not a" in unavailable(tmp_path)
    (tmp_path / "encoder.json").write_text((STYLE_ENCODER / "encoder.json").read_text())
    assert "weights.safetensors" in unavailable(tmp_path) and "\n" not in unavailable(tmp_path)


def test_the_second_judge_scores_passages_with_the_shipped_encoder():
    """killah eval style's style-encoder column: author centroids of style vectors (the real
    weights), one 0/1 per passage; the metric is there exactly when a judge is given."""
    from training.evaluation.metrics import passage_metrics
    from training.evaluation.style_judge import fit_style_judge

    ref = Path(__file__).resolve().parents[2] / "resources" / "reference" / "en"

    def paragraphs(author: str, n: int) -> list[str]:
        text = sorted((ref / author).glob("*.txt"))[0].read_text(encoding="utf-8")
        blocks = [" ".join(b.split()) for b in text.split("\n\n")]
        return [b for b in blocks if 40 <= len(b.split()) <= 150][:n]

    train = {a: paragraphs(a, 6) for a in ("austen", "melville", "poe")}
    judge = fit_style_judge(train)
    np.testing.assert_allclose(np.linalg.norm(judge.centroids, axis=1), 1.0, atol=1e-5)
    texts = paragraphs("austen", 9)[6:]
    out = passage_metrics(texts, style_judge=judge, target="austen")
    assert out["style_attribution_top1"].shape == (3,)
    assert set(out["style_attribution_top1"].tolist()) <= {0.0, 1.0}
    assert "style_attribution_top1" not in passage_metrics(texts, target="austen")
