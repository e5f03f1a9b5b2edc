"""The curated corpus file: versioned, human-readable, one section per contiguous run of prose.

    killah-corpus v1
    author: Jane Austen
    language: en
    ...

    === emma.txt | 12 ===
    First paragraph of a section.

    Second paragraph.

Sections are contiguous prose from one source; `index` is the section's position
in its source, so later stages can split by position in the book and never join
text across a gap that curation made.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from engine.errors import KillahError
from engine.text import word_count

HEADER = "killah-corpus v1"
_SECTION = re.compile(r"^=== (.+) \| (\d+) ===$")


@dataclass
class Section:
    source: str
    index: int
    paragraphs: list[str]

    @property
    def text(self) -> str:
        return "\n\n".join(self.paragraphs)

    @property
    def words(self) -> int:
        return sum(word_count(p) for p in self.paragraphs)


@dataclass
class Corpus:
    meta: dict = field(default_factory=dict)
    sections: list[Section] = field(default_factory=list)

    @property
    def words(self) -> int:
        return sum(s.words for s in self.sections)

    def dumps(self) -> str:
        lines = [HEADER]
        lines += [f"{k}: {v}" for k, v in self.meta.items()]
        lines.append("")
        for s in self.sections:
            lines.append(f"=== {s.source} | {s.index} ===")
            lines.append("\n\n".join(p.replace("\n", " ") for p in s.paragraphs))
            lines.append("")
        return "\n".join(lines) + "\n"


def write_corpus(path: str | Path, corpus: Corpus) -> None:
    from engine.atomic import write_text

    write_text(path, corpus.dumps())


def read_corpus(path: str | Path) -> Corpus:
    path = Path(path).expanduser()
    try:
        text = path.read_text("utf-8")
    except OSError as e:
        raise KillahError(f"corpus {path}: {e.strerror or e}") from e
    lines = text.split("\n")
    if not lines or lines[0].strip() != HEADER:
        raise KillahError(f"corpus {path}: not a Killah corpus (first line must be {HEADER!r})")
    corpus = Corpus()
    i = 1
    while i < len(lines) and lines[i].strip() and not _SECTION.match(lines[i]):
        key, _, value = lines[i].partition(":")
        corpus.meta[key.strip()] = value.strip()
        i += 1
    current: Section | None = None
    buf: list[str] = []

    def flush() -> None:
        if current is not None:
            paras = [p.strip() for p in "\n".join(buf).split("\n\n") if p.strip()]
            current.paragraphs = paras
            corpus.sections.append(current)

    for line in lines[i:]:
        m = _SECTION.match(line)
        if m:
            flush()
            current, buf = Section(m.group(1), int(m.group(2)), []), []
        else:
            buf.append(line)
    flush()
    return corpus
