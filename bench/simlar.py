"""Benchmark simlar against rapidfuzz and datasketch on real paragraphs.

    python bench/simlar.py --corpora DATA_DIR/corpora   # the table in docs/simlar.md
    python bench/simlar.py            # on the shipped reference authors (fewer paragraphs)

One run, same data, same machine:
1. Normalized Levenshtein, all pairs: simlar.levenshtein_normalized_matrix vs
   rapidfuzz.process.cdist(scorer=Levenshtein.normalized_distance, workers=-1);
   the two matrices must be identical.
2. Near-duplicates among 20,000 paragraphs (real paragraphs of --corpora, at most as many
   as it holds; 5% of them near-copies of others with one word replaced): simlar.near_duplicates
   vs datasketch MinHash + MinHashLSH with the same threshold, num_perm, bands/rows
   and 5-character shingles, whose candidates get the same exact Jaccard re-check.
   Reported: time and how many clusters agree.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import re
import sys
import time
from pathlib import Path

# This file is named simlar.py: keep `import simlar` from importing itself when it
# runs as a script (its folder is sys.path[0] then).
sys.path = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import numpy as np
from datasketch import MinHash, MinHashLSH
from rapidfuzz.distance import Levenshtein
from rapidfuzz.process import cdist

import simlar
from engine.text import linked_groups

SHIPPED = Path(__file__).resolve().parents[1] / "resources" / "reference"


def paragraphs(folder: Path, min_chars: int = 50, max_chars: int = 2000) -> list[str]:
    out = []
    for path in sorted(folder.rglob("*.txt")):
        for block in re.split(r"\n\s*\n", path.read_text(encoding="utf-8")):
            text = " ".join(block.split())
            if min_chars <= len(text) <= max_chars:
                out.append(text)
    return out


def best_of(repeats: int, fn):
    """(best wall time in seconds, last result)."""
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def shingles(text: str, n: int) -> set[str]:
    if len(text) < n:
        return {text} if text else set()
    return {text[i : i + n] for i in range(len(text) - n + 1)}


def components(n_items: int, pairs) -> list[list[int]]:
    return linked_groups(n_items, pairs)


def datasketch_near_duplicates(texts, threshold, num_perm, ngram):
    """Returns (clusters, seconds for MinHash + LSH, seconds for the exact re-check)."""
    start = time.perf_counter()
    sets = [shingles(t, ngram) for t in texts]
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    hashes = []
    for i, s in enumerate(sets):
        m = MinHash(num_perm=num_perm)
        m.update_batch([g.encode("utf-8") for g in s])
        hashes.append(m)
        lsh.insert(i, m)
    candidates = {(min(i, j), max(i, j)) for i, m in enumerate(hashes) for j in lsh.query(m) if j != i}
    lsh_seconds = time.perf_counter() - start
    start = time.perf_counter()
    verified = []
    for i, j in candidates:
        a, b = sets[i], sets[j]
        union = len(a | b)
        if (len(a & b) / union if union else 1.0) >= threshold:
            verified.append((i, j))
    clusters = components(len(texts), verified)
    return clusters, lsh_seconds, time.perf_counter() - start, (lsh.b, lsh.r)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--choices", type=int, default=3000)
    parser.add_argument("--paragraphs", type=int, default=20_000)
    parser.add_argument("--threshold", type=float, default=0.75)
    parser.add_argument("--num-perm", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--corpora", type=Path, default=SHIPPED,
                        help="folder of .txt files, searched recursively (default: resources/reference)")
    args = parser.parse_args()
    if not args.corpora.is_dir():
        print(f"bench/simlar.py: folder not found: {args.corpora}", file=sys.stderr)
        return 2

    rng = random.Random(0)
    pool = paragraphs(args.corpora)
    args.paragraphs = min(args.paragraphs, len(pool))
    rows = [
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs (load average {os.getloadavg()[0]:.1f}); "
        f"simlar {simlar.__version__}; simlar and rapidfuzz: best of {args.repeats} runs, datasketch: one run",
        "",
        "| task | data | simlar | reference | speed-up | agreement |",
        "|---|---|---|---|---|---|",
    ]

    # 1. Normalized Levenshtein, all pairs.
    lines = rng.sample(pool, args.queries + args.choices)
    for label, data in (
        ("paragraphs, 50-2000 chars", rng.sample(pool, args.queries + args.choices)),
        ("paragraph openings, 64 chars", [p[:64] for p in lines]),
        ("paragraph openings, 16 chars", [p[:16] for p in lines]),
    ):
        queries, choices = data[: args.queries], data[args.queries :]
        t_simlar, ours = best_of(args.repeats, lambda: simlar.levenshtein_normalized_matrix(queries, choices))
        t_rf, theirs = best_of(
            args.repeats,
            lambda: cdist(queries, choices, scorer=Levenshtein.normalized_distance, workers=-1, dtype=np.float32),
        )
        same = "identical" if np.array_equal(ours, theirs) else f"max diff {np.abs(ours - theirs).max():.2g}"
        rows.append(
            f"| normalized Levenshtein, {len(queries)} x {len(choices)} | {label} | {t_simlar:.2f} s "
            f"| rapidfuzz cdist {t_rf:.2f} s | {t_rf / t_simlar:.2f}x | {same} |"
        )

    # 2. Near-duplicates among real paragraphs with planted near-copies.
    n_copies = args.paragraphs // 20
    texts = rng.sample(pool, args.paragraphs - n_copies)
    long = [t for t in texts if len(t) >= 300]
    for original in rng.sample(long, n_copies):
        words = original.split(" ")
        words[rng.randrange(len(words))] = "REPLACED"
        texts.append(" ".join(words))
    rng.shuffle(texts)
    bands, rows_per_band = simlar.lsh_params(args.threshold, args.num_perm)
    t_simlar, ours = best_of(
        args.repeats, lambda: simlar.near_duplicates(texts, args.threshold, num_perm=args.num_perm, bands=bands)
    )
    theirs, t_lsh, t_verify, (b, r) = datasketch_near_duplicates(texts, args.threshold, args.num_perm, 5)
    assert (b, r) == (bands, rows_per_band), f"datasketch chose b={b}, r={r}; simlar {bands}, {rows_per_band}"
    ours_set, theirs_set = {tuple(c) for c in ours}, {tuple(c) for c in theirs}
    common = len(ours_set & theirs_set)
    rows.append(
        f"| near-duplicates, threshold {args.threshold}, {args.num_perm} perms ({bands} bands x {rows_per_band} rows) "
        f"| {len(texts):,} paragraphs ({n_copies:,} planted near-copies) | {t_simlar:.2f} s "
        f"| datasketch MinHashLSH {t_lsh:.2f} s (+ {t_verify:.2f} s re-check) | {t_lsh / t_simlar:.1f}x "
        f"| {common} of {len(ours)} (simlar) / {len(theirs)} (datasketch) clusters identical |"
    )
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
