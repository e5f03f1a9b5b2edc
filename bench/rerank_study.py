"""Blind rerank study: the WQRM's pick among n candidates vs a random one, judged without the WQRM.

    python -m engine.runtime_exec bench/rerank_study.py CORPUS_DIR [--prompts 40] [--n 4]
        [--tokens 120] [--json OUT.json] [--summary-only]

CORPUS_DIR holds AUTHOR/WORK.txt (e.g. shared/data/corpora/en). Half the prompts ask the
bundled model to continue a passage of an author (style: the authorship judge's
probability of that author), half to rephrase one or two sentences of another passage
(faithfulness: engine.quality.faithfulness, with the base model's checks). For every
prompt, rerank(n) is called WITHOUT the source, so the order is the WQRM's alone; the top
candidate, a seeded random candidate and the batch's first sample (what the writer gets
without reranking) are then measured by things the WQRM does not use:

- repetition: repeated word 3-gram share and distinct-2 (training.evaluation.metrics);
- broken: the judge's word-order gate says it does not read as prose, or < 5 words;
- style (continuations): the judge's probability of the prompt's author, gated;
- faithful (rephrasings): passes every faithfulness check.

Differences top - random and top - first are reported with 95% bootstrap CIs over prompts.
With --json the rows are written after every prompt and a rerun with the same file resumes.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def make_prompts(corpus: Path, n: int, seed: int) -> list[dict]:
    from engine.quality.degrade import passages
    from engine.quality.metrics import sentences

    pool = passages(corpus, 4 * n, seed + 17)
    random.Random(seed).shuffle(pool)
    out = []
    for i, (author, text) in enumerate(pool[:n]):
        if i % 2 == 0:
            words = text.split()
            out.append(
                {
                    "task": "continue",
                    "author": author,
                    "source": " ".join(words[: min(70, len(words))]),
                }
            )
        else:
            sents = sentences(text)
            src = " ".join(sents[:2]) if len(" ".join(sents[:2]).split()) <= 60 else sents[0]
            out.append({"task": "rephrase", "author": author, "source": src})
    return out


def measure(texts: list[str], judge, author: str | None) -> list[dict]:
    from training.evaluation.metrics import distinct_n, repeated_ngram_share

    gate = judge.order_gate(texts)
    style = judge.attribution(texts, author)[1] if author in judge.authors else [None] * len(texts)
    return [
        {
            "repeated3": repeated_ngram_share(t),
            "distinct2": distinct_n(t, 2),
            "broken": float(g < 0.5 or len(t.split()) < 5),
            "style": None if s is None else float(s),
        }
        for t, g, s in zip(texts, gate, style)
    ]


def _boot(diffs: list[float], seed: int = 0) -> dict:
    import numpy as np

    d = np.asarray([x for x in diffs if x is not None], dtype=np.float64)
    if not len(d):
        return {"n": 0}
    rng = np.random.default_rng(seed)
    boots = [d[rng.integers(0, len(d), len(d))].mean() for _ in range(2000)]
    lo, hi = np.percentile(boots, [2.5, 97.5])
    return {
        "n": len(d),
        "mean_diff": round(float(d.mean()), 4),
        "ci95": [round(float(lo), 4), round(float(hi), 4)],
    }


def _mean(xs: list[float]) -> float | None:
    return round(sum(xs) / len(xs), 4) if xs else None


def summarize(rows: list[dict], n: int, tokens: int) -> dict:
    """Means and top - random / top - first differences with bootstrap CIs over prompts."""
    from engine.quality.head import HEAD_FILE
    from engine.text import sha256_file

    summary = {
        "head_sha256": sha256_file(HEAD_FILE),
        "prompts": len(rows),
        "n": n,
        "tokens": tokens,
        "random_was_top": sum(r["same"] for r in rows),
        "first_was_top": sum(r.get("first_is_top", False) for r in rows),
    }
    for key, better in (
        ("repeated3", "lower"),
        ("distinct2", "higher"),
        ("broken", "lower"),
        ("style", "higher"),
        ("faithful", "higher"),
    ):
        summary[key] = {"better": better}
        for other in ("random", "first"):
            both = [
                r
                for r in rows
                if r.get(f"{key}_top") is not None and r.get(f"{key}_{other}") is not None
            ]
            summary[key][f"top_vs_{other}"] = {
                "top": _mean([r[f"{key}_top"] for r in both]),
                other: _mean([r[f"{key}_{other}"] for r in both]),
                **_boot([r[f"{key}_top"] - r[f"{key}_{other}"] for r in both]),
            }
    return summary


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("corpus", help="folder of AUTHOR/WORK.txt (e.g. shared/data/corpora/en)")
    p.add_argument("--prompts", type=int, default=40)
    p.add_argument("--n", type=int, default=4)
    p.add_argument("--tokens", type=int, default=120)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--model", default=None)
    p.add_argument("--json", default=None, help="write every row and the summary here")
    p.add_argument(
        "--summary-only", action="store_true", help="summarise the rows already in --json and stop"
    )
    args = p.parse_args(argv)
    if args.summary_only:
        if not args.json or not Path(args.json).exists():
            print("rerank_study: --summary-only needs an existing --json file", file=sys.stderr)
            return 2
        rows = sorted(
            json.loads(Path(args.json).read_text(encoding="utf-8"))["rows"], key=lambda r: r["i"]
        )
        print(json.dumps(summarize(rows, args.n, args.tokens), indent=1))
        return 0
    corpus = Path(args.corpus)
    if not corpus.is_dir():
        print(f"rerank_study: corpus folder {corpus} does not exist", file=sys.stderr)
        return 2

    from engine.generate import SamplingOptions
    from engine.models import load_model
    from engine.quality.faithfulness import assess
    from engine.quality.rerank import rerank
    from engine.tasks import continue_prompt, rephrase_prompt
    from training.evaluation.judge import train_judge

    authors = {d.name: d for d in sorted(corpus.iterdir()) if d.is_dir()}
    judge = train_judge(authors, progress=lambda m: print(f"judge: {m}", file=sys.stderr))
    lm = load_model(args.model)
    out = Path(args.json) if args.json else None
    rows = json.loads(out.read_text(encoding="utf-8"))["rows"] if out and out.exists() else []
    done = {r["i"] for r in rows}
    t0 = time.time()
    for i, pr in enumerate(make_prompts(corpus, args.prompts, args.seed)):
        rng = random.Random(f"{args.seed}-{i}")
        if i in done:
            continue
        prompt = (
            continue_prompt(pr["source"])
            if pr["task"] == "continue"
            else rephrase_prompt(pr["source"])
        )
        budget = (
            args.tokens
            if pr["task"] == "continue"
            else int(16 + 2.0 * 1.4 * len(pr["source"].split()))
        )
        ranked = [
            r
            for r in rerank(lm, prompt, args.n, SamplingOptions(max_tokens=budget, seed=1000 + i))
            if r.text
        ]
        if len(ranked) < 2:
            continue
        top, pick = ranked[0], ranked[rng.randrange(len(ranked))]
        first = min(ranked, key=lambda r: r.index)
        texts = list(dict.fromkeys([top.text, pick.text, first.text]))
        measured = dict(
            zip(texts, measure(texts, judge, pr["author"] if pr["task"] == "continue" else None))
        )
        m_top, m_rand, m_first = (measured[r.text] for r in (top, pick, first))
        row = {
            "i": i,
            **pr,
            "top_text": top.text,
            "random_text": pick.text,
            "first_text": first.text,
            "same": top.index == pick.index,
            "first_is_top": top.index == first.index,
            "top_score": top.score,
            "random_score": pick.score,
            "first_score": first.score,
            **{f"{k}_top": v for k, v in m_top.items()},
            **{f"{k}_random": v for k, v in m_rand.items()},
            **{f"{k}_first": v for k, v in m_first.items()},
        }
        if pr["task"] == "rephrase":
            checks = dict(zip(texts, assess(pr["source"], texts, "rephrase", lm=lm, thorough=True)))
            for name, r in (("top", top), ("random", pick), ("first", first)):
                row[f"faithful_{name}"] = float(checks[r.text].ok)
        rows.append(row)
        if out:
            out.write_text(json.dumps({"rows": rows}, indent=1), encoding="utf-8")
        print(
            f"{i + 1}/{args.prompts} {pr['task']}: top {top.score:.2f} random {pick.score:.2f} "
            f"({time.time() - t0:.0f}s)",
            file=sys.stderr,
        )
    rows.sort(key=lambda r: r["i"])
    summary = summarize(rows, args.n, args.tokens)
    if out:
        out.write_text(json.dumps({"summary": summary, "rows": rows}, indent=1), encoding="utf-8")
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
