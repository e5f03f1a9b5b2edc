"""Reranking cost: rerank(n=4) (one batch of 4 + WQRM scoring) vs one plain generation, same run.

    python -m engine.runtime_exec bench/rerank.py [--model default] [--tokens 96] [--repeats 3] [--n 4]

Same model object, prompt and base sampling settings; prompt cache off for both;
EOS is not suppressed, so each timing is divided by the tokens actually produced
as well. Target: rerank(n=4) wall time <= 2x the plain generation.
Prints a markdown table (JSON with --json).

The blind quality study (the WQRM's pick vs a random candidate) is bench/rerank_study.py.
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


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=None)
    p.add_argument("--tokens", type=int, default=96)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--n", type=int, default=4)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)

    from engine.generate import SamplingOptions, generate, generate_candidates
    from engine.models import load_model
    from engine.quality.composite import score_texts
    from engine.quality.rerank import candidate_options

    lm = load_model(args.model)
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
