"""STEL / STEL-or-Content decisions, the AV metrics and the style judge, on embeddings whose
answers are known from first principles."""

from __future__ import annotations

import numpy as np
import pytest

from engine.encoders import stel
from engine.errors import KillahError
from training.evaluation.style_judge import fit_style_judge
from training.style_eval import auc

TASK = {"anchor1": "it's late", "anchor2": "it is late", "alternative1": "we will go",
        "alternative2": "we'll go", "correct_alternative": 2, "style_type": "contraction"}


def contraction_embed(texts):
    """Style only: 1 on the first axis for contracted text, plus a tiny content hash."""
    out = np.array([[1.0 if "'" in t else 0.0, 0.0 if "'" in t else 1.0,
                     0.01 * (hash(t.split()[-1]) % 7)] for t in texts])
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def content_embed(texts):
    """Content only: the last word decides the vector."""
    out = np.array([[1.0, 0.0] if t.endswith("late") else [0.0, 1.0] for t in texts])
    return out


def test_a_style_embedding_wins_stel_and_stel_or_content():
    credit, soc = stel.decisions([TASK], contraction_embed)
    assert credit.tolist() == [1.0] and soc.tolist() == [1.0]


def test_a_content_embedding_ties_stel_and_fails_stel_or_content():
    credit, soc = stel.decisions([TASK], content_embed)
    assert credit.tolist() == [0.5]  # both orders equally good: half a point
    assert soc.tolist() == [0.0]  # it prefers the paraphrase


def test_the_shipped_stel_tasks_load_and_bad_files_are_named(tmp_path):
    tasks = stel.load_tasks()
    assert len(tasks) == 700 and {t["correct_alternative"] for t in tasks} == {1, 2}
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"anchor1": "x"}\n')
    with pytest.raises(KillahError, match="bad.jsonl: rows \\[0\\] lack"):
        stel.load_tasks(bad)


def test_auc_counts_ties_as_half():
    assert auc(np.array([0.9, 0.8, 0.1]), np.array([1, 1, 0])) == 1.0
    assert auc(np.array([0.5, 0.5]), np.array([1, 0])) == 0.5
    assert auc(np.array([0.1, 0.9]), np.array([1, 0])) == 0.0


def test_style_judge_attributes_to_the_nearest_centroid():
    judge = fit_style_judge({"a": ["it's late", "we'll go"], "b": ["it is late", "we will go"]},
                            embed=contraction_embed)
    top1, prob = judge.attribution(["they're here", "they are here"], "a")
    assert top1.tolist() == [1.0, 0.0]
    assert prob[0] > 0.99 and prob[1] < 0.01
    with pytest.raises(KillahError, match="not among"):
        judge.attribution(["x"], "c")
