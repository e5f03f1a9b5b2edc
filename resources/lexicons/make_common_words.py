"""Write resources/lexicons/{en,ru}/common_words.txt: words usually written in lower case.

    python resources/lexicons/make_common_words.py DATA_DIR [--top 15000]

A capitalised word that opens a sentence is a name only if it is not one of these
(engine.quality.facts). Counted over the public-domain corpora (corpora/{en,ru}): a word
is listed when it is seen at least 5 times in lower case and in lower case at least half
the times it is seen mid-sentence; the most frequent `--top` are kept.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from pathlib import Path

_TOKEN = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*|[.!?…]")


def count(files: list[Path]) -> tuple[Counter, Counter]:
    lower, upper = Counter(), Counter()
    for path in files:
        prev = "."
        for tok in _TOKEN.findall(path.read_text(encoding="utf-8")):
            if tok in ".!?…":
                prev = tok
                continue
            if prev not in ".!?…":
                (lower if tok[0].islower() else upper)[tok.lower().replace("’", "'")] += 1
            prev = tok
    return lower, upper


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", type=Path,
                        help="the shared data folder (with corpora/en, corpora/ru)")
    parser.add_argument("--top", type=int, default=15000)
    args = parser.parse_args(argv)
    for lang in ("en", "ru"):
        files = sorted((args.data / "corpora" / lang).glob("*/*.txt"))
        if not files:
            raise SystemExit(f"make_common_words: no corpora under {args.data / 'corpora' / lang}")
        lower, upper = count(files)
        words = [w for w, n in lower.most_common() if n >= 5 and n >= upper[w]][: args.top]
        out = Path(__file__).resolve().parent / lang / "common_words.txt"
        out.parent.mkdir(parents=True, exist_ok=True)
        header = (f"# words usually written in lower case, from the {lang} public-domain corpora; "
                  f"{len(words)} words\n")
        out.write_text(header + "\n".join(sorted(words)) + "\n", encoding="utf-8")
        print(f"{out}: {len(words)} words")
    return 0


if __name__ == "__main__":
    sys.exit(main())
