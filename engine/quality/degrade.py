"""Broken text made on purpose: the negatives the WQRM learns "reads as broken" from.

Each kind takes a clean passage and a seeded `random.Random` and returns a broken
version. The kinds are different failures a generator or a bad edit produces:

| kind           | what it does                                                              |
|----------------|---------------------------------------------------------------------------|
| shuffled       | the words of every sentence in random order                               |
| doubled        | most words written two or three times ("the the water water")             |
| cut            | every sentence cut off part-way, the fragments run together               |
| numbers        | number soup: lists of numbers glued to a few of the passage's words       |
| wrong_language | the passage's sentences replaced, all or every other one, by another      |
|                | language's (`foreign` passages)                                           |
| salad          | words drawn at random from the passage's vocabulary, some repeated        |
| looped         | one phrase of the passage repeated over and over (a decoding loop)        |

Training holds kinds out one at a time to show that the detector generalises to a
failure it never saw (engine.quality.train, docs/quality.md).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from pathlib import Path

from engine.quality.metrics import sentences

_WORD = re.compile(r"\S+")


def _words(text: str) -> list[str]:
    return _WORD.findall(text)


def _bare(word: str) -> str:
    return word.strip(".,;:!?\"'()[]-_").lower()


def _sentence_case(tokens: list[str]) -> str:
    text = " ".join(tokens).strip()
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text.rstrip(",;:") + "."


def shuffled(text: str, rng: random.Random, foreign: Sequence[str] = ()) -> str:
    out = []
    for s in sentences(text) or [text]:
        toks = [_bare(w) for w in _words(s) if _bare(w)]
        rng.shuffle(toks)
        out.append(_sentence_case(toks))
    return " ".join(out)


def doubled(text: str, rng: random.Random, foreign: Sequence[str] = ()) -> str:
    rate = rng.uniform(0.6, 1.0)
    out = []
    for w in _words(text):
        if rng.random() < rate:
            core = _bare(w) or w
            out.extend([core] * rng.choice((1, 1, 2)))
        out.append(w)
    return " ".join(out)


def cut(text: str, rng: random.Random, foreign: Sequence[str] = ()) -> str:
    out = []
    for s in sentences(text) or [text]:
        toks = _words(s)
        if len(toks) < 3:
            continue
        keep = max(1, int(len(toks) * rng.uniform(0.25, 0.6)))
        frag = " ".join(toks[:keep]).rstrip(".,;:!?")
        out.append(frag + rng.choice((".", ",", "", " —")))
    return " ".join(out) or text[: len(text) // 3]


def numbers(text: str, rng: random.Random, foreign: Sequence[str] = ()) -> str:
    vocab = [b for b in (_bare(w) for w in _words(text)) if len(b) > 2] or ["level"]
    n_words = max(12, len(_words(text)))
    out: list[str] = []
    while len(out) < n_words:
        noun = rng.choice(vocab)
        style = rng.randrange(4)
        items = []
        for _ in range(rng.randint(3, 8)):
            n = rng.choice((rng.randint(1, 99), rng.randint(100, 2000), rng.randint(10, 99) * 10))
            items.append((f"{n}-{noun}", f"{n} {noun}", f"{n}%", f"{n}.{rng.randint(0, 9)}")[style])
        items[-1] = "and " + items[-1]
        out.extend(", ".join(items).split() + ["."])
    return " ".join(out).replace(" .", ".")


def wrong_language(text: str, rng: random.Random, foreign: Sequence[str] = ()) -> str:
    if not foreign:
        raise ValueError("wrong_language needs passages in another language")
    other = sentences(rng.choice(foreign))
    mine = sentences(text) or [text]
    if rng.random() < 0.5 or len(mine) < 2:  # all of it in the other language
        return " ".join(other)
    return " ".join(o if i % 2 else m for i, (m, o) in enumerate(zip(mine, other * len(mine))))


def salad(text: str, rng: random.Random, foreign: Sequence[str] = ()) -> str:
    vocab = [b for b in (_bare(w) for w in _words(text)) if b]
    n = max(8, len(vocab))
    out: list[str] = []
    while len(out) < n:
        w = rng.choice(vocab)
        out.extend([w] * rng.choice((1, 1, 2, 2, 3)))
    sents, i = [], 0
    while i < len(out):
        step = rng.randint(5, 14)
        sents.append(_sentence_case(out[i : i + step]))
        i += step
    return " ".join(sents)


def looped(text: str, rng: random.Random, foreign: Sequence[str] = ()) -> str:
    toks = _words(text)
    start = rng.randrange(max(1, len(toks) - 8))
    phrase = toks[start : start + rng.randint(3, 8)]
    head = toks[: rng.randint(0, min(20, len(toks)))]
    out = list(head)
    while len(out) < len(toks):
        out.extend(phrase)
    return " ".join(out)


KINDS: dict[str, Callable[..., str]] = {
    "shuffled": shuffled,
    "doubled": doubled,
    "cut": cut,
    "numbers": numbers,
    "wrong_language": wrong_language,
    "salad": salad,
    "looped": looped,
}


def degrade(text: str, kind: str, seed: int, foreign: Sequence[str] = ()) -> str:
    """`text` broken in the way `kind` names (deterministic for a given seed)."""
    if kind not in KINDS:
        raise ValueError(f"unknown degradation {kind!r}; known: {', '.join(KINDS)}")
    return KINDS[kind](text, random.Random(f"{kind}:{seed}"), foreign)


def _paragraphs(text: str, max_words: int) -> list[str]:
    """Blank-line separated paragraphs; a long block of long lines is one paragraph a line."""
    out = []
    for block in re.split(r"\n\s*\n", text):
        lines = [ln for ln in block.split("\n") if ln.strip()]
        long_lines = lines and sum(len(ln.split()) for ln in lines) / len(lines) > 25
        if len(block.split()) > max_words and long_lines:
            out.extend(lines)
        else:
            out.append(block)
    return out


def passages(
    folder: str | Path, n: int, seed: int, min_words: int = 90, max_words: int = 220
) -> list[tuple[str, str]]:
    """Up to `n` (author, passage) pairs from a corpus folder laid out as AUTHOR/WORK.txt.

    A passage is a run of consecutive paragraphs of `min_words`-`max_words` words;
    authors get equal shares, drawn with `seed`.
    """
    folder = Path(folder)
    authors = sorted(p for p in folder.iterdir() if p.is_dir())
    if not authors:
        raise ValueError(f"{folder}: no author folders")
    rng = random.Random(seed)
    out: list[tuple[str, str]] = []
    per = max(1, n // len(authors))
    for author in authors:
        candidates: list[str] = []
        for work in sorted(author.glob("*.txt")):
            paras = [
                " ".join(p.split())
                for p in _paragraphs(work.read_text(encoding="utf-8"), max_words)
            ]
            paras = [p for p in paras if len(p.split()) >= 8 and not p.isupper()]
            buf: list[str] = []
            for p in paras:
                buf.append(p)
                count = sum(len(b.split()) for b in buf)
                if count >= min_words:
                    if count <= max_words:
                        candidates.append(" ".join(buf))
                    buf = []
        rng.shuffle(candidates)
        out.extend((author.name, c) for c in candidates[:per])
    return out[:n]
