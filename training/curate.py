"""Curate an author's prose: strip what is not prose, filter, dedupe, pick diverse passages.

Steps (small functions here and in training/prose.py):
1. read .txt/.md/.docx/.epub/... with the index's readers (engine.index.readers);
2. strip non-prose: tables of contents, chapter headings, front and back matter
   (prefaces, copyright pages, "THE END" and what follows), footnotes and their markers;
3. group short paragraphs (dialogue) into passages of at least `min_para_words`
   and apply the quality filters: complete sentences, special-character ratio,
   repeated-word ratio, encoding artefacts, OCR junk;
4. drop near-duplicate passages (MinHash, the `simlar` Rust extension);
5. over the token budget, cluster blocks of contiguous passages by their sentence
   embeddings and take them round-robin from the clusters, so the corpus stays diverse.

Writes the corpus file (training/corpus.py format) and curation_report.json.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from engine.errors import KillahError
from engine.progress import ProgressCallback, report_progress
from engine.text import tokens_per_word, word_count
from training.corpus import Corpus, Section, write_corpus
from training.prose import (
    Para, Report, passages, quality_problem, read_paragraphs, strip_non_prose,
)


@dataclass(frozen=True)
class CurateConfig:
    files: tuple[str, ...] = field(default=(), metadata={
        "help": "the author's texts (.txt .md .docx .epub ...)", "positional": True})
    author: str = field(
        default="", metadata={"help": "the author's name (as it appears in prompts)"}
    )
    out: str | None = field(default=None, metadata={
        "help": "corpus file to write (default: runs/<author>/corpus.txt)"})
    language: str | None = field(default=None, metadata={"help": "en, ru, ... (default: detected)"})
    min_para_words: int = field(default=40, metadata={
        "help": "shortest passage; shorter paragraphs are merged with neighbours"})
    min_sentences: int = field(default=2, metadata={"help": "complete sentences a passage needs"})
    max_special_ratio: float = field(default=0.10, metadata={
        "help": "most non-letter, non-punctuation characters"})
    max_repeat_ratio: float = field(
        default=0.15, metadata={"help": "largest share of one content word"}
    )
    max_junk_ratio: float = field(
        default=0.08, metadata={"help": "largest share of OCR-junk tokens"}
    )
    dedup_threshold: float = field(default=0.8, metadata={
        "help": "character 5-gram Jaccard for near duplicates"})
    target_tokens: int = field(default=900_000, metadata={
        "help": "token budget, estimated from words (smaller corpora use everything)"})
    block_words: int = field(
        default=1500, metadata={"help": "words per block when picking diverse blocks"}
    )
    cluster: bool = field(default=True, metadata={
        "help": "pick diverse blocks by embedding clusters (else in order)"})
    seed: int = field(default=0, metadata={"help": "seed for clustering"})


# -- near duplicates --------------------------------------------------------------------------


def near_duplicate_clusters(texts: list[str], threshold: float) -> list[list[int]]:
    """Groups of passages whose character 5-gram MinHash similarity reaches `threshold`."""
    import simlar

    return simlar.near_duplicates(texts, threshold, ngram=5, lowercase=True, fold_whitespace=True)


# -- diversity under a budget -----------------------------------------------------------------


def pick_diverse(
    blocks: list[Section], budget_words: int, use_clusters: bool, seed: int
) -> list[Section]:
    """Blocks round-robin from embedding clusters (nearest the centroid first) until the budget."""
    total = sum(b.words for b in blocks)
    if total <= budget_words:
        return blocks
    if not use_clusters or len(blocks) < 4:
        order = list(range(len(blocks)))
    else:
        import numpy as np
        from sklearn.cluster import KMeans

        from engine.embeddings import embed

        vecs = embed([b.text for b in blocks])
        share = budget_words / total
        k = max(2, min(len(blocks) // 2, int(math.sqrt(len(blocks) * share)) + 1))
        km = KMeans(n_clusters=k, n_init=4, random_state=seed).fit(vecs)
        dist = np.linalg.norm(vecs - km.cluster_centers_[km.labels_], axis=1)
        queues = [
            sorted((i for i in range(len(blocks)) if km.labels_[i] == c), key=lambda i: dist[i])
            for c in range(k)
        ]
        order = []
        while any(queues):
            for q in queues:
                if q:
                    order.append(q.pop(0))
    chosen, words = [], 0
    for i in order:
        if chosen and words + blocks[i].words > budget_words:
            continue  # would overshoot: try the next (smaller) block
        chosen.append(i)
        words += blocks[i].words
    return [blocks[i] for i in sorted(chosen)]


def split_blocks(section: Section, block_words: int) -> list[Section]:
    out, cur = [], []
    for p in section.paragraphs:
        cur.append(p)
        if sum(word_count(x) for x in cur) >= block_words:
            out.append(cur)
            cur = []
    if cur:
        if out and sum(word_count(x) for x in cur) < block_words // 3:
            out[-1].extend(cur)
        else:
            out.append(cur)
    return [Section(section.source, 0, ps) for ps in out]


# -- the stage --------------------------------------------------------------------------------


def slug(name: str) -> str:
    s = re.sub(
        r"[^\w]+",
        "-",
        unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower(),
    ).strip("-")
    return s or "author"


def run(cfg: CurateConfig, progress: ProgressCallback | None = None) -> dict:
    """Curate `files` into one corpus file; returns the curation report."""
    from engine import atomic, paths
    from training.chunking import detect_lang

    if not cfg.files:
        raise KillahError("curate needs at least one input file")
    if not cfg.author:
        raise KillahError("curate needs --author")
    out = (
        Path(cfg.out).expanduser()
        if cfg.out
        else paths.runs_dir() / slug(cfg.author) / "corpus.txt"
    )
    report = Report()
    sections: list[Section] = []
    kept_passages: list[tuple[int, list[Para]]] = []  # (source order, passage)
    all_text_sample = []
    names: list[str] = []
    for fi, f in enumerate(cfg.files):
        report_progress(progress, "curate", fi, len(cfg.files), "file", Path(f).name)
        name = Path(f).name
        if name in names:
            name = f"{fi}-{name}"
        names.append(name)
        paras = [Para(name, i, t) for i, t in enumerate(read_paragraphs(f))]
        report.paragraphs_in += len(paras)
        report.words_in += sum(word_count(p.text) for p in paras)
        all_text_sample.append(" ".join(p.text for p in paras[:200]))
        strip_non_prose(paras, report)
        for group in passages(paras, cfg.min_para_words, cfg.min_sentences):
            if group[0].reason:
                continue
            text = " ".join(p.text for p in group)
            problem = quality_problem(text, cfg)
            if problem:
                report.drop(problem, text)
                for p in group:
                    p.reason = problem
            else:
                kept_passages.append((fi, group))

    texts = [" ".join(p.text for p in g) for _, g in kept_passages]
    dup = set()
    for cluster in near_duplicate_clusters(texts, cfg.dedup_threshold):
        for i in cluster[1:]:
            dup.add(i)
            report.drop("near_duplicate", texts[i])
            for p in kept_passages[i][1]:
                p.reason = "near_duplicate"

    # Sections: runs of kept passages that were contiguous in their source.
    prev_end: tuple[str, int] | None = None
    current: Section | None = None
    counters: Counter = Counter()
    for i, (_, group) in enumerate(kept_passages):
        if i in dup:
            prev_end = None
            continue
        first, last = group[0], group[-1]
        if current is None or prev_end is None or prev_end != (first.source, first.index - 1):
            current = Section(first.source, counters[first.source], [])
            counters[first.source] += 1
            sections.append(current)
        current.paragraphs.extend(p.text for p in group)
        prev_end = (last.source, last.index)

    lang = cfg.language or detect_lang(" ".join(all_text_sample))
    tpw = tokens_per_word(lang)
    kept_words = sum(s.words for s in sections)
    budget_words = int(cfg.target_tokens / tpw)
    if kept_words > budget_words:
        report_progress(progress, "curate", message="picking diverse passages")
        blocks = []
        for s in sections:
            for b in split_blocks(s, cfg.block_words):
                blocks.append(Section(s.source, 0, b.paragraphs))
        chosen = pick_diverse(blocks, budget_words, cfg.cluster, cfg.seed)
        dropped_words = kept_words - sum(b.words for b in chosen)
        report.dropped["over_budget"] += len(blocks) - len(chosen)
        report.dropped_words["over_budget"] += dropped_words
        counters = Counter()
        sections = []
        for b in chosen:
            sections.append(Section(b.source, counters[b.source], b.paragraphs))
            counters[b.source] += 1
    if not sections:
        raise KillahError(
            f"curate: nothing left of {len(cfg.files)} file(s) after filtering (see the report)"
        )

    words_out = sum(s.words for s in sections)
    corpus = Corpus(
        meta={"author": cfg.author, "language": lang, "sources": ", ".join(names),
              "words": words_out, "tokens_estimate": int(words_out * tpw)},
        sections=sections,
    )
    write_corpus(out, corpus)
    result = {
        "corpus": str(out), "author": cfg.author, "language": lang, "files": list(cfg.files),
        "paragraphs_in": report.paragraphs_in, "words_in": report.words_in,
        "sections": len(sections), "paragraphs_out": sum(len(s.paragraphs) for s in sections),
        "words_out": words_out, "tokens_estimate": int(words_out * tpw),
        "target_tokens": cfg.target_tokens,
        "dropped": dict(report.dropped), "dropped_words": dict(report.dropped_words),
        "examples": report.examples,
        "dedup": "simlar",
    }
    atomic.write_json(out.with_name("curation_report.json"), result)
    report_progress(progress, "curate", len(cfg.files), len(cfg.files), "file")
    return result


def build_parser() -> argparse.ArgumentParser:
    from training.config import stage_parser

    return stage_parser("killah train curate", "Curate an author's prose into a corpus file.",
                        CurateConfig)


def human(r: dict) -> str:
    lines = [
        f"corpus: {r['corpus']}",
        f"kept {r['words_out']:,} of {r['words_in']:,} words "
        f"(~{r['tokens_estimate']:,} tokens) in {r['sections']} sections",
    ]
    for reason, n in sorted(r["dropped"].items(), key=lambda kv: -kv[1]):
        lines.append(f"  dropped {n:>6} {reason:<15} ({r['dropped_words'].get(reason, 0):,} words)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from engine.clikit import emit
    from training.progress import CliProgress

    from training.config import from_args

    args = build_parser().parse_args(argv)
    cfg = from_args(CurateConfig, args)
    with CliProgress() as progress:
        result = run(cfg, progress=progress)
    emit(args, result, human=human)
    return 0


if __name__ == "__main__":
    sys.exit(main())
