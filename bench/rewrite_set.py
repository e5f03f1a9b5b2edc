"""Build the held-out rewrite set (bench/data/rewrite_heldout.jsonl) and its dev twin.

    python bench/rewrite_set.py DATA_DIR                # writes both files

The held-out set is what bench/rewrite.py reports on; nothing is trained, tuned or
selected on it. It mixes sentences and short paragraphs of the held-out authors
(Charlotte Brontë and Conrad in English, Gorky in Russian: authors the corpora, and so
every training set built from them, never saw) with plain modern sentences full of
numbers, names, dates and negations written for this set (bench/data/rewrite_written.json,
"heldout"). The dev set (bench/data/rewrite_dev.jsonl) is drawn the same way from the
corpora plus the written "dev" sentences: thresholds and prompts are tuned there.
Each row gets one preset (formal, casual, shorter, longer) in rotation, so every preset
is measured on a quarter of the set; rephrase is measured on all of it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from training.tasks.sources import draw_units

DATA = Path(__file__).resolve().parent / "data"
PRESETS = ("formal", "casual", "shorter", "longer")
# split -> [(folder under the data root, how many units)]
PLAN = {
    "heldout": [("heldout/en", 40), ("heldout/ru", 20)],
    "dev": [("corpora/en", 40), ("corpora/ru", 20)],
}


def build(data_root: Path, split: str, seed: int = 15) -> list[dict]:
    written = json.loads((DATA / "rewrite_written.json").read_text(encoding="utf-8"))[split]
    rows: list[dict] = []
    for folder, n in PLAN[split]:
        path = data_root / folder
        if not path.is_dir():
            raise SystemExit(f"rewrite_set: {path} is missing (pass the shared data folder)")
        rows += [u.to_dict() for u in draw_units(path, n, seed=seed)]
    for lang in ("en", "ru"):
        rows += [{"text": t, "lang": lang, "source": "written", "kind": "sentence"} for t in written[lang]]
    for i, row in enumerate(rows):
        row["id"] = f"{split}-{i:03d}"
        row["preset"] = PRESETS[i % len(PRESETS)]
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", type=Path, help="the shared data folder (corpora/, heldout/)")
    parser.add_argument("--seed", type=int, default=15)
    args = parser.parse_args(argv)
    for split in PLAN:
        rows = build(args.data, split, args.seed)
        out = DATA / f"rewrite_{split}.jsonl"
        out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
        print(f"{out}: {len(rows)} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
