"""The learned WQRM scorer: the split, deterministic fitting, and held-out accuracy of the shipped weights.

The data is tests/fixtures/lamp: a verbatim sample of the LAMP files in which every pair
keeps the side (train / held out) the full data's split gives it, and every writer edit the
full data holds out is present.
"""

from __future__ import annotations

import numpy as np
import pytest

from engine.quality import data as qdata
from engine.quality.scorer import LEARNED_METRICS, load_scorer
from engine.quality.train import fit_pairwise_logistic, fit_simplex_weights, pairwise_accuracy


@pytest.fixture(scope="module")
def lamp(lamp_dir):
    data = qdata.load_quality_data(lamp_dir)
    return data, qdata.split_by_source(data, seed=0)


def test_split_shares_no_source_paragraph(lamp):
    data, split = lamp
    train = {t for p in split.train_pairs for t in (p.better, p.worse)} | {s.text for s in split.train_scored}
    held = {t for p in split.heldout_pairs for t in (p.better, p.worse)} | {s.text for s in split.heldout_scored}
    assert train and held and not (train & held)
    groups = qdata.source_groups(sorted(train | held))
    assert not ({groups[t] for t in train} & {groups[t] for t in held})
    # about HELDOUT_FRACTION of the groups are held out (over many keys: the sample is not uniform)
    share = np.mean([qdata.is_heldout(f"group {i}", seed=0) for i in range(4000)])
    assert abs(share - qdata.HELDOUT_FRACTION) < 0.03


def test_split_is_deterministic_per_seed(lamp):
    data, split = lamp
    again = qdata.split_by_source(data, seed=0)
    other = qdata.split_by_source(data, seed=1)
    assert again.heldout_pairs == split.heldout_pairs
    assert other.heldout_pairs != split.heldout_pairs


def test_a_draft_and_its_writer_edit_share_a_group(lamp):
    data, _ = lamp
    edits = [p for p in data.pairs if p.source == "writer_edit"][:40]
    groups = qdata.source_groups([t for p in edits for t in (p.better, p.worse)])
    same = sum(groups[p.better] == groups[p.worse] for p in edits)
    assert same >= 36


def test_pairwise_fit_is_deterministic_and_learns_a_planted_direction():
    rng = np.random.default_rng(0)
    direction = rng.normal(size=12)
    x_a, x_b = rng.normal(size=(300, 12)), rng.normal(size=(300, 12))
    better_first = (x_a - x_b) @ direction > 0
    diffs = np.where(better_first[:, None], x_a - x_b, x_b - x_a)
    w1 = fit_pairwise_logistic(diffs, c=1.0, seed=3)
    w2 = fit_pairwise_logistic(diffs, c=1.0, seed=3)
    assert np.array_equal(w1, w2)
    cos = w1 @ direction / np.linalg.norm(w1) / np.linalg.norm(direction)
    assert cos > 0.9


def test_simplex_weights_are_non_negative_sum_to_one_and_find_the_useful_component():
    rng = np.random.default_rng(1)
    better, worse = rng.uniform(size=(400, 3)), rng.uniform(size=(400, 3))
    better[:, 1] = worse[:, 1] + rng.uniform(0.05, 0.3, size=400)  # component 1 always prefers the better
    alpha, scale = fit_simplex_weights(better, worse)
    assert np.all(alpha >= 0) and alpha.sum() == pytest.approx(1.0)
    assert alpha[1] == alpha.max() and alpha[1] > 0.8
    assert scale > 0


def test_shipped_scorer_metadata():
    scorer = load_scorer()
    assert scorer.dim == 384 + len(LEARNED_METRICS)
    assert len(scorer.meta["training_data_sha256"]) == 64
    assert scorer.meta["seed"] == 0


def test_shipped_scorer_and_the_test_sample_come_from_the_same_data(lamp, lamp_dir):
    """The sample was cut from the files the shipped scorer was trained on (and not changed since)."""
    import json

    data, _ = lamp
    manifest = json.loads((lamp_dir / "manifest.json").read_text("utf-8"))
    assert load_scorer().meta["training_data_sha256"] == manifest["full_data_sha256"]
    assert qdata.data_hash(manifest["full_files_sha256"]) == manifest["full_data_sha256"]
    assert data.files_sha256 == manifest["sha256"]


def test_shipped_scorer_beats_chance_on_heldout_writer_edits(lamp):
    """Held-out edited-better-than-draft pairs (no source paragraph seen in training)."""
    _, split = lamp
    pairs = [p for p in split.heldout_pairs if p.source == "writer_edit"]
    texts = sorted({t for p in pairs for t in (p.better, p.worse)})
    raw = load_scorer().score_texts(texts)
    acc = pairwise_accuracy(dict(zip(texts, raw)), pairs)
    print(f"\nheld-out writer-edit pairwise accuracy of the shipped scorer: {acc:.3f} on {len(pairs)} pairs")
    assert len(pairs) >= 50
    assert acc >= 0.65
