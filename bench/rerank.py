"""Reranking cost: rerank(n=4) (one batch of 4 + WQRM scoring) vs one plain generation, same run.

    python -m engine.runtime_exec bench/rerank.py [--model default] [--tokens 96] [--repeats 3] [--n 4]
    python -m engine.runtime_exec bench/rerank.py --quality [--prompts 20] [--tokens 80]

Same model object, prompt and base sampling settings; prompt cache off for both;
EOS is not suppressed, so each timing is divided by the tokens actually produced
as well. Target: rerank(n=4) wall time <= 2x the plain generation.
Prints a markdown table (JSON with --json).

--quality instead reranks n candidates for each of --prompts story openings and
compares, blind to the WQRM, the chosen (top) candidate with a random pick (seeded)
using the style evaluation harness's measures (training.evaluation.metrics):
generic-phrase hits per 1,000 words and repetition (distinct-2, repeated 3-gram share).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PROMPT = (
    "The village lay at the bottom of a long valley, and in winter the snow came down "
    "from the hills so thickly that for weeks nobody could leave. That year, the"
)


OPENINGS = (
    "The lighthouse keeper had not spoken to anyone in three weeks. On the morning the supply boat came,",
    "My grandmother kept a drawer of things she said she would fix one day:",
    "The train stopped in the middle of the steppe, and for a long while nobody got off.",
    "When the letter finally arrived, it was addressed to my father, who had been dead for a year.",
    "Nobody in the office knew where Mr. Halloran went at lunch.",
    "The river froze early that year, and the children were the first to notice.",
    "She sold the piano on a Tuesday, and by Thursday the house sounded wrong.",
    "The new teacher arrived with one suitcase and a cage with no bird in it.",
    "At the edge of town there was a bakery that only opened after midnight.",
    "I learned to drive in my uncle's truck, which had no reverse gear.",
    "The detective's first mistake was believing the widow.",
    "Every summer the circus came, and every summer my brother tried to leave with it.",
    "The storm knocked out the power just as the soup began to boil.",
    "He had been a famous chess player once, before the accident.",
    "The map in the hotel lobby showed a street that did not exist.",
    "Our neighbour kept bees, and the bees kept secrets.",
    "On the last day of the harvest, the old man did not come down from the hill.",
    "The museum guard had memorised every painting but one.",
    "It was the kind of village where a stranger's car was news for a week.",
    "The ship's cook swore the sea had spoken to him.",
)


def quality(args, lm) -> dict:
    import random

    import numpy as np

    from engine.generate import SamplingOptions
    from engine.quality.rerank import rerank
    from training.evaluation.metrics import distinct_n, generic_per_1k, repeated_ngram_share

    rng = random.Random(0)
    rows = []
    for i, prompt in enumerate(OPENINGS[: args.prompts]):
        ranked = [r for r in rerank(lm, prompt, args.n, SamplingOptions(max_tokens=args.tokens, seed=100 + i)) if r.text]
        if len(ranked) < 2:
            continue
        chosen, pick = ranked[0], rng.choice(ranked)
        scores = [r.score for r in ranked]
        rows.append({
            "top": chosen.score, "mean": float(np.mean(scores)),
            **{f"{k}_{name}": f(r.text) for name, r in (("chosen", chosen), ("random", pick))
               for k, f in (("generic_per_1k", generic_per_1k), ("distinct2", lambda t: distinct_n(t, 2)),
                            ("repeated3", repeated_ngram_share))},
        })
        print(f"prompt {i + 1}/{args.prompts}: top {chosen.score:.2f}, mean {np.mean(scores):.2f}", file=sys.stderr)
    mean = lambda key: float(np.nanmean([r[key] for r in rows]))  # noqa: E731
    return {
        "prompts": len(rows),
        "top_ge_mean": sum(r["top"] >= r["mean"] for r in rows),
        "mean_top_score": mean("top"), "mean_candidate_score": mean("mean"),
        **{f"{k}_{side}": mean(f"{k}_{side}") for k in ("generic_per_1k", "distinct2", "repeated3")
           for side in ("chosen", "random")},
        "chosen_better_or_equal_generic": sum(r["generic_per_1k_chosen"] <= r["generic_per_1k_random"] for r in rows),
        "rows": rows,
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=None)
    p.add_argument("--tokens", type=int, default=96)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--n", type=int, default=4)
    p.add_argument("--json", action="store_true")
    p.add_argument("--quality", action="store_true", help="the 20-prompt quality check instead of timings")
    p.add_argument("--prompts", type=int, default=20)
    args = p.parse_args(argv)

    from engine.generate import SamplingOptions, generate, generate_candidates
    from engine.models import load_model
    from engine.quality.composite import score_texts
    from engine.quality.rerank import candidate_options

    lm = load_model(args.model)
    if args.quality:
        res = quality(args, lm)
        if args.json:
            print(json.dumps(res, indent=2))
        else:
            print(f"{res['prompts']} prompts, n={args.n}, {args.tokens} max tokens\n")
            print(f"top >= mean candidate: {res['top_ge_mean']}/{res['prompts']} "
                  f"(mean top {res['mean_top_score']:.2f} vs mean candidate {res['mean_candidate_score']:.2f})\n")
            print("| measure | WQRM-chosen | random pick |")
            print("|---|---|---|")
            for k, label in (("generic_per_1k", "generic-phrase hits / 1k words (lower better)"),
                             ("distinct2", "distinct-2 (higher better)"),
                             ("repeated3", "repeated 3-gram share (lower better)")):
                print(f"| {label} | {res[k + '_chosen']:.3f} | {res[k + '_random']:.3f} |")
        return 0
    opts = SamplingOptions(max_tokens=args.tokens, seed=0)
    score_texts(["Warm-up: load the embedder and the weights."])  # one-time loads out of the timings
    generate(lm, PROMPT, opts.replace(max_tokens=8), reuse_prompt_cache=False)

    plain, batch, scoring, plain_tokens, batch_tokens = [], [], [], [], []
    for r in range(args.repeats):
        o = opts.replace(seed=r)
        tic = time.perf_counter()
        c = generate(lm, PROMPT, o, reuse_prompt_cache=False)
        plain.append(time.perf_counter() - tic)
        plain_tokens.append(len(c.tokens))

        tic = time.perf_counter()
        cands = generate_candidates(lm, PROMPT, args.n, candidate_options(o, args.n), reuse_prompt_cache=False)
        mid = time.perf_counter()
        score_texts([x.text.strip() or "." for x in cands], logprobs=[x.logprobs for x in cands])
        end = time.perf_counter()
        batch.append(mid - tic)
        scoring.append(end - mid)
        batch_tokens.append(max(len(x.tokens) for x in cands))

    med = statistics.median
    total = [b + s for b, s in zip(batch, scoring)]
    result = {
        "model": lm.model_id,
        "tokens": args.tokens,
        "n": args.n,
        "repeats": args.repeats,
        "plain_s": med(plain),
        "plain_tokens": med(plain_tokens),
        "batch_s": med(batch),
        "batch_longest_tokens": med(batch_tokens),
        "scoring_s": med(scoring),
        "rerank_s": med(total),
        "ratio": med(total) / med(plain),
        "ratio_per_token": (med(total) / med(batch_tokens)) / (med(plain) / med(plain_tokens)),
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"model {result['model']}, {args.tokens} max tokens, n={args.n}, median of {args.repeats}\n")
        print("| | seconds | tokens |")
        print("|---|---|---|")
        print(f"| plain generate (1 candidate) | {result['plain_s']:.2f} | {result['plain_tokens']:.0f} |")
        print(f"| generate_candidates (n={args.n}, one batch) | {result['batch_s']:.2f} | {result['batch_longest_tokens']:.0f} (longest) |")
        print(f"| WQRM scoring of the {args.n} | {result['scoring_s']:.2f} | |")
        print(f"| **rerank total** | **{result['rerank_s']:.2f}** | |")
        print(f"\nrerank / plain = {result['ratio']:.2f}x (per generated token: {result['ratio_per_token']:.2f}x); target <= 2x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
