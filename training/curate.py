"""Curate an author's prose: strip what is not prose, filter, dedupe, pick diverse passages.

Steps (each a small function below):
1. read .txt/.md/.docx/.epub/... with the index's readers (engine.index.readers);
2. strip non-prose: tables of contents, chapter headings, front and back matter
   (prefaces, copyright pages, "THE END" and what follows), footnotes and their markers;
3. group short paragraphs (dialogue) into passages of at least `min_para_words`
   and apply the quality filters: complete sentences, special-character ratio,
   repeated-word ratio, encoding artefacts, OCR junk;
4. drop near-duplicate passages (MinHash, `simlar`; datasketch if simlar is missing);
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
from engine.text import linked_groups, tokens_per_word, word_count, words
from training.corpus import Corpus, Section, write_corpus

_FOOTNOTE_MARK = re.compile(r"\[(?:\d{1,3}|[*†‡§]|[a-z])\]|\{\d{1,3}\}|(?<=[a-z.,;:!?])[¹²³⁴⁵⁶⁷⁸⁹⁰]+")
_FOOTNOTE_BODY = re.compile(r"^\s*\[?(footnote|note)\s*\d*[:.\]]", re.IGNORECASE)
_TOC_TITLE = re.compile(r"^\s*(table of )?contents\.?\s*$|^\s*оглавление\.?\s*$|^\s*содержание\.?\s*$", re.IGNORECASE)
_CHAPTERISH = re.compile(r"\b(chapter|book|part|letter|stave|глава)\s+([ivxlcdm]+|\d+|[a-z]+)\b", re.IGNORECASE)
_PAGE_REF = re.compile(r"(\.{3,}|…)\s*\d+\s*$|\s\d{1,4}\s*$")
_MATTER = re.compile(
    r"^\s*(preface|introduction|foreword|dedication|acknowledg(e)?ments?|about the author|"
    r"transcriber'?s? notes?|editor'?s? notes?|notes|endnotes|footnotes|appendix|index|glossary|"
    r"bibliography|advertisements?|list of illustrations|illustrations|copyright|also by .*|"
    r"предисловие|примечания|комментарии|от редакции)\b[\s.:]*$",
    re.IGNORECASE,
)
_BOILERPLATE = re.compile(
    r"copyright|\bisbn\b|all rights reserved|project gutenberg|printed in|published by|produced by|"
    r"\be-?text\b|www\.|https?://|publisher|typeset|first published|library of congress",
    re.IGNORECASE,
)
_THE_END = re.compile(r"^\s*(the end|finis|конец)\.?\s*$", re.IGNORECASE)
_MOJIBAKE = re.compile(r"[ÃÂ][\x80-\xBF¡-¿]|â€|Ð[\x80-\xBF]|\ufffd|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SENT_END = re.compile(r"[.!?…][\"'”’»)\]]*(?=\s|$)")
_ALLOWED_PUNCT = set(".,;:!?'\"()-—–…’‘“”«»[]/&*")


@dataclass
class CurateConfig:
    files: list[str] = field(default_factory=list, metadata={"help": "the author's texts (.txt .md .docx .epub ...)", "cli": False})
    author: str = field(default="", metadata={"help": "the author's name (as it appears in prompts)"})
    out: str | None = field(default=None, metadata={"help": "corpus file to write (default: runs/<author>/corpus.txt)"})
    language: str | None = field(default=None, metadata={"help": "en, ru, ... (default: detected)"})
    min_para_words: int = field(default=40, metadata={"help": "shortest passage; shorter paragraphs are merged with neighbours"})
    min_sentences: int = field(default=2, metadata={"help": "complete sentences a passage needs"})
    max_special_ratio: float = field(default=0.10, metadata={"help": "most non-letter, non-punctuation characters"})
    max_repeat_ratio: float = field(default=0.15, metadata={"help": "largest share of one content word"})
    max_junk_ratio: float = field(default=0.08, metadata={"help": "largest share of OCR-junk tokens"})
    dedup_threshold: float = field(default=0.8, metadata={"help": "character 5-gram Jaccard for near duplicates"})
    target_tokens: int = field(default=900_000, metadata={"help": "token budget (smaller corpora use everything)"})
    block_words: int = field(default=1500, metadata={"help": "words per block when picking diverse blocks"})
    cluster: bool = field(default=True, metadata={"help": "pick diverse blocks by embedding clusters (else in order)"})
    seed: int = field(default=0, metadata={"help": "seed for clustering"})
    config: str | None = field(default=None, metadata={"cli": False})


@dataclass
class Para:
    source: str
    index: int
    text: str
    reason: str | None = None  # why it was dropped, None when kept


@dataclass
class Report:
    paragraphs_in: int = 0
    words_in: int = 0
    dropped: Counter = field(default_factory=Counter)
    dropped_words: Counter = field(default_factory=Counter)
    examples: dict = field(default_factory=dict)

    def drop(self, reason: str, text: str, words: int | None = None) -> None:
        self.dropped[reason] += 1
        self.dropped_words[reason] += word_count(text) if words is None else words
        ex = self.examples.setdefault(reason, [])
        if len(ex) < 3:
            ex.append(text[:200])


# -- reading ---------------------------------------------------------------------------------


def read_paragraphs(path: str | Path) -> list[str]:
    """Paragraphs of one file, through the index's readers (whitespace folded)."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise KillahError(f"{path}: no such file")
    from engine.index.readers import ReadError, read_document

    try:
        return read_document(path).paragraphs
    except ReadError as e:
        raise KillahError(f"{path}: {e}") from e


