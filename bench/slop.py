"""Antislop: stock phrases per 1,000 words and speed, without and with it, same prompts and seeds.

    python -m engine.runtime_exec bench/slop.py [--model default] [--seeds 2] [--tokens 120]
        [--lead-tokens 48] [--speed-prompts 3] [--speed-tokens 96] [--json]

Two prompt sets (dev prompts, not held-out data): the 20 story openings of
bench/rerank.py, continued for --tokens; and 20 cliche lead-ins below, each ending just
before where LLM prose reaches for a stock phrase ("her voice was" ... "barely above a
whisper"), continued for --lead-tokens. Each prompt is continued with --seeds seeds, as
one generate_batch per seed and condition, same SamplingOptions except `antislop`.
Two counts per 1,000 words, with percentile bootstrap 95% CIs over prompts (and the
paired difference off - on):
- listed: phrases of antislop's list (the one the sampler uses), as whole words;
- generic: every hit of the quality lexicons (engine.quality.slop.find_generic: the
  2,500 over-represented phrases, 2,000+1,000 words, regexes), most of which the
  sampler does not target.
Speed: single-stream `generate` on --speed-prompts openings, off and on interleaved,
tokens per second (median).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

LEAD_INS = (
    "She leaned closer, and her voice was",
    "The air in the old library was",
    "The night sky above the desert was a",
    "As he stepped into the clearing, a shiver",
    "Standing at the edge of the cliff, he",
    "The market at dawn was a",
    "When she finally smiled, her eyes",
    "The old stone bridge was a",
    "After the argument, the silence in the room was",
    "Watching the boats come in, she couldn't",
    "The forest at night was alive with a",
    "His last words hung in the air, and",
    "From the hilltop, the city lights stretched out below them like a",
    "Every step she took across the ballroom was a",
    "The storm had passed, and now the garden",
    "He knew the journey ahead would",
    "For forty years, their marriage had been a",
    "The wind moved through the tall grass, and",
    "Deep down, she knew that",
    "The sun dipped below the horizon,",
)


def listed_hits(text: str, phrases) -> int:
    from engine.generate.antislop import normalise

    low, hits, start = normalise(text), 0, 0
    while (hit := phrases.find(low, start, final=True)) is not None:
        hits += 1
        start = hit[0] + len(hit[1])
    return hits


def rate_ci(hits, words, seed: int = 0) -> dict:
    """Hits per 1,000 words over all prompts, with a bootstrap CI resampling prompts."""
    import numpy as np

    from training.evaluation.metrics import bootstrap_ci

    hits, words = np.asarray(hits, float), np.asarray(words, float)
    est = bootstrap_ci(np.arange(len(hits)), seed=seed,
                       statistic=lambda i: 1000 * hits[i.astype(int)].sum()
                       / max(words[i.astype(int)].sum(), 1))
    return {"per_1k": est.mean, "lo": est.lo, "hi": est.hi}


def diff_ci(hits_a, words_a, hits_b, words_b, seed: int = 0) -> dict:
    """Paired difference of the two rates (a - b), prompts resampled together."""
    import numpy as np

    from training.evaluation.metrics import bootstrap_ci

    ha, wa, hb, wb = (np.asarray(v, float) for v in (hits_a, words_a, hits_b, words_b))

    def stat(idx):
        idx = idx.astype(int)
        a = ha[idx].sum() / max(wa[idx].sum(), 1)
        return 1000 * (a - hb[idx].sum() / max(wb[idx].sum(), 1))

    est = bootstrap_ci(np.arange(len(ha)), seed=seed, statistic=stat)
    return {"per_1k": est.mean, "lo": est.lo, "hi": est.hi}


def quality(lm, prompts, tokens: int, seeds: int) -> dict:
    from engine.generate import SamplingOptions, default_phrases, generate_batch
    from engine.quality.slop import find_generic, load_lexicon
    from engine.text import words

    phrases, lexicon = default_phrases(), load_lexicon("en")
    rows = {False: [], True: []}
    examples = []
    for s in range(seeds):
        opts = [SamplingOptions(max_tokens=tokens, seed=1000 * s + i)
                for i in range(len(prompts))]
        for on in (False, True):
            tic = time.perf_counter()
            outs = generate_batch(lm, prompts, [o.replace(antislop=on) for o in opts])
            print(f"seed {s} antislop={on}: {time.perf_counter() - tic:.0f} s", file=sys.stderr)
            for i, c in enumerate(outs):
                rows[on].append({"prompt": i, "seed": s, "words": len(words(c.text)),
                                 "listed": listed_hits(c.text, phrases),
                                 "generic": len(find_generic(c.text, lexicon)),
                                 "rewinds": c.rewinds, "text": c.text})
        for off, on in zip(rows[False][-len(prompts):], rows[True][-len(prompts):]):
            if on["rewinds"] and len(examples) < 6:
                examples.append({"prompt": prompts[off["prompt"]], "off": off["text"],
                                 "on": on["text"]})
    out = {"prompts": len(prompts), "seeds": seeds, "tokens": tokens,
           "list_size": len(phrases.factors), "examples": examples}
    for on, key in ((False, "off"), (True, "on")):
        r = rows[on]
        out[key] = {
            "words": sum(x["words"] for x in r),
            "rewinds": sum(x["rewinds"] for x in r),
            **{m: rate_ci([x[m] for x in r], [x["words"] for x in r])
               for m in ("listed", "generic")},
        }
    out["diff"] = {m: diff_ci([x[m] for x in rows[False]], [x["words"] for x in rows[False]],
                              [x[m] for x in rows[True]], [x["words"] for x in rows[True]])
                   for m in ("listed", "generic")}
    return out


def speed(lm, args) -> dict:
    from bench.rerank import OPENINGS
    from engine.generate import SamplingOptions, generate

    opts = SamplingOptions(max_tokens=args.speed_tokens, seed=0)
    generate(lm, OPENINGS[0], opts.replace(max_tokens=8, antislop=True), reuse_prompt_cache=False)
    tps = {False: [], True: []}
    rewinds = 0
    for i, prompt in enumerate(OPENINGS[: args.speed_prompts]):
        for on in (False, True):
            tic = time.perf_counter()
            c = generate(lm, prompt, opts.replace(seed=i, antislop=on), reuse_prompt_cache=False)
            tps[on].append(len(c.tokens) / (time.perf_counter() - tic))
            rewinds += c.rewinds
    off, on = statistics.median(tps[False]), statistics.median(tps[True])
    return {"off_tps": off, "on_tps": on, "ratio": on / off, "rewinds": rewinds,
            "runs": args.speed_prompts}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=None)
    p.add_argument("--seeds", type=int, default=2)
    p.add_argument("--tokens", type=int, default=120)
    p.add_argument("--lead-tokens", type=int, default=48)
    p.add_argument("--speed-prompts", type=int, default=3)
    p.add_argument("--speed-tokens", type=int, default=96)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)

    from bench.rerank import OPENINGS
    from engine.models import load_model

    lm = load_model(args.model)
    res = {"model": lm.model_id,
           "openings": quality(lm, list(OPENINGS), args.tokens, args.seeds),
           "lead_ins": quality(lm, list(LEAD_INS), args.lead_tokens, args.seeds),
           "speed": speed(lm, args)}
    if args.json:
        print(json.dumps(res, indent=2))
        return 0
    print(f"model {res['model']}, antislop list of {res['openings']['list_size']} phrases\n")
    print("| prompts | per 1,000 words (95% CI) | antislop off | antislop on | off - on |")
    print("|---|---|---|---|---|")
    for name, label in (("openings", "story openings"), ("lead_ins", "cliche lead-ins")):
        q = res[name]
        head = f"{label} ({q['prompts']} x {q['seeds']} seeds, {q['tokens']} tokens)"
        for m, what in (("listed", "antislop-listed phrases"), ("generic", "generic-lexicon hits")):
            cells = [f"{d['per_1k']:.2f} [{d['lo']:.2f}, {d['hi']:.2f}]"
                     for d in (q["off"][m], q["on"][m], q["diff"][m])]
            print(f"| {head} | {what} | " + " | ".join(cells) + " |")
            head = ""
        print(f"| | words (rewinds) | {q['off']['words']} | {q['on']['words']} "
              f"({q['on']['rewinds']}) | |")
    s = res["speed"]
    print("\n| single stream | tokens/s (median) |")
    print("|---|---|")
    print(f"| antislop off | {s['off_tps']:.2f} |")
    print(f"| antislop on | {s['on_tps']:.2f} (x{s['ratio']:.2f}, {s['rewinds']} rewinds) |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
