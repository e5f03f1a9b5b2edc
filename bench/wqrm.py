"""WQRM scoring speed: milliseconds per ~150-word paragraph, one at a time and batched.

    python -m engine.runtime_exec bench/wqrm.py [--batch 8] [--repeats 5] [--json]

Times engine.quality.composite.score_texts end to end (tokenise, MiniLM layers in MLX,
head, rigid metrics and reasons) on a public-domain paragraph of 150 words, after a
warm-up call that loads the weights. Target: <= 50 ms per paragraph, batched.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# Conrad, "Heart of Darkness" (1899), public domain; 150 words.
PARAGRAPH = (
    "The sea-reach of the Thames stretched before us like the beginning of an interminable "
    "waterway. In the offing the sea and the sky were welded together without a joint, and in "
    "the luminous space the tanned sails of the barges drifting up with the tide seemed to stand "
    "still in red clusters of canvas sharply peaked, with gleams of varnished sprits. A haze "
    "rested on the low shores that ran out to sea in vanishing flatness. The air was dark above "
    "Gravesend, and farther back still seemed condensed into a mournful gloom, brooding "
    "motionless over the biggest, and the greatest, town on earth. The Director of Companies was "
    "our captain and our host. We four affectionately watched his back as he stood in the bows "
    "looking to seaward. On the whole river there was nothing that looked half so nautical. He "
    "resembled a pilot, which to a seaman is trustworthiness personified."
)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    from engine.quality.composite import score_texts

    score_texts([PARAGRAPH])  # warm-up: weights, tokenizer, lexicons
    res = {"words": len(PARAGRAPH.split()), "load_avg_1min": round(os.getloadavg()[0], 2)}
    for label, size in (("single", 1), ("batched", args.batch)):
        times = []
        for _ in range(args.repeats):
            tic = time.perf_counter()
            score_texts([PARAGRAPH] * size)
            times.append((time.perf_counter() - tic) * 1000 / size)
        res[f"{label}_ms_per_paragraph"] = round(statistics.median(times), 1)
    res["batch"] = args.batch
    if args.json:
        print(json.dumps(res))
    else:
        print(
            f"{res['words']}-word paragraph: {res['single_ms_per_paragraph']} ms alone, "
            f"{res['batched_ms_per_paragraph']} ms each in a batch of {args.batch} "
            f"(target <= 50 ms batched; 1-min load {res['load_avg_1min']})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
