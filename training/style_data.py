"""Training and evaluation data for the style encoder, with content held fixed.

Two sources, both read from a data folder given on the command line (never from the
held-out authors while training):
- the verse-aligned Bible versions (style_bench/bible_parallel): the same verses in seven
  versions, so a version's passage and another version's passage of the SAME verses differ
  in style only;
- the author corpora (corpora/{en,ru}/<author>/<work>.txt): passages of one author from
  different works are positives, and the most topic-similar passage of another author
  (TF-IDF over words) is the negative, so that topic cannot tell them apart.

A triplet is (anchor, positive, negative) with the anchor's style label (version or author);
the negative shares the anchor's content where the source allows it.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.errors import KillahError

# Corpus authors kept out of training, for choosing settings (dev); the held-out authors
# (data/heldout) are only ever used for the final report.
DEV_AUTHORS = {"en": ("chesterton", "poe", "wilde"), "ru": ("turgenev", "gogol")}
BIBLE_VERSIONS = ("KJV", "ASV", "BBE", "DARBY", "DRA", "WEB", "YLT")
BIBLE_DEV_BOOKS = ("Ruth", "Jonah", "James")
MIN_WORDS, MAX_WORDS = 40, 160


@dataclass(frozen=True)
class Passage:
    text: str
    label: str  # the style: "en/austen", "bible/KJV"
    group: str  # the work (authors) or verse window (Bible): same group = same source
    lang: str


@dataclass(frozen=True)
class Triplet:
    anchor: Passage
    positive: Passage
    negative: Passage


def require(data: Path, *parts: str) -> Path:
    path = Path(data).joinpath(*parts)
    if not path.exists():
        raise KillahError(f"style data: {path} is missing (pass the shared data folder)")
    return path


# Editions differ in typography (curly or straight quotes, guillemets, dash kinds) within one
# author; folding them keeps the encoder from telling editions apart instead of writers.
_TYPOGRAPHY = str.maketrans({"\u201c": '"', "\u201d": '"', "\u201e": '"', "\u00ab": '"',
                             "\u00bb": '"', "\u2018": "'", "\u2019": "'", "\u2013": "\u2014",
                             "\u2015": "\u2014"})


def fold_typography(text: str) -> str:
    return text.translate(_TYPOGRAPHY)


def split_paragraphs(text: str) -> list[str]:
    """Paragraphs of a corpus file: blank-line blocks of wrapped text, or one per line."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines:
        return []
    one_per_line = np.percentile([len(ln) for ln in lines], 95) > 100
    blocks = lines if one_per_line else re.split(r"\n\s*\n", text)
    return [" ".join(b.split()) for b in blocks if b.strip()]


def author_passages(folder: Path, lang: str, per_work: int = 60, seed: int = 0) -> list[Passage]:
    """Up to `per_work` paragraphs of 40-160 words from each work of one author's folder."""
    rng = random.Random(f"{seed}/{folder.name}")
    out = []
    for work in sorted(folder.glob("*.txt")):
        text = fold_typography(work.read_text(encoding="utf-8"))
        paras = [p for p in split_paragraphs(text) if MIN_WORDS <= len(p.split()) <= MAX_WORDS]
        rng.shuffle(paras)
        out += [Passage(p, f"{lang}/{folder.name}", f"{folder.name}/{work.stem}", lang)
                for p in paras[:per_work]]
    return out


def corpus(data: Path, lang: str, split: str, per_work: int = 60) -> list[Passage]:
    """Passages of the corpus authors of `split` ("train" or "dev") in `lang`."""
    root = require(data, "corpora", lang)
    dev = DEV_AUTHORS[lang]
    authors = [a for a in sorted(root.iterdir()) if a.is_dir()
               and ((a.name in dev) == (split == "dev"))]
    return [p for a in authors for p in author_passages(a, lang, per_work)]


def heldout(data: Path, lang: str, per_work: int = 60) -> list[Passage]:
    """The held-out authors' passages: for the final report only."""
    root = require(data, "heldout", lang)
    authors = [a for a in sorted(root.iterdir()) if a.is_dir()]
    return [p for a in authors for p in author_passages(a, lang, per_work)]


def bible(data: Path, split: str, window: int = 3) -> dict[str, dict[str, str]]:
    """{verse window id: {version: text}}: `window` consecutive verses of one chapter."""
    path = require(data, "style_bench", "bible_parallel", "bible_7_versions_parallel.jsonl")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    chapters: dict[str, list[dict]] = {}
    for r in rows:
        book = r["ref"].rsplit(" ", 1)[0]
        if (book in BIBLE_DEV_BOOKS) == (split == "dev"):
            chapters.setdefault(r["ref"].split(":")[0], []).append(r)
    out = {}
    for chapter, verses in chapters.items():
        for i in range(0, len(verses) - window + 1, window):
            part = verses[i : i + window]
            out[f"{chapter}:{i + 1}"] = {v: " ".join(" ".join(r[v].split()) for r in part)
                                         for v in BIBLE_VERSIONS}
    return out


