"""Build the rewrite task adapter's training set from the offline data folder.

    python -m training.tasks.build DATA_DIR --out runs/rewrite-data [--selfgen FILE ...]

Writes `train.jsonl` / `valid.jsonl` (mlx-lm text records in engine.tasks' rewrite frame)
and `manifest.json` (counts by origin, mode and language; the licences of the sources).
Pairs come from training.tasks.pairs (Bible versions, LAMP edits) and from self-generated
rewrites (training.tasks.selfgen: the base model's own candidates that passed the
faithfulness checks). Every pair passed the checks; each mode is capped so no mode or
source dominates. Deterministic for a given data folder and seed.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter
from pathlib import Path

from engine import atomic, tasks
from training.tasks.pairs import Pair, bible_candidates, faithful, lamp_candidates

BIBLE = "style_bench/bible_parallel/bible_7_versions_parallel.jsonl"
LAMP = "quality_pairs/lamp_writer_edits.jsonl"
LICENCES = {
    "bible": "public domain (WEB, BBE, ASV, Darby), verse-aligned by keithecarlson/StyleTransferBibleData",
    "lamp": "BSD-3-Clause, (c) Salesforce (salesforce/creativity_eval, LAMP writer edits)",
    "selfgen": "the bundled Gemma 3 270M's own rewrites of public-domain corpus sentences",
}
# origin family -> mode -> cap (per language). The Bible's share is kept small: its
# versions are real paraphrases, but the pilot trained on many began its rewrites with "And".
CAPS = {
    "bible": {"rephrase": 100, "shorter": 40, "longer": 40},
    "lamp": {"rephrase": 110, "shorter": 70, "longer": 50, "formal": 35, "casual": 35},
    "selfgen": {"rephrase": 400, "shorter": 120, "longer": 120, "formal": 120, "casual": 120},
}


def family(origin: str) -> str:
    return origin.split(":", 1)[0]


def read_selfgen(paths: list[Path]) -> list[Pair]:
    out = []
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                d = json.loads(line)
                out.append(Pair(d["mode"], d["source"], d["target"], d["lang"], d.get("origin", "selfgen")))
    return out


def select(pairs: list[Pair], seed: int) -> list[Pair]:
    """Capped per (family, mode, lang), each source sentence used once per mode."""
    rng = random.Random(seed)
    rng.shuffle(pairs)
    taken: Counter = Counter()
    seen: set[tuple[str, str]] = set()
    out = []
    for p in pairs:
        fam = family(p.origin)
        cap = CAPS.get(fam, {}).get(p.mode, 0)
        key = (fam, p.mode, p.lang)
        if taken[key] >= cap or (p.source, p.mode) in seen:
            continue
        taken[key] += 1
        seen.add((p.source, p.mode))
        out.append(p)
    return out


def build(data: Path, out: Path, selfgen: list[Path], seed: int = 0, valid_share: float = 0.06,
          bible_sample: int = 2500) -> dict:
    for rel in (BIBLE, LAMP):
        if not (data / rel).is_file():
            raise SystemExit(f"training.tasks.build: {data / rel} is missing (pass the shared data folder)")
    rng = random.Random(seed)
    bible = [p for p in bible_candidates(data / BIBLE) if p.mode in CAPS["bible"]]
    bible = rng.sample(bible, min(bible_sample, len(bible)))
    candidates = bible + list(lamp_candidates(data / LAMP))
    kept = faithful(candidates) + read_selfgen(selfgen)
    chosen = select(kept, seed)
    # The split is by source sentence, so no sentence is in both.
    sources = sorted({p.source for p in chosen})
    random.Random(seed + 1).shuffle(sources)
    valid_sources = set(sources[: max(1, int(len(sources) * valid_share))] if len(sources) > 1 else ())
    train = [p for p in chosen if p.source not in valid_sources]
    valid = [p for p in chosen if p.source in valid_sources]
    out.mkdir(parents=True, exist_ok=True)
    for name, rows in (("train", train), ("valid", valid)):
        text = "".join(json.dumps(tasks.task_example(p.mode, p.source, p.target), ensure_ascii=False) + "\n"
                       for p in rows)
        atomic.write_text(out / f"{name}.jsonl", text)
    atomic.write_text(out / "pairs.jsonl", "".join(json.dumps(p.to_dict(), ensure_ascii=False) + "\n"
                                                   for p in chosen))
    manifest = {
        "format": "killah-rewrite-data v1", "prompt_format": tasks.TASK_FRAME, "seed": seed,
        "candidates": len(candidates), "faithful": len(kept), "train": len(train), "valid": len(valid),
        "languages": sorted({p.lang for p in chosen}),
        "by_origin_mode_lang": {f"{f}/{m}/{lang}": n for (f, m, lang), n in
                                sorted(Counter((family(p.origin), p.mode, p.lang) for p in chosen).items())},
        "licences": {k: v for k, v in LICENCES.items() if any(family(p.origin) == k for p in chosen)},
    }
    atomic.write_json(out / "manifest.json", manifest)
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.tasks.build", description=__doc__.split("\n\n")[0])
    parser.add_argument("data", type=Path, help="the shared data folder (style_bench/, quality_pairs/)")
    parser.add_argument("--out", type=Path, required=True, help="output folder for train/valid.jsonl")
    parser.add_argument("--selfgen", type=Path, action="append", default=[],
                        help="JSONL of self-generated faithful pairs (training.tasks.selfgen); repeatable")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print(json.dumps(build(args.data, args.out, args.selfgen, args.seed), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
