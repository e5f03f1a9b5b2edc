"""Fixtures for the training pipeline: short real texts, a small described dataset."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import FIXTURES

SHORT_WORK = FIXTURES / "text" / "lady_susan.txt"  # Austen, ~23k words of first-person letters


@pytest.fixture(scope="session")
def short_work() -> Path:
    return SHORT_WORK


@pytest.fixture(scope="session")
def small_dataset(tmp_path_factory, short_work) -> Path:
    """Curated, described (extractive) and split: short chunks so the tiny model trains fast."""
    from training import curate, dataset, neutralize

    work = tmp_path_factory.mktemp("pipeline")
    curate.run(curate.CurateConfig(files=[str(short_work)], author="Jane Austen", out=str(work / "corpus.txt")))
    n = neutralize.run(neutralize.NeutralizeConfig(corpus=str(work / "corpus.txt"), min_words=40, max_words=90,
                                               overlap_sentences=1, limit_chunks=60))
    d = dataset.run(dataset.DatasetConfig(neutralized=n["out"], out=str(work / "data"),
                                          valid_share=0.1, test_share=0.1))
    return Path(d["out"])


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
