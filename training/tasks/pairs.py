"""Rewrite pairs (mode, source, target) from offline parallel data, kept only when faithful.

- The verse-aligned Bible versions (style_bench/bible_parallel, public domain): two
  modern-English versions of one verse say the same thing in other words. Only
  versions and verses without archaic forms (thee, hath, -eth) are used, so the adapter
  does not learn that "formal" means "biblical".
- LAMP (quality_pairs/lamp_writer_edits.jsonl, BSD-3-Clause, (c) Salesforce): an LLM
  draft paragraph and a professional writer's edit of it, aligned sentence by sentence.

Each pair is labelled with the mode it demonstrates: shorter or longer when the word
count moves by a quarter, formal or casual when the register moves by REGISTER_STEP,
rephrase otherwise; then it must pass the same faithfulness checks a generated rewrite
passes at run time (engine.quality.faithfulness, without the model checks).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from engine.quality import faithfulness
from engine.quality.register import register

BIBLE_VERSIONS = ("WEB", "BBE", "ASV", "DARBY")  # modern or near-modern English
_ARCHAIC = re.compile(
    r"\b(thee|thou|thy|thine|ye|hath|doth|hast|art|shalt|wilt|unto|verily|lo|behold|saith|"
    r"\w+eth|\w+est)\b", re.IGNORECASE)
_KEEP_EST = re.compile(r"\b(best|rest|west|east|test|nest|least|most|just|must|first|last|"
                       r"chest|guest|jest|quest|pest|vest|honest|interest|forest|harvest|"
                       r"breast|priest|feast|beast|north|eth)\b", re.IGNORECASE)
REGISTER_STEP = 0.5
SHORTER, LONGER = 0.8, 1.25


@dataclass(frozen=True)
class Pair:
    mode: str
    source: str
    target: str
    lang: str
    origin: str  # "bible:WEB>BBE", "lamp", "selfgen"

    def to_dict(self) -> dict:
        return {"mode": self.mode, "source": self.source, "target": self.target, "lang": self.lang,
                "origin": self.origin}


def archaic(text: str) -> bool:
    hits = [m.group(0) for m in _ARCHAIC.finditer(text)]
    return any(not _KEEP_EST.fullmatch(h) for h in hits)


def label(source: str, target: str, lang: str = "en") -> str:
    """The mode a (source, target) pair demonstrates."""
    ratio = len(target.split()) / max(1, len(source.split()))
    if ratio <= SHORTER:
        return "shorter"
    if ratio >= LONGER:
        return "longer"
    shift = register(target, lang) - register(source, lang)
    if shift >= REGISTER_STEP:
        return "formal"
    if shift <= -REGISTER_STEP:
        return "casual"
    return "rephrase"


def bible_candidates(path: Path, min_words: int = 8, max_words: int = 45) -> Iterator[Pair]:
    """Every ordered pair of distinct modern versions of each verse."""
    with open(path, encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            texts = {v: " ".join(str(row.get(v) or "").split()) for v in BIBLE_VERSIONS}
            texts = {v: t for v, t in texts.items()
                     if min_words <= len(t.split()) <= max_words and not archaic(t) and t[-1:] in ".!?"}
            for a, ta in texts.items():
                for b, tb in texts.items():
                    if a != b and ta != tb:
                        yield Pair(label(ta, tb), ta, tb, "en", f"bible:{a}>{b}")


def _sentences(text: str) -> list[str]:
    from training.chunking import split_sentences

    return [" ".join(s.split()) for s in split_sentences(" ".join(text.split()), "en")]


def lamp_candidates(path: Path, min_words: int = 6, max_words: int = 45) -> Iterator[Pair]:
    """LAMP draft -> writer edit, aligned sentence by sentence (char 3-gram Jaccard)."""
    from training.neutralizers import _jaccard_matrix

    with open(path, encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            draft, edit = _sentences(row["rejected"]), _sentences(row["chosen"])
            if not draft or not edit:
                continue
            sims = _jaccard_matrix(draft, edit, 3)
            used: set[int] = set()
            for i, src in enumerate(draft):
                j = int(sims[i].argmax())
                if j in used or not 0.3 <= float(sims[i, j]) < 0.95:
                    continue
                tgt = edit[j]
                if not (min_words <= len(src.split()) <= max_words and min_words // 2 <= len(tgt.split())):
                    continue
                used.add(j)
                yield Pair(label(src, tgt), src, tgt, "en", "lamp")
                yield Pair(label(tgt, src), tgt, src, "en", "lamp:reverse")


def faithful(pairs: list[Pair], batch: int = 256) -> list[Pair]:
    """The pairs whose target passes the run-time faithfulness checks for its mode.

    The cheap checks (facts, change, intent) run first; only their survivors are embedded.
    """
    from engine.embeddings import embed, embedder_for

    survivors = [p for p in pairs
                 if faithfulness.assess(p.source, [p.target], p.mode, lang=p.lang, embed=False)[0].ok]
    kept: list[Pair] = []
    for start in range(0, len(survivors), batch):
        chunk = survivors[start : start + batch]
        names = [embedder_for(p.lang) for p in chunk]
        src = [embed([p.source], n)[0] for p, n in zip(chunk, names)] if len(set(names)) > 1 else embed(
            [p.source for p in chunk], names[0])
        tgt = [embed([p.target], n)[0] for p, n in zip(chunk, names)] if len(set(names)) > 1 else embed(
            [p.target for p in chunk], names[0])
        kept += [p for p, a, b in zip(chunk, src, tgt)
                 if float(a @ b) >= faithfulness.SIMILARITY.get(p.lang, 0.75)]
    return kept
