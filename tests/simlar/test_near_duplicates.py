"""near_duplicates on real corpus paragraphs with planted near-copies."""

from __future__ import annotations

import random
import re
from pathlib import Path

import numpy as np
import pytest

import simlar

from . import reference as ref

THRESHOLD = 0.75


def paragraphs(folder: Path, min_chars: int = 50) -> list[str]:
    """Blank-line separated paragraphs of every .txt under `folder`, whitespace folded."""
    out = []
    for path in sorted(folder.rglob("*.txt")):
        for block in re.split(r"\n\s*\n", path.read_text(encoding="utf-8")):
            text = " ".join(block.split())
            if len(text) >= min_chars:
                out.append(text)
    return out


def near_copy(text: str, rng: random.Random) -> str:
    """One word of a long paragraph replaced: a near-duplicate well above the threshold."""
    words = text.split(" ")
    words[rng.randrange(len(words))] = "ЗАМЕНА"
    return " ".join(words)


@pytest.fixture(scope="module")
def corpus(reference) -> tuple[list[str], list[tuple[int, int]]]:
    rng = random.Random(7)
    real = paragraphs(reference / "en") + paragraphs(reference / "ru")  # the shipped authors
    texts = rng.sample(real, 1500)
    long = [i for i, text in enumerate(texts) if len(text) >= 400]
    planted = []
    for i in rng.sample(long, 30):
        planted.append((i, len(texts)))
        texts.append(near_copy(texts[i], rng))
    return texts, planted


@pytest.fixture(scope="module")
def clusters(corpus) -> list[list[int]]:
    texts, _ = corpus
    return simlar.near_duplicates(texts, THRESHOLD)


def test_finds_every_planted_duplicate(corpus, clusters):
    texts, planted = corpus
    cluster_of = {i: k for k, members in enumerate(clusters) for i in members}
    for original, copy in planted:
        assert ref.jaccard(ref.ngrams(texts[original], 5), ref.ngrams(texts[copy], 5)) >= 0.9
        assert original in cluster_of, (original, copy)
        assert cluster_of.get(original) == cluster_of.get(copy), (original, copy)


def test_no_false_positives(corpus, clusters):
    """Every member has exact (reference) similarity >= threshold with another member."""
    texts, _ = corpus
    grams = {i: ref.ngrams(texts[i], 5) for members in clusters for i in members}
    for members in clusters:
        for i in members:
            best = max(ref.jaccard(grams[i], grams[j]) for j in members if j != i)
            assert best >= THRESHOLD, (i, members, best)


def test_agrees_with_all_pairs_search(corpus, clusters):
    """Clusters are components of the all-pairs graph; pairs well above the threshold are
    all found."""
    texts, _ = corpus
    sim = simlar.jaccard_ngrams_matrix(texts, texts, 5)
    np.fill_diagonal(sim, 0.0)
    exact = ref.clusters_from_pairs(len(texts), list(zip(*np.nonzero(np.triu(sim >= THRESHOLD)))))
    exact_of = {i: k for k, members in enumerate(exact) for i in members}
    for members in clusters:
        assert len({exact_of[i] for i in members}) == 1
    cluster_of = {i: k for k, members in enumerate(clusters) for i in members}
    for i, j in zip(*np.nonzero(np.triu(sim >= 0.95))):
        assert cluster_of.get(int(i)) is not None
        assert cluster_of.get(int(i)) == cluster_of.get(int(j))
