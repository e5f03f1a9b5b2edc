"""Build mlx-lm text-format train/valid/test JSONL from described chunks.

Each example is `engine.tasks.training_example(description, author, original)`:
the restyle prompt the app uses at inference, followed by the author's prose.

The split is by position in each book: the last `test_share` of a source's
chunks go to test, the `valid_share` before them to valid, the rest to train.
Neighbouring chunks overlap by a few sentences, so a chunk whose sentences
intersect a chunk of another split is dropped from the larger split: no text
is ever in both train and valid (or test).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from engine.errors import KillahError
from engine.progress import ProgressCallback, report_progress
from training.augment import AugmentSettings, prepare_description, variants

FORMAT = "killah-dataset v1"
_PRIORITY = {"test": 0, "valid": 1, "train": 2}  # on overlap the lower one keeps the chunk


@dataclass(frozen=True)
class DatasetConfig:
    neutralized: str = field(default="", metadata={"help": "JSONL from `killah train neutralize`"})
    out: str | None = field(
        default=None,
        metadata={"help": "folder for train/valid/test.jsonl (default: beside the input)"},
    )
    author: str | None = field(
        default=None, metadata={"help": "author name in the prompt (default: the corpus's)"}
    )
    valid_share: float = field(
        default=0.05, metadata={"help": "share of each book (by position) for validation"}
    )
    test_share: float = field(
        default=0.05, metadata={"help": "share of each book (by position) for test"}
    )
    perturb: float = field(
        default=0.0,
        metadata={"help": "input noise on descriptions, kept for inference (e.g. 0.08)"},
    )
    info_dropout: bool = field(
        default=False, metadata={"help": "extra variants without adjectives"}
    )
    abstract: bool = field(default=False, metadata={"help": "extra variants with placeholders"})
    topic_swap: bool = field(default=False, metadata={"help": "extra name-swapped variants"})
    perspective: bool = field(
        default=False, metadata={"help": "extra perspective variants of first-person chunks"}
    )
    seed: int = field(default=0, metadata={"help": "seed for augmentation"})

    def augment(self) -> AugmentSettings:
        return AugmentSettings(
            perturb=self.perturb,
            info_dropout=self.info_dropout,
            abstract=self.abstract,
            topic_swap=self.topic_swap,
            perspective=self.perspective,
            seed=self.seed,
        )


def assign_splits(records: list[dict], valid_share: float, test_share: float) -> dict[str, str]:
    """chunk id -> 'train' | 'valid' | 'test', by position within each source."""
    by_source: dict[str, list[dict]] = defaultdict(list)
    for r in records:
        by_source[r["source"]].append(r)
    split: dict[str, str] = {}
    total = len(records)
    for source, rs in by_source.items():
        rs.sort(key=lambda r: (r["section"], r["chunk"]))
        n = len(rs)
        n_test = round(n * test_share)
        n_valid = round(n * valid_share)
        if n >= 3 and total < 60:  # small corpora: still one of each, from the end of every book
            n_test, n_valid = max(1, n_test), max(1, n_valid)
        for i, r in enumerate(rs):
            if i >= n - n_test:
                split[r["id"]] = "test"
            elif i >= n - n_test - n_valid:
                split[r["id"]] = "valid"
            else:
                split[r["id"]] = "train"
    return split


def overlaps(a: dict, b: dict) -> bool:
    return (a["source"], a["section"]) == (b["source"], b["section"]) and not (
        a["last_sentence"] < b["first_sentence"] or b["last_sentence"] < a["first_sentence"]
    )


def remove_straddlers(records: list[dict], split: dict[str, str]) -> list[str]:
    """Drop chunks that share sentences with a chunk of another split; returns their ids."""
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in records:
        groups[(r["source"], r["section"])].append(r)
    dropped = []
    for rs in groups.values():
        rs.sort(key=lambda r: r["first_sentence"])
        for i, a in enumerate(rs):
            for b in rs[i + 1 :]:
                if b["first_sentence"] > a["last_sentence"]:
                    break
                sa, sb = split.get(a["id"]), split.get(b["id"])
                if sa and sb and sa != sb:
                    loser = a if _PRIORITY[sa] > _PRIORITY[sb] else b
                    split.pop(loser["id"], None)
                    dropped.append(loser["id"])
    return dropped


def run(cfg: DatasetConfig, progress: ProgressCallback | None = None) -> dict:
    from engine.atomic import write_json, write_text
    from engine.tasks import training_example
    from training.neutralize import read_records

    if not cfg.neutralized:
        raise KillahError("dataset needs --neutralized (from `killah train neutralize`)")
    src = Path(cfg.neutralized).expanduser()
    header, records = read_records(src)
    from training.corpus import read_corpus

    try:
        corpus_meta = read_corpus(header["corpus"]).meta
    except KillahError:
        corpus_meta = {}
    author = cfg.author or corpus_meta.get("author")
    if not author:
        raise KillahError("dataset needs --author (the corpus names none)")
    invalid = [r for r in records if not r.get("valid", True)]
    records = [r for r in records if r.get("valid", True)]
    if len(records) < 3:
        raise KillahError(f"{src}: only {len(records)} valid described chunks; need at least 3")
    split = assign_splits(records, cfg.valid_share, cfg.test_share)
    straddlers = remove_straddlers(records, split)
    aug = cfg.augment()
    rows: dict[str, list[str]] = {"train": [], "valid": [], "test": []}
    chunks: dict[str, list[dict]] = {"train": [], "valid": [], "test": []}
    kinds: Counter = Counter()
    for r in sorted(records, key=lambda r: (r["source"], r["section"], r["chunk"])):
        part = split.get(r["id"])
        if part is None:
            continue
        desc = prepare_description(r, aug)
        rows[part].append(json.dumps(training_example(desc, author, r["text"]), ensure_ascii=False))
        chunks[part].append(
            {
                "id": r["id"],
                "source": r["source"],
                "section": r["section"],
                "chunk": r["chunk"],
                "first_sentence": r["first_sentence"],
                "last_sentence": r["last_sentence"],
                "words": r["words"],
                "description": desc,
                "text": r["text"],
            }
        )
        kinds["original"] += part == "train"
        if part == "train":
            for kind, d, o in variants(r, aug):
                rows["train"].append(json.dumps(training_example(d, author, o), ensure_ascii=False))
                kinds[kind] += 1
    if not rows["valid"]:
        raise KillahError(f"{src}: too few chunks for a validation split ({len(records)} chunks)")
    out = Path(cfg.out).expanduser() if cfg.out else src.with_name("data")
    for part, lines in rows.items():
        write_text(out / f"{part}.jsonl", "".join(line + "\n" for line in lines))
    write_text(
        out / "chunks.jsonl",
        "".join(
            json.dumps({"split": p, **c}, ensure_ascii=False) + "\n"
            for p, cs in chunks.items()
            for c in cs
        ),
    )
    summary = {
        "format": FORMAT, "out": str(out), "author": author, "source": str(src),
        "train": len(rows["train"]), "valid": len(rows["valid"]), "test": len(rows["test"]),
        "train_chunks": len(chunks["train"]), "dropped_overlapping": len(straddlers),
        "dropped_invalid_descriptions": len(invalid), "variants": dict(kinds),
        "augment": aug.to_dict(), "perturbation": aug.perturbation().to_dict(),
        "words": {p: sum(c["words"] for c in cs) for p, cs in chunks.items()},
        "language": corpus_meta.get("language"),
    }
    write_json(out / "dataset.json", summary)
    report_progress(progress, "dataset", 1, 1)
    return summary


def build_parser() -> argparse.ArgumentParser:
    from training.config import stage_parser

    return stage_parser(
        "killah train dataset",
        "Write mlx-lm train/valid/test JSONL from described chunks.",
        DatasetConfig,
    )


def main(argv: list[str] | None = None) -> int:
    from engine.clikit import emit

    from training.config import from_args

    args = build_parser().parse_args(argv)
    summary = run(from_args(DatasetConfig, args))
    emit(args, summary, human=lambda s: (
        f"{s['out']}: {s['train']} train / {s['valid']} valid / {s['test']} test examples "
        f"({s['dropped_overlapping']} overlapping chunks dropped)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