def bible_triplets(windows: dict[str, dict[str, str]], n: int, seed: int = 0) -> list[Triplet]:
    """Anchor: version v on verses w; positive: v on other verses; negative: another version
    on w."""
    rng = random.Random(seed)
    keys = sorted(windows)
    out = []
    for _ in range(n):
        w, w2 = rng.sample(keys, 2)
        v, v2 = rng.sample(BIBLE_VERSIONS, 2)

        def p(key, version):
            return Passage(windows[key][version], f"bible/{version}", key, "en")

        out.append(Triplet(p(w, v), p(w2, v), p(w, v2)))
    return out


def topic_similarity(passages: list[Passage]) -> np.ndarray:
    """Cosine of word TF-IDF vectors (lower-cased): how close two passages are in topic."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    tfidf = TfidfVectorizer(sublinear_tf=True, min_df=2, max_df=0.3, token_pattern=r"(?u)\b\w\w+\b")
    x = tfidf.fit_transform([p.text.lower() for p in passages])
    return (x @ x.T).toarray()


def topic_neighbours(passages: list[Passage], k: int = 10) -> np.ndarray:
    """For each passage, the k most topic-similar passages by other authors."""
    sims = topic_similarity(passages)
    labels = np.array([p.label for p in passages])
    sims[labels[:, None] == labels[None, :]] = -1.0
    return np.argsort(-sims, axis=1)[:, :k]


def author_triplets(passages: list[Passage], n: int, seed: int = 0) -> list[Triplet]:
    """Anchor and positive by one author from different works; negative: a topic neighbour."""
    rng = random.Random(seed)
    neighbours = topic_neighbours(passages)
    by_label: dict[str, list[int]] = {}
    for i, p in enumerate(passages):
        by_label.setdefault(p.label, []).append(i)
    out = []
    while len(out) < n:
        a = rng.randrange(len(passages))
        others = [j for j in by_label[passages[a].label] if passages[j].group != passages[a].group]
        if not others:
            continue
        out.append(Triplet(passages[a], passages[rng.choice(others)],
                           passages[int(rng.choice(neighbours[a][:5]))]))
    return out


def verification_pairs(passages: list[Passage], n: int, seed: int = 0
                       ) -> list[tuple[Passage, Passage, int]]:
    """n/2 same-author and n/2 different-author pairs, each topic-matched.

    Each sampled passage is paired with its most topic-similar passage from another work of
    the same author (label 1) and, separately, with its most topic-similar passage by another
    author (label 0), so that topic does not tell the two kinds of pair apart.
    """
    rng = random.Random(seed)
    sims = topic_similarity(passages)
    labels = np.array([p.label for p in passages])
    groups = np.array([p.group for p in passages])
    same_author = labels[:, None] == labels[None, :]
    other_work = groups[:, None] != groups[None, :]
    order = list(range(len(passages)))
    rng.shuffle(order)
    same, diff = [], []
    for a in order[: n // 2]:
        mine = np.where(same_author[a] & other_work[a], sims[a], -np.inf)
        theirs = np.where(~same_author[a], sims[a], -np.inf)
        if np.isfinite(mine.max()):
            same.append((passages[a], passages[int(mine.argmax())], 1))
        diff.append((passages[a], passages[int(theirs.argmax())], 0))
    return same + diff


# Surface transformations for synthetic triplets (StyleDistance's idea without an LLM): the
# same text with and without a feature differs in style only. None of them is a STEL feature
# (formality, simplicity, contraction, number substitution, emotives, emphasis), so STEL
# still measures transfer to features never trained on.
def _lower(t: str) -> str:
    return t.lower()


def _no_commas(t: str) -> str:
    return t.replace(",", "")


def _ellipses(t: str) -> str:
    return re.sub(r"(?<=\w)[.!?](?=\s|$)", "...", t)


def _semicolons(t: str) -> str:
    return re.sub(r"(?<=\w)\. (\w)", lambda m: "; " + m.group(1).lower(), t)


def _title_case(t: str) -> str:
    return " ".join(w[:1].upper() + w[1:] for w in t.split())


def _dashes(t: str) -> str:
    return t.replace(", ", " \u2014 ")


TRANSFORMS = {"lower": _lower, "no_commas": _no_commas, "ellipses": _ellipses,
              "semicolons": _semicolons, "title_case": _title_case, "dashes": _dashes}


def synthetic_triplets(passages: list[Passage], n: int, seed: int = 0, words: int = 40
                       ) -> list[Triplet]:
    """Anchor: text x under transform T; positive: text y under T; negative: x under another
    transform U (same content, other surface style). Texts are cut to `words` words."""
    rng = random.Random(seed)
    names = sorted(TRANSFORMS)
    out = []
    while len(out) < n:
        x, y = rng.sample(passages, 2)
        t, u = rng.sample(names, 2)
        cx, cy = (" ".join(p.text.split()[:words]) for p in (x, y))
        ax, px, nx = TRANSFORMS[t](cx), TRANSFORMS[t](cy), TRANSFORMS[u](cx)
        if ax == cx or nx == cx or px == cy:
            continue  # the transform changed nothing here
        out.append(Triplet(Passage(ax, f"synthetic/{t}", x.group, x.lang),
                           Passage(px, f"synthetic/{t}", y.group, y.lang),
                           Passage(nx, f"synthetic/{u}", x.group, x.lang)))
    return out
