"""Index throughput: a full index of a folder of prose, then a re-sync of the unchanged folder.

    python -m engine.runtime_exec bench/index.py                 # read + store (no embeddings)
    python -m engine.runtime_exec bench/index.py --embed-sample 256   # plus embedding throughput
    python -m engine.runtime_exec bench/index.py --folder DATA_DIR/corpora/en   # docs/index.md

--folder defaults to the shipped English reference authors (resources/reference/en);
docs/index.md's figures are for the full development corpora.

Prints a markdown table (and --json). Uses a fresh temporary database.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.index import IndexStore, sync  # noqa: E402

SHIPPED = Path(__file__).resolve().parents[1] / "resources" / "reference" / "en"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", default=str(SHIPPED),
                        help="folder of documents to index (default: resources/reference/en)")
    parser.add_argument("--embed-sample", type=int, default=0,
                        help="also embed this many paragraphs and report paragraphs/s")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not Path(args.folder).is_dir():
        print(f"bench/index.py: folder not found: {args.folder}", file=sys.stderr)
        return 2

    with tempfile.TemporaryDirectory() as tmp, IndexStore(Path(tmp) / "bench.sqlite") as store:
        store.add_folder(args.folder)
        start = time.perf_counter()
        full = sync(store, embed=False)
        full_s = time.perf_counter() - start
        start = time.perf_counter()
        resync = sync(store, embed=False)
        resync_s = time.perf_counter() - start
        status = store.status()
        result = {
            "folder": args.folder, "files": full.added, "errors": len(full.errors),
            "paragraphs_read": full.paragraphs, "distinct_paragraphs": status["paragraphs"],
            "full_s": round(full_s, 2), "paragraphs_per_s": round(full.paragraphs / full_s, 1),
            "resync_s": round(resync_s, 3), "resync_share": round(resync_s / full_s, 4),
            "resync_read_files": len(resync.read_files), "dedup": status["dedup"],
            "cpu_count": os.cpu_count(), "load_avg_1m": round(os.getloadavg()[0], 1),
        }
        if args.embed_sample:
            from engine.embeddings import embed, get_embedder
            from engine.index.ingest import EMBED_MAX_TOKENS

            get_embedder()
            texts = [t for _, t in store.paragraphs_without_embedding("all-MiniLM-L6-v2",
                                                                       limit=args.embed_sample)]
            start = time.perf_counter()
            embed(texts, max_tokens=EMBED_MAX_TOKENS)
            result["embed_paragraphs_per_s"] = round(len(texts) / (time.perf_counter() - start), 1)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print("| metric | value |\n|---|---|")
        for k, v in result.items():
            print(f"| {k} | {v} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
