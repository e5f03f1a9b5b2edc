"""Rebuild the shipped reference authors (resources/reference) from a data folder.

    python -m engine.runtime_exec resources/reference/make_sample.py DATA_DIR [--words 60000]

DATA_DIR is a folder holding corpora/{en,ru}/<author>/<work>.txt and MANIFEST.jsonl
(the project's development data; see SOURCES.md). For every author, about
--words words are taken: each work contributes in proportion to its length (so
the judge holds out the same works of the sample as of the full corpus), as
evenly spaced excerpts of whole consecutive paragraphs (headings skipped, every
other paragraph kept, dialogue included, so the sample reads like the whole). Each
work keeps its own file
name, so passages stay labelled by work. SOURCES.md and manifest.json (title,
source, licence and the sample's share of each work) are written beside them.
Held-out authors (DATA_DIR/heldout) are never read.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

OUT = Path(__file__).resolve().parent
EXCERPT_WORDS = 900  # one excerpt: consecutive paragraphs, about this long
MIN_WORK_WORDS = 160  # a work whose share is shorter than one judge passage is left out


def excerpts(text: str, budget: int, excerpt_words: int = EXCERPT_WORDS) -> list[list[str]]:
    """Evenly spaced runs of whole paragraphs, about `budget` words in all."""
    from training.chunking import split_paragraphs

    lines = [line for line in text.splitlines() if line.strip()]
    if lines and sum(map(len, lines)) / len(lines) > 100:  # hard wraps are at ~72 characters
        text = "\n\n".join(lines)  # one paragraph per line (the Russian texts), not hard-wrapped
    paras = split_paragraphs(text)  # every paragraph but headings: dialogue lines too
    total = sum(len(p.split()) for p in paras)
    if budget >= total:
        return [paras]
    k = max(1, round(budget / excerpt_words))
    each = budget / k
    out: list[list[str]] = []
    for i in range(k):
        at = int((i + 0.5) / k * len(paras))
        run: list[str] = []
        words = 0
        while at < len(paras) and words < each:
            run.append(paras[at])
            words += len(paras[at].split())
            at += 1
        out.append(run)
    return out


def _manifest(data: Path) -> dict[str, dict]:
    path = data / "MANIFEST.jsonl"
    rows = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
    return {r["path"]: r for r in rows}


def build(data: Path, words: int, out: Path = OUT,
          excerpt_words: int = EXCERPT_WORDS) -> list[dict]:
    from engine.atomic import write_text
    from training.chunking import word_count

    corpora = data / "corpora"
    if not corpora.is_dir() or not (data / "MANIFEST.jsonl").is_file():
        raise SystemExit(f"make_sample: {data} has no corpora/ and MANIFEST.jsonl "
                         "(give the development data folder)")
    manifest = _manifest(data)
    rows = []
    for lang in ("en", "ru"):
        shutil.rmtree(out / lang, ignore_errors=True)
        for author_dir in sorted(d for d in (corpora / lang).iterdir() if d.is_dir()):
            works = sorted(author_dir.glob("*.txt"))
            texts = {w: w.read_text("utf-8") for w in works}
            sizes = {w: word_count(t) for w, t in texts.items()}
            share = min(1.0, words / sum(sizes.values()))
            for w in works:
                budget = math.ceil(sizes[w] * share)
                if budget < MIN_WORK_WORDS:
                    continue
                runs = excerpts(texts[w], budget, excerpt_words)
                body = "\n\n".join("\n\n".join(run) for run in runs) + "\n"
                rel = f"{lang}/{author_dir.name}/{w.name}"
                write_text(out / rel, body)
                src = manifest.get(f"corpora/{rel}", {})
                rows.append({
                    "path": rel, "lang": lang, "author": author_dir.name,
                    "title": src.get("title", w.stem), "words": word_count(body),
                    "work_words": sizes[w], "excerpts": len(runs),
                    "source": src.get("source", "?"), "src_path": src.get("src_path", "?"),
                    "commit": src.get("commit", "?"), "license": src.get("license", "?"),
                    "sha256": hashlib.sha256(body.encode()).hexdigest(),
                })
    write_text(out / "manifest.json", json.dumps(rows, ensure_ascii=False, indent=1) + "\n")
    write_text(out / "SOURCES.md", sources_md(rows, words))
    return rows


def sources_md(rows: list[dict], words: int) -> str:
    total = sum(r["words"] for r in rows)
    lines = [
        "# Shipped reference authors: where each text came from",
        "",
        "Excerpts of public-domain prose, the authorship judge's candidate authors when",
        "`killah eval style` is given none (training/evaluation/reference.py). Built by",
        f"`resources/reference/make_sample.py DATA_DIR --words {words}` from the project's",
        "development corpora, which took the texts from the repositories below (Project",
        "Gutenberg plain texts with the Gutenberg header, footer and licence removed; RusLit;",
        "the Lovecraft corpus). Every work was first published before 1931 and every author",
        "died in or before 1946: public domain in the US and in life+70 countries.",
        "",
        "Each file holds evenly spaced excerpts of whole paragraphs of one work (headings",
        "skipped, hard line wraps undone); `words` is the sample, `of` the",
        f"whole work. {len(rows)} files, {total:,} words.",
        "",
        "| file | title | words | of | source @ commit | path in source | licence |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(f"| `{r['path']}` | {r['title']} | {r['words']:,} | {r['work_words']:,} | "
                     f"{r['source']}@{r['commit'][:10]} | `{r['src_path']}` | {r['license']} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data", type=Path, help="data folder with corpora/ and MANIFEST.jsonl")
    parser.add_argument("--words", type=int, default=60_000,
                        help="words per author (default 60000)")
    parser.add_argument("--excerpt-words", type=int, default=EXCERPT_WORDS,
                        help=f"length of one excerpt (default {EXCERPT_WORDS})")
    parser.add_argument("--out", type=Path, default=OUT,
                        help="output folder (default: beside this script)")
    args = parser.parse_args(argv)
    rows = build(args.data, args.words, args.out, args.excerpt_words)
    size = sum((args.out / r["path"]).stat().st_size for r in rows)
    print(f"{len(rows)} files, {sum(r['words'] for r in rows):,} words, {size / 1e6:.2f} MB "
          f"-> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
