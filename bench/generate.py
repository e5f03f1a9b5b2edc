"""Generation speed: Killah's generator vs plain mlx_lm.stream_generate, same run.

    python -m engine.runtime_exec bench/generate.py [--model default] [--tokens 128] [--repeats 3]

Prints a markdown table (and JSON with --json). Same model object, prompt and
sampling settings for both; repetition penalty and prompt cache off so the two
do identical work. The second table compares N=4 candidates generated as one
batch against 4 sequential single generations.
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


def time_ours(lm, options) -> tuple[float, int]:
    from engine.generate import generate

    tic = time.perf_counter()
    c = generate(lm, PROMPT, options, reuse_prompt_cache=False)
    return time.perf_counter() - tic, len(c.tokens)


def time_raw(lm, options) -> tuple[float, int]:
    import mlx.core as mx
    from mlx_lm import stream_generate
    from mlx_lm.sample_utils import make_sampler

    mx.random.seed(options.seed)
    sampler = make_sampler(temp=options.temperature, min_p=options.min_p)
    n = 0
    tic = time.perf_counter()
    for r in stream_generate(lm.model, lm.tokenizer, PROMPT, max_tokens=options.max_tokens,
                             sampler=sampler):
        n = r.generation_tokens
        if r.finish_reason:
            break
    return time.perf_counter() - tic, n


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=None)
    p.add_argument("--tokens", type=int, default=128)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--n", type=int, default=4)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)

    from engine.generate import SamplingOptions, generate_candidates
    from engine.models import load_model
    from engine.runtime import backend

    lm = load_model(args.model)
    # Greedy with min-p set and no EOS stop short of max_tokens keeps the work identical.
    opts = SamplingOptions(temperature=0.0, min_p=0.05, repetition_penalty=1.0,
                           max_tokens=args.tokens, seed=0)
    time_ours(lm, opts.replace(max_tokens=8))
    time_raw(lm, opts.replace(max_tokens=8))  # warm-up
    ours, raw = [], []
    for _ in range(args.repeats):  # interleaved, so machine load hits both alike
        t, n = time_ours(lm, opts)
        ours.append(n / t)
        t, n = time_raw(lm, opts)
        raw.append(n / t)

    sampled = opts.replace(temperature=0.8, max_tokens=args.tokens // 2)
    tic = time.perf_counter()
    for i in range(args.n):
        time_ours(lm, sampled.replace(seed=i))
    sequential = time.perf_counter() - tic
    tic = time.perf_counter()
    generate_candidates(lm, PROMPT, args.n, sampled, reuse_prompt_cache=False)
    batched = time.perf_counter() - tic

    result = {
        "model": lm.model_id, "dtype": lm.dtype, "backend": backend().describe(),
        "tokens": args.tokens, "repeats": args.repeats,
        "ours_tps": statistics.median(ours), "raw_tps": statistics.median(raw),
        "ratio": statistics.median(ours) / statistics.median(raw),
        "n": args.n, "sequential_s": sequential, "batched_s": batched,
        "batch_ratio": batched / sequential,
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"model {result['model']} ({result['dtype']}), {result['backend']}\n")
        print("| generator | tokens/s (median of %d) |" % args.repeats)
        print("|---|---|")
        print(f"| plain mlx_lm.stream_generate | {result['raw_tps']:.2f} |")
        print(f"| killah stream_generate | {result['ours_tps']:.2f} (x{result['ratio']:.2f}) |\n")
        print(f"| {args.n} candidates of {args.tokens // 2} tokens | seconds |")
        print("|---|---|")
        print(f"| {args.n} x one generation | {sequential:.1f} |")
        print(f"| one batch of {args.n} | {batched:.1f} (x{result['batch_ratio']:.2f}) |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