# -- stripping non-prose ---------------------------------------------------------------------


def strip_footnote_markers(text: str) -> str:
    return re.sub(r"\s{2,}", " ", _FOOTNOTE_MARK.sub("", text)).strip()


def strip_markup(text: str) -> str:
    """Gutenberg _italics_ and =bold= markers, HTML-ish tags."""
    text = re.sub(r"(?<!\w)_([^_]+)_(?!\w)", r"\1", text)
    text = re.sub(r"(?<!\w)=([^=]+)=(?!\w)", r"\1", text)
    return re.sub(r"</?[a-zA-Z][^>]{0,40}>", "", text)


def looks_like_heading(text: str) -> bool:
    from training.chunking import is_heading

    words = text.split()
    if is_heading(text):
        return True
    if len(words) > 12 or _SENT_END.search(text.rstrip()[-3:] + " ") or any(q in text for q in "\"“”«»"):
        return False
    if text.rstrip().endswith((",", ";", "-", "—", "–")):
        return False
    capitalised = sum(1 for w in words if w[:1].isupper() or not w[:1].isalpha())
    return len(words) <= 4 or capitalised >= 0.6 * len(words)  # a title, not a line of dialogue


def strip_non_prose(paras: list[Para], report: Report) -> None:
    """Mark headings, tables of contents, front/back matter and footnotes as dropped."""
    n = len(paras)
    in_toc = in_matter = False
    after_end = False
    body_started = False
    for i, p in enumerate(paras):
        t = p.text.strip()
        words = t.split()
        if after_end:
            p.reason = "back_matter"
        elif _THE_END.match(t) and i > 0.8 * n:
            p.reason, after_end = "back_matter", True
        elif _TOC_TITLE.match(t):
            p.reason, in_toc, in_matter = "toc", True, False
        elif in_toc and (looks_like_heading(t) or _PAGE_REF.search(t) or len(_CHAPTERISH.findall(t)) >= 2):
            p.reason = "toc"
        elif len(_CHAPTERISH.findall(t)) >= 3 and len(words) < 25 * len(_CHAPTERISH.findall(t)):
            p.reason = "toc"  # a contents list folded into one paragraph
        elif _MATTER.match(t):
            p.reason, in_matter, in_toc = ("front_matter" if not body_started else "back_matter"), True, False
        elif _BOILERPLATE.search(t) and len(words) < 120:
            p.reason = "front_matter" if not body_started else "back_matter"
        elif looks_like_heading(t):
            in_toc = False
            if in_matter and not _CHAPTERISH.search(t) and not re.match(r"^[IVXLCDM\d]+\.?$", t):
                p.reason = "front_matter" if not body_started else "back_matter"
            else:
                in_matter = False
                p.reason = "heading"
        elif in_matter:
            p.reason = "front_matter" if not body_started else "back_matter"
        elif _FOOTNOTE_BODY.match(t):
            p.reason = "footnote"
        else:
            in_toc = False
            body_started = True
            p.text = strip_markup(strip_footnote_markers(t))
        if p.reason:
            report.drop(p.reason, t)


