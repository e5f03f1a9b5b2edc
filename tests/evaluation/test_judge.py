"""The authorship judge on real prose: accurate on held-out works, blind to word salad."""

from __future__ import annotations

import random

import numpy as np
import pytest

from training.evaluation.judge import (
    JudgeConfig, author_passages, evaluate_judge, split_works, train_judge,
)

AUTHORS = ("austen", "conan_doyle", "melville", "chesterton")
CONFIG = JudgeConfig(train_per_author=200, test_per_author=40)


@pytest.fixture(scope="module")
def judge(reference, tmp_path_factory):
    """Fitted on the shipped reference sample (training works only); judged on held-out works."""
    dirs = {a: reference / "en" / a for a in AUTHORS}
    return train_judge(dirs, CONFIG, cache=False)


def test_works_are_split_disjointly(reference):
    for a in AUTHORS:
        split = split_works(reference / "en" / a, CONFIG)
        assert split.train and split.test and not set(split.train) & set(split.test)


def test_judge_attributes_held_out_works(judge):
    report = evaluate_judge(judge)
    available = sum(min(40, len(author_passages(judge.splits[a], "test", CONFIG))) for a in AUTHORS)
    assert report.n_test == available >= 20 * len(AUTHORS)
    assert report.accuracy >= 0.85, report.markdown()
    assert report.gated_accuracy >= 0.85, report.markdown()


def test_probabilities_are_calibrated_distributions(judge):
    split = judge.splits["austen"]
    texts = [p for p, _ in author_passages(split, "test", CONFIG, 10)]
    proba = judge.predict_proba(texts)
    assert proba.shape == (10, len(AUTHORS))
    assert np.allclose(proba.sum(axis=1), 1.0)
    assert proba[:, judge.authors.index("austen")].mean() > 0.5


def test_word_shuffled_passages_lose_attribution(judge):
    """Shuffling the words keeps the vocabulary and destroys the style."""
    texts, labels = [], []
    for a in AUTHORS:
        for p, _ in author_passages(judge.splits[a], "test", CONFIG, 15):
            texts.append(p)
            labels.append(a)
    rng = random.Random(0)

    def shuffled(t: str) -> str:
        words = t.split()
        rng.shuffle(words)
        return " ".join(words)

    salads = [shuffled(t) for t in texts]
    real_top1 = np.mean([judge.attribution([t], a)[0][0] for t, a in zip(texts, labels)])
    salad_top1 = np.mean([judge.attribution([t], a)[0][0] for t, a in zip(salads, labels)])
    real_p = np.mean([judge.attribution([t], a)[1][0] for t, a in zip(texts, labels)])
    salad_p = np.mean([judge.attribution([t], a)[1][0] for t, a in zip(salads, labels)])
    assert real_top1 >= 0.8 and real_p > 0.6
    assert salad_top1 <= 0.2 and salad_p < 0.2, (salad_top1, salad_p)
    assert judge.order_gate(texts).mean() > 0.9 and judge.order_gate(salads).mean() < 0.1


def test_cached_judge_is_reused(reference, killah_home):
    dirs = {a: reference / "en" / a for a in ("austen", "wilde")}
    small = JudgeConfig(train_per_author=40, test_per_author=5)
    first = train_judge(dirs, small)
    second = train_judge(dirs, small)
    assert first.key == second.key
    texts = [p for p, _ in author_passages(first.splits["wilde"], "test", small, 5)]
    assert np.array_equal(first.predict_proba(texts), second.predict_proba(texts))
