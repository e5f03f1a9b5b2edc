"""The human judgements the WQRM learns from (LAMP quality_pairs: tests/fixtures/lamp, or the full data).

Everything becomes either a `Pair` (better text, worse text) or a `Scored` text.
Every text is put in a *source group*: texts that share enough word 5-grams are
versions of one source paragraph (a draft, its writer edit, its AI edit, ...).
The train/held-out split is made over groups, so no source paragraph has versions
on both sides.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from engine.errors import KillahError
from engine.text import UnionFind, sha256_file, words

WRITER_EDITS = "lamp_writer_edits.jsonl"
EXPERT_RANKINGS = "lamp_expert_rankings.jsonl"
VAL_PAIRS_AND_SCORES = "lamp_val_pairwise_and_scores.jsonl"
SCORED_PARAGRAPHS = "lamp_scored_paragraphs.jsonl"
TRIPLETS = "wqrm_draft_vs_edited_triplets.jsonl"
FILES = (WRITER_EDITS, EXPERT_RANKINGS, VAL_PAIRS_AND_SCORES, SCORED_PARAGRAPHS, TRIPLETS)

SHINGLE = 5
MIN_SHARED_SHINGLES = 4
MAX_POSTING = 25  # a 5-gram in more texts than this is a stock phrase, not shared ancestry
HELDOUT_FRACTION = 0.2


@dataclass(frozen=True)
class Pair:
    better: str
    worse: str
    source: str  # which file / judgement kind


@dataclass(frozen=True)
class Scored:
    text: str
    score: float
    source: str


@dataclass
class QualityData:
    pairs: list[Pair]
    scored: list[Scored]
    files_sha256: dict[str, str]

    def texts(self) -> list[str]:
        seen: dict[str, None] = {}
        for p in self.pairs:
            seen.setdefault(p.better)
            seen.setdefault(p.worse)
        for s in self.scored:
            seen.setdefault(s.text)
        return list(seen)


def _read_jsonl(path: Path) -> list[dict]:
    try:
        with path.open(encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]
    except (OSError, ValueError) as e:
        raise KillahError(f"cannot read quality data {path}: {e}") from e


def _ranking_pairs(order: list[str], versions: dict[str, str], source: str) -> Iterable[Pair]:
    for i, a in enumerate(order):
        for b in order[i + 1 :]:
            if versions.get(a) and versions.get(b) and versions[a] != versions[b]:
                yield Pair(versions[a], versions[b], source)


_TRIPLET_RANK = {
    "Most Preferred Writing Option": 0,
    "Second Favorite Writing Option": 1,
    "Least Preferred Writing Option": 2,
}


def load_quality_data(folder: str | Path) -> QualityData:
    """Read every LAMP file in `folder` into pairs and scored texts."""
    folder = Path(folder)
    missing = [f for f in FILES if not (folder / f).exists()]
    if missing:
        raise KillahError(f"quality data folder {folder} lacks {', '.join(missing)}")
    pairs: list[Pair] = []
    scored: list[Scored] = []
    for row in _read_jsonl(folder / WRITER_EDITS):
        if row["chosen"].strip() and row["chosen"] != row["rejected"]:
            pairs.append(Pair(row["chosen"], row["rejected"], "writer_edit"))
    for row in _read_jsonl(folder / EXPERT_RANKINGS):
        pairs.extend(_ranking_pairs(row["ranking_best_to_worst"], row["versions"], "expert_ranking"))
    for row in _read_jsonl(folder / VAL_PAIRS_AND_SCORES):
        if row["sample_type"] == "pairwise":
            a, b = row["paragraph1"], row["paragraph2"]
            better, worse = (a, b) if row["preferred"] == 1 else (b, a)
            pairs.append(Pair(better, worse, "val_pairwise"))
        else:
            scored.append(Scored(row["paragraph"], float(row["zscore"]), "val_zscore"))
    for row in _read_jsonl(folder / SCORED_PARAGRAPHS):
        scored.append(Scored(row["text"], float(row["score"]), "scored_1_10"))
    for row in _read_jsonl(folder / TRIPLETS):
        for ann in row["human_annotations"]:
            order = sorted(ann, key=lambda k: _TRIPLET_RANK[ann[k]])
            pairs.extend(_ranking_pairs(order, row["candidates"], "triplet_ranking"))
    hashes = {f: sha256_file(folder / f) for f in FILES}
    return QualityData(pairs=pairs, scored=scored, files_sha256=hashes)


def data_hash(files_sha256: dict[str, str]) -> str:
    """One sha256 over the per-file hashes, in file-name order."""
    joined = "\n".join(f"{k} {v}" for k, v in sorted(files_sha256.items()))
    return hashlib.sha256(joined.encode()).hexdigest()


def source_groups(texts: list[str]) -> dict[str, int]:
    """Group texts that share at least MIN_SHARED_SHINGLES word 5-grams (union-find).

    Returns text -> group id (the smallest index of a text in the group).
    """
    groups = UnionFind(len(texts))
    postings: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for i, text in enumerate(texts):
        tokens = words(text)
        for gram in {tuple(tokens[j : j + SHINGLE]) for j in range(len(tokens) - SHINGLE + 1)}:
            postings[gram].append(i)
    shared: dict[tuple[int, int], int] = defaultdict(int)
    for ids in postings.values():
        if 1 < len(ids) <= MAX_POSTING:
            for a in range(len(ids)):
                for b in range(a + 1, len(ids)):
                    shared[(ids[a], ids[b])] += 1
    for (a, b), count in shared.items():
        if count >= MIN_SHARED_SHINGLES:
            groups.union(a, b)
    return {text: groups.find(i) for i, text in enumerate(texts)}


def is_heldout(group_key: str, seed: int, fraction: float = HELDOUT_FRACTION) -> bool:
    """A group is held out when the hash of (seed, its first text) falls below `fraction`."""
    digest = hashlib.sha256(f"{seed}\n{group_key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < fraction


@dataclass
class Split:
    train_pairs: list[Pair]
    heldout_pairs: list[Pair]
    train_scored: list[Scored]
    heldout_scored: list[Scored]
    dropped_pairs: int  # pairs whose two texts fell in different groups on different sides
    n_groups: int
    n_heldout_groups: int


def split_by_source(data: QualityData, seed: int = 0, fraction: float = HELDOUT_FRACTION) -> Split:
    """Split pairs and scored texts so that no source group is on both sides."""
    texts = data.texts()
    groups = source_groups(texts)
    first_text: dict[int, str] = {}
    for text in texts:
        first_text.setdefault(groups[text], text)
    held = {g: is_heldout(t, seed, fraction) for g, t in first_text.items()}
    side = {text: held[groups[text]] for text in texts}
    train_pairs, heldout_pairs, dropped = [], [], 0
    for p in data.pairs:
        if side[p.better] != side[p.worse]:
            dropped += 1
        elif side[p.better]:
            heldout_pairs.append(p)
        else:
            train_pairs.append(p)
    train_scored = [s for s in data.scored if not side[s.text]]
    heldout_scored = [s for s in data.scored if side[s.text]]
    return Split(
        train_pairs, heldout_pairs, train_scored, heldout_scored, dropped,
        n_groups=len(held), n_heldout_groups=sum(held.values()),
    )
