"""Short prose units a writer would select: single sentences and short paragraphs.

Used to draw the held-out rewrite set (bench/rewrite_set.py, from held-out authors) and
the sentences the base model rewrites for self-generated training data (from the
corpora). Dialogue, headings and lines with editorial marks are skipped: a writer
selecting a line of dialogue to rephrase is a different task.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from pathlib import Path

from training.chunking import detect_lang, split_paragraphs, split_sentences

_QUOTES = re.compile(r"[\"“”«»„‘’]|(?:^|\s)'|'(?:\s|$)")
_ODD = re.compile(r"[_\[\]{}<>*#|/\\=+~^]|\.\.\.|…|--")
_SPEECH_DASH = re.compile(r"[,.!?:]\s*[–—]")  # Russian dialogue: "...? – начал он"


@dataclass(frozen=True)
class Unit:
    text: str
    lang: str
    source: str  # "<author>/<work>"
    kind: str  # "sentence" or "paragraph"

    def to_dict(self) -> dict:
        return {"text": self.text, "lang": self.lang, "source": self.source, "kind": self.kind}


def clean_unit(text: str) -> bool:
    """Plain narrative prose: no dialogue, editorial marks, or shouting."""
    if _QUOTES.search(text) or _ODD.search(text) or _SPEECH_DASH.search(text) or text.lstrip()[:1] in "—–-(":
        return False
    if not text[:1].isupper() or text.rstrip()[-1:] not in ".!?":
        return False
    letters = [c for c in text if c.isalpha()]
    return bool(letters) and sum(c.isupper() for c in letters) / len(letters) < 0.15


def units_of(text: str, lang: str, source: str, sentence_words=(12, 40),
             paragraph_words=(30, 70)) -> list[Unit]:
    """Every clean sentence and every clean short paragraph (2-4 sentences) of a work."""
    out: list[Unit] = []
    for para in split_paragraphs(text):
        sents = split_sentences(para, lang)
        n = len(para.split())
        if 2 <= len(sents) <= 4 and paragraph_words[0] <= n <= paragraph_words[1] and clean_unit(para):
            out.append(Unit(para, lang, source, "paragraph"))
        for s in sents:
            if sentence_words[0] <= len(s.split()) <= sentence_words[1] and clean_unit(s):
                out.append(Unit(s, lang, source, "sentence"))
    return out


def draw_units(folder: str | Path, n: int, seed: int = 0, paragraph_share: float = 0.3) -> list[Unit]:
    """`n` units drawn evenly over the works of every author folder under `folder`.

    `folder` holds `<author>/<work>.txt` (or is one author's folder). Seeded: the same
    folder, n and seed give the same units.
    """
    root = Path(folder)
    works = sorted(root.glob("*/*.txt")) or sorted(root.glob("*.txt"))
    if not works:
        raise FileNotFoundError(f"no .txt works under {root}")
    rng = random.Random(seed)
    pools: list[list[Unit]] = []
    for path in works:
        text = path.read_text(encoding="utf-8")
        source = f"{path.parent.name}/{path.stem}"
        units = units_of(text, detect_lang(text), source)
        if units:
            rng.shuffle(units)
            pools.append(units)
    want_par = round(n * paragraph_share)
    picked: list[Unit] = []
    seen: set[str] = set()
    for kind in ("paragraph", "sentence"):
        quota = want_par if kind == "paragraph" else n - len(picked)
        queues = [[u for u in p if u.kind == kind] for p in pools]
        got = 0
        while got < quota and any(queues):
            for q in queues:
                if got >= quota:
                    break
                while q:
                    u = q.pop()
                    if u.text not in seen:
                        seen.add(u.text)
                        picked.append(u)
                        got += 1
                        break
    return picked