# -- quality filters --------------------------------------------------------------------------


def complete_sentences(text: str) -> int:
    return len(_SENT_END.findall(text))


def special_char_ratio(text: str) -> float:
    chars = [c for c in text if not c.isspace()]
    if not chars:
        return 1.0
    odd = sum(1 for c in chars if not c.isalnum() and c not in _ALLOWED_PUNCT)
    return odd / len(chars)


def repeated_word_ratio(text: str) -> float:
    """Share of the words taken by the most frequent word of 4+ letters."""
    tokens = words(text)
    if not tokens:
        return 1.0
    content = [w for w in tokens if len(w) >= 4]
    if not content:
        return 0.0
    return Counter(content).most_common(1)[0][1] / len(tokens)


def junk_ratio(text: str) -> float:
    """Share of OCR-junk tokens: letters mixed with digits or symbols, stray fragments."""
    tokens = [t for t in re.split(r"\s+|-{2,}|[—–]", text) if t]  # Gutenberg "--" is a dash
    if not tokens:
        return 1.0
    bad = 0
    for tok in tokens:
        core = tok.strip(".,;:!?\"'()[]“”‘’«»—–-…")
        if not core:
            continue
        has_alpha = any(c.isalpha() for c in core)
        has_digit = any(c.isdigit() for c in core)
        odd = sum(1 for c in core if not (c.isalnum() or c in "'’-"))
        if (has_alpha and has_digit) or (has_alpha and odd) or (len(core) == 1 and core.isalpha() and core.lower() not in "aio"):
            bad += 1
    return bad / len(tokens)


def has_encoding_artefacts(text: str) -> bool:
    if _MOJIBAKE.search(text):
        return True
    return any(unicodedata.category(c) in ("Co", "Cs") for c in text)


def quality_problem(text: str, cfg: CurateConfig) -> str | None:
    """The first quality filter a passage fails, or None."""
    if has_encoding_artefacts(text):
        return "encoding"
    if word_count(text) < cfg.min_para_words:
        return "too_short"
    if special_char_ratio(text) > cfg.max_special_ratio:
        return "special_chars"
    if junk_ratio(text) > cfg.max_junk_ratio:
        return "ocr_junk"
    if complete_sentences(text) < cfg.min_sentences:
        return "few_sentences"
    if repeated_word_ratio(text) > cfg.max_repeat_ratio:
        return "repeated_words"
    return None


def passages(paras: list[Para], min_words: int, min_sentences: int = 2) -> list[list[Para]]:
    """Runs of kept paragraphs, merged forward until `min_words` and `min_sentences` (dialogue stays)."""
    out: list[list[Para]] = []
    current: list[Para] = []
    for p in paras:
        if p.reason:
            if current:
                out.append(current)
            out.append([p])  # a dropped paragraph stands alone and breaks the run
            current = []
            continue
        current.append(p)
        text = " ".join(q.text for q in current)
        if word_count(text) >= min_words and complete_sentences(text) >= min_sentences:
            out.append(current)
            current = []
    if current:
        out.append(current)
    return out


