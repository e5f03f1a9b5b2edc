"""What counts as prose for curation: reading files, stripping non-prose, the quality filters.

training.curate runs these in order: `read_paragraphs`, `strip_non_prose` (tables of
contents, headings, front and back matter, footnotes), `passages` (short paragraphs
merged forward, so dialogue stays) and `quality_problem` on each passage.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from engine.errors import KillahError
from engine.text import word_count, words

if TYPE_CHECKING:
    from training.curate import CurateConfig

_FOOTNOTE_MARK = re.compile(
    r"\[(?:\d{1,3}|[*†‡§]|[a-z])\]|\{\d{1,3}\}|(?<=[a-z.,;:!?])[¹²³⁴⁵⁶⁷⁸⁹⁰]+"
)
_FOOTNOTE_BODY = re.compile(r"^\s*\[?(footnote|note)\s*\d*[:.\]]", re.IGNORECASE)
_TOC_TITLE = re.compile(
    r"^\s*(table of )?contents\.?\s*$|^\s*оглавление\.?\s*$|^\s*содержание\.?\s*$", re.IGNORECASE
)
_CHAPTERISH = re.compile(
    r"\b(chapter|book|part|letter|stave|глава)\s+([ivxlcdm]+|\d+|[a-z]+)\b", re.IGNORECASE
)
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
_MOJIBAKE = re.compile(
    r"[ÃÂ][\x80-\xBF¡-¿]|â€|Ð[\x80-\xBF]|\ufffd|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
)
_SENT_END = re.compile(r"[.!?…][\"'”’»)\]]*(?=\s|$)")
_ALLOWED_PUNCT = set(".,;:!?'\"()-—–…’‘“”«»[]/&*")


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
    if (
        len(words) > 12
        or _SENT_END.search(text.rstrip()[-3:] + " ")
        or any(q in text for q in '"“”«»')
    ):
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
        elif in_toc and (
            looks_like_heading(t) or _PAGE_REF.search(t) or len(_CHAPTERISH.findall(t)) >= 2
        ):
            p.reason = "toc"
        elif len(_CHAPTERISH.findall(t)) >= 3 and len(words) < 25 * len(_CHAPTERISH.findall(t)):
            p.reason = "toc"  # a contents list folded into one paragraph
        elif _MATTER.match(t):
            p.reason, in_matter, in_toc = (
                ("front_matter" if not body_started else "back_matter"),
                True,
                False,
            )
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
        if (
            (has_alpha and has_digit)
            or (has_alpha and odd)
            or (len(core) == 1 and core.isalpha() and core.lower() not in "aio")
        ):
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
    """Runs of kept paragraphs, merged forward until `min_words` and `min_sentences`.

    Short paragraphs (dialogue) stay, joined with their neighbours."""
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
