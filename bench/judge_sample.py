"""How much the shipped reference sample costs the authorship judge, against the full corpora.

    python -m engine.runtime_exec bench/judge_sample.py DATA_DIR [--sample resources/reference]

DATA_DIR is the development data folder (corpora/{en,ru}/<author>/<work>.txt). For each
language, two judges are fitted with the default JudgeConfig: one on the full corpora, one
on the shipped sample (resources/reference, built by resources/reference/make_sample.py).
Both are scored on the same passages: up to --test-per-author passages of each author's
held-out works in the FULL corpora that the sample holds out too (the sample keeps each work's
share of the author, so the splits mostly agree; the JSON lists the works scored). Prints
one JSON document: accuracy (top-1, and after the word-order gate) with bootstrap 95% CIs.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SAMPLE = Path(__file__).resolve().parents[1] / "resources" / "reference"


def _ci(hits, seed: int = 0) -> dict:
    import numpy as np

    from training.evaluation.metrics import bootstrap_ci

    est = bootstrap_ci(np.asarray(hits, dtype=float), seed=seed)
    return {"mean": round(est.mean, 4), "lo": round(est.lo, 4), "hi": round(est.hi, 4), "n": est.n}


def score(judge, splits, config, per_author: int) -> dict:
    """Accuracy of `judge` on the held-out works of `splits` (author -> AuthorSplit)."""
    from training.evaluation.judge import author_passages

    texts, labels = [], []
    for name in judge.authors:
        for passage, _w in author_passages(splits[name], "test", config, per_author, config.seed):
            texts.append(passage)
            labels.append(name)
    predicted = judge.predict(texts)
    gate = judge.order_gate(texts) >= 0.5
    hits = [t == p for t, p in zip(labels, predicted)]
    return {"accuracy": _ci(hits), "gated_accuracy": _ci([h and g for h, g in zip(hits, gate)])}


def main(argv: list[str] | None = None) -> int:
    from training.evaluation.judge import JudgeConfig, list_authors, split_works, train_judge

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data", type=Path, help="development data folder with corpora/{en,ru}")
    parser.add_argument("--sample", type=Path, action="append",
                        help="a reference sample folder (repeat to compare several; default: "
                             "resources/reference)")
    parser.add_argument("--langs", default="en,ru")
    parser.add_argument("--test-per-author", type=int, default=100)
    args = parser.parse_args(argv)
    if not (args.data / "corpora").is_dir():
        print(f"judge_sample: no corpora/ in {args.data} (give the development data folder)",
              file=sys.stderr)
        return 2
    samples = args.sample or [SAMPLE]
    config = JudgeConfig()
    out: dict = {"config": asdict(config), "langs": {}}
    for lang in args.langs.split(","):
        full_dirs = list_authors(args.data / "corpora" / lang)
        judges = {"full": full_dirs} | {str(p): list_authors(p / lang) for p in samples}
        full_splits = {a: split_works(d, config) for a, d in full_dirs.items()}
        # Scored on works no judge trained on: held out in the full corpora and in every sample.
        scored = {a: s for a, s in full_splits.items() if all(a in d for d in judges.values())}
        for dirs in judges.values():
            for a, split in scored.items():
                names = {w.name for w in split_works(dirs[a], config).test}
                scored[a] = replace(split, test=[w for w in split.test if w.name in names])
        row: dict = {"authors": sorted(scored),
                     "scored_works": {a: [w.stem for w in s.test] for a, s in scored.items()}}
        for name, dirs in judges.items():
            judge = train_judge(dirs, config)  # cached under KILLAH_HOME by its training files
            row[name] = score(judge, scored, config, args.test_per_author)
            row[name]["own_held_out"] = score(judge, judge.splits, config, args.test_per_author)
            row[name]["train_passages"] = {a: len(_train(judge.splits[a], config)) for a in dirs}
            row[name]["bytes"] = sum(w.stat().st_size for d in dirs.values()
                                     for w in d.glob("*.txt"))
            print(f"{lang} {name}: {row[name]['accuracy']}", file=sys.stderr)
        out["langs"][lang] = row
    print(json.dumps(out, indent=1))
    return 0


def _train(split, config) -> list:
    from training.evaluation.judge import author_passages

    return author_passages(split, "train", config, config.train_per_author, config.seed)


if __name__ == "__main__":
    sys.exit(main())
