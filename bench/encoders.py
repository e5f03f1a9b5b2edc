"""Encoder speed: milliseconds per 150-word paragraph, one at a time and batched.

    python -m engine.runtime_exec bench/encoders.py [--json]

Paragraphs come from tests/encoders/data/reference.json (public-domain prose), cut or
repeated to 150 words. Reports wall and process-CPU time per paragraph for each encoder
(and the style encoder when one ships), with the 1-minute load average: on a shared machine
CPU time is the steadier number.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def paragraphs(n: int, words: int = 150) -> list[str]:
    ref = json.loads((ROOT / "tests/encoders/data/reference.json").read_text())
    texts = [it["text"] for it in ref["items"] if it["lang"] in ("en", "ru")]
    out = []
    for i in range(n):
        w = texts[i % len(texts)].split()
        out.append(" ".join((w * (words // len(w) + 1))[:words]))
    return out


def timed(fn, repeats: int) -> tuple[float, float]:
    fn()  # warm-up
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - wall) / repeats, (time.process_time() - cpu) / repeats


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    from engine.encoders import BUILTIN, load
    from engine.encoders.style import STYLE_ENCODER, style_encoder

    texts = paragraphs(args.batch)
    rows = []
    encoders = [(name, load(name)) for name in BUILTIN]
    if (STYLE_ENCODER / "encoder.json").is_file():
        encoders.append(("style encoder", style_encoder()))
    for name, enc in encoders:
        base = getattr(enc, "_encoder", enc)
        limit = getattr(getattr(enc, "spec", None), "max_tokens", None)
        tokens = sum(len(x) for x in base.tokenize(texts, limit)) / len(texts)
        one = timed(lambda e=enc: e.encode(texts[:1]), args.repeats)
        many = timed(lambda e=enc: e.encode(texts, batch_size=args.batch), args.repeats)
        rows.append({"encoder": name, "tokens": round(tokens),
                     "one_wall_ms": round(one[0] * 1000, 1), "one_cpu_ms": round(one[1] * 1000, 1),
                     "batched_wall_ms": round(many[0] * 1000 / len(texts), 1),
                     "batched_cpu_ms": round(many[1] * 1000 / len(texts), 1)})
    result = {"paragraph_words": 150, "batch": args.batch, "rows": rows,
              "cpu_count": os.cpu_count(), "load_avg_1m": round(os.getloadavg()[0], 1)}
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"150-word paragraphs, batch {args.batch}, load average {result['load_avg_1m']}")
    print("| encoder | tokens | one: wall ms | one: CPU ms | batched: wall ms/paragraph | "
          "batched: CPU ms/paragraph |\n|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['encoder']} | {r['tokens']} | {r['one_wall_ms']} | {r['one_cpu_ms']} | "
              f"{r['batched_wall_ms']} | {r['batched_cpu_ms']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