# -- near duplicates --------------------------------------------------------------------------


def near_duplicate_clusters(texts: list[str], threshold: float) -> list[list[int]]:
    try:
        import simlar
    except ImportError:
        simlar = None
    if simlar is not None:
        return simlar.near_duplicates(texts, threshold, ngram=5, lowercase=True, fold_whitespace=True)
    from datasketch import MinHash, MinHashLSH

    lsh = MinHashLSH(threshold=threshold, num_perm=128)
    hashes = []
    for i, t in enumerate(texts):
        norm = " ".join(t.lower().split())
        m = MinHash(num_perm=128, seed=1)
        for j in range(max(1, len(norm) - 4)):
            m.update(norm[j : j + 5].encode("utf-8"))
        hashes.append(m)
        lsh.insert(str(i), m)
    pairs = ((i, j) for i, m in enumerate(hashes) for j in map(int, lsh.query(m)) if j != i)
    return linked_groups(len(texts), pairs)


# -- diversity under a budget -----------------------------------------------------------------


def pick_diverse(blocks: list[Section], budget_words: int, use_clusters: bool, seed: int) -> list[Section]:
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
        queues = [sorted((i for i in range(len(blocks)) if km.labels_[i] == c), key=lambda i: dist[i]) for c in range(k)]
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
    s = re.sub(r"[^\w]+", "-", unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()).strip("-")
    return s or "author"


def run(cfg: CurateConfig, progress: ProgressCallback | None = None) -> dict:
    """Curate `files` into one corpus file; returns the curation report."""
    from engine import atomic, paths
    from training.chunking import detect_lang

    if not cfg.files:
        raise KillahError("curate needs at least one input file")
    if not cfg.author:
        raise KillahError("curate needs --author")
    out = Path(cfg.out).expanduser() if cfg.out else paths.runs_dir() / slug(cfg.author) / "corpus.txt"
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
        raise KillahError(f"curate: nothing left of {len(cfg.files)} file(s) after filtering (see the report)")

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
        "dedup": "simlar" if _has_simlar() else "datasketch",
    }
    atomic.write_json(out.with_name("curation_report.json"), result)
    report_progress(progress, "curate", len(cfg.files), len(cfg.files), "file")
    return result


def _has_simlar() -> bool:
    try:
        import simlar  # noqa: F401
    except ImportError:
        return False
    return True


def _resolve(args) -> CurateConfig:
    from training.config import resolve

    ns = args if isinstance(args, dict) else vars(args)
    cfg = resolve(CurateConfig, ns, ns.get("config"))
    if ns.get("files"):
        cfg.files = list(ns["files"])
    return cfg


def build_parser() -> argparse.ArgumentParser:
    from engine.clikit import add_output_options
    from training.config import add_dataclass_options

    parser = argparse.ArgumentParser(prog="killah train curate", description="Curate an author's prose into a corpus file.")
    parser.add_argument("files", nargs="+", help="the author's texts")
    add_dataclass_options(parser, CurateConfig)
    parser.add_argument("-c", "--config", help="YAML file with these options (the command line wins)")
    add_output_options(parser)
    return parser


def human(r: dict) -> str:
    lines = [f"corpus: {r['corpus']}",
             f"kept {r['words_out']:,} of {r['words_in']:,} words (~{r['tokens_estimate']:,} tokens) in {r['sections']} sections"]
    for reason, n in sorted(r["dropped"].items(), key=lambda kv: -kv[1]):
        lines.append(f"  dropped {n:>6} {reason:<15} ({r['dropped_words'].get(reason, 0):,} words)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from engine.clikit import emit
    from training.progress import CliProgress

    args = build_parser().parse_args(argv)
    with CliProgress() as progress:
        result = run(_resolve(args), progress=progress)
    emit(args, result, human=human)
    return 0


if __name__ == "__main__":
    sys.exit(main())
