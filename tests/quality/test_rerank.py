"""Reranking, preference pairs and `killah score`: plumbing on the tiny model, behaviour on the real one."""

from __future__ import annotations

import json

import numpy as np
import pytest

from engine.quality.cli import main as score_main
from engine.quality.cli import paragraphs
from engine.quality.preferences import write_preference_pairs
from engine.quality.rerank import MIN_P_LADDER, candidate_options, rerank

PROSE = (
    "The bus came late. Mara counted the coins in her palm twice, then paid the driver with the "
    "exact fare and sat by the window.\n\n"
    "She took a deep breath, her voice barely above a whisper. A testament to the rich tapestry "
    "of their bond, the moment sent shivers down her spine."
)


def test_candidate_options_vary_min_p():
    from engine.generate import SamplingOptions

    opts = candidate_options(SamplingOptions(temperature=0.7, max_tokens=12), 4)
    assert [o.min_p for o in opts] == [MIN_P_LADDER[0], MIN_P_LADDER[1], MIN_P_LADDER[2], MIN_P_LADDER[0]]
    assert all(o.temperature == 0.7 and o.max_tokens == 12 for o in opts)


def test_rerank_plumbing_on_tiny_model(tiny_lm):
    from engine.generate import SamplingOptions

    ranked = rerank(tiny_lm, "Once upon a time", n=4, options=SamplingOptions(max_tokens=40, seed=1))
    assert len(ranked) == 4
    assert sorted(r.index for r in ranked) == [0, 1, 2, 3]
    scores = [r.score for r in ranked]
    assert scores == sorted(scores, reverse=True)
    for r in ranked:
        assert r.completion.options.min_p == MIN_P_LADDER[r.index % len(MIN_P_LADDER)]
        if r.text:
            assert 0.0 <= r.score <= 10.0
            assert set(r.to_dict()["components"]) >= {"quality", "fluency", "stock_phrases"}
    with_lp = [r for r in ranked if r.text and len(r.completion.logprobs) >= 32]
    assert all(r.quality.components["perplexity_variation"] is not None for r in with_lp)


def test_preference_pairs_jsonl(tiny_lm, tmp_path):
    from engine.generate import SamplingOptions

    out = tmp_path / "prefs.jsonl"
    count = write_preference_pairs(
        out, tiny_lm, ["The river", "At dawn"], n=3, min_gap=0.0, options=SamplingOptions(max_tokens=24, seed=2)
    )
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == count
    for row in rows:
        assert set(row) == {"prompt", "chosen", "rejected", "score_gap", "chosen_score", "rejected_score"}
        assert row["score_gap"] > 0
        assert row["chosen_score"] - row["rejected_score"] == pytest.approx(row["score_gap"], abs=1e-3)
    nothing = write_preference_pairs(out, tiny_lm, ["The river"], n=2, min_gap=11.0,
                                     options=SamplingOptions(max_tokens=8, seed=2))
    assert nothing == 0 and out.read_text() == ""


def test_paragraphs():
    assert paragraphs("a\nb\n\n\n  c  \n") == ["a b", "c"]


def test_score_cli_json(tmp_path, capsys):
    path = tmp_path / "text.txt"
    path.write_text(PROSE, encoding="utf-8")
    assert score_main([str(path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert len(data["paragraphs"]) == 2
    first, second = data["paragraphs"]
    assert first["score"] > second["score"]  # the slop paragraph scores lower
    assert 0 <= data["whole"]["score"] <= 10
    words = [len(p["text"].split()) for p in data["paragraphs"]]
    mean = (first["score"] * words[0] + second["score"] * words[1]) / sum(words)
    assert data["whole"]["score"] == pytest.approx(mean, abs=0.01)
    assert any(r.startswith("stock phrases") for r in second["reasons"])


def test_score_cli_human_and_errors(tmp_path, capsys, monkeypatch):
    import io

    from engine.errors import KillahError

    monkeypatch.setattr("sys.stdin", io.StringIO("Plain words, set down one after another."))
    assert score_main(["-"]) == 0
    out = capsys.readouterr().out
    assert "/10" in out and "fluency" in out
    with pytest.raises(KillahError, match="no such file"):
        score_main([str(tmp_path / "missing.txt")])
    empty = tmp_path / "empty.txt"
    empty.write_text("  \n\n ")
    with pytest.raises(KillahError, match="nothing to score"):
        score_main([str(empty)])


REAL_PROMPTS = (
    "The lighthouse keeper had not spoken to anyone in three weeks. On the morning the supply boat came,",
    "My grandmother kept a drawer of things she said she would fix one day:",
    "The train stopped in the middle of the steppe, and for a long while nobody got off.",
)


@pytest.mark.real_model
def test_top_candidate_scores_at_least_the_mean_on_the_real_model(real_lm):
    from engine.generate import SamplingOptions

    """Re-scored independently from the texts and log-probs, the first-ranked candidate is >= the mean.

    (With the ranking's own scores this holds by construction; re-scoring checks that each
    score belongs to its text.)"""
    from engine.quality.composite import score_texts

    for i, prompt in enumerate(REAL_PROMPTS):
        ranked = rerank(real_lm, prompt, n=4, options=SamplingOptions(max_tokens=60, seed=10 + i))
        ranked = [r for r in ranked if r.text]
        assert ranked
        rescored = score_texts([r.text for r in ranked], logprobs=[r.completion.logprobs for r in ranked])
        assert [q.score for q in rescored] == pytest.approx([r.score for r in ranked], abs=1e-6)
        assert rescored[0].score >= np.mean([q.score for q in rescored])
