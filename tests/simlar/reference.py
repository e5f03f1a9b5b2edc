"""Plain-Python reference implementations of simlar's measures, for tests only.

Written from the definitions, as directly as possible, so that the Rust code can
be checked against them.
"""

from __future__ import annotations

# The Unicode White_Space property (PropList.txt); stable across Unicode versions.
WHITE_SPACE = frozenset(
    chr(c)
    for c in (0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0x85, 0xA0, 0x1680, *range(0x2000, 0x200B))
    + (0x2028, 0x2029, 0x202F, 0x205F, 0x3000)
)


def normalize(text: str, *, lowercase: bool = False, fold_whitespace: bool = False) -> str:
    if lowercase:
        text = text.lower()
    if fold_whitespace:
        words, word = [], []
        for ch in text:
            if ch in WHITE_SPACE:
                if word:
                    words.append("".join(word))
                word = []
            else:
                word.append(ch)
        if word:
            words.append("".join(word))
        text = " ".join(words)
    return text


def ngrams(text: str, n: int) -> set[str]:
    """Character n-grams; a non-empty text shorter than n is its own n-gram."""
    if not text:
        return set()
    if len(text) < n:
        return {text}
    return {text[i : i + n] for i in range(len(text) - n + 1)}


def jaccard(a: set[str], b: set[str]) -> float:
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


def jaccard_ngrams(s1: str, s2: str, n: int = 3, *, lowercase: bool = False,
                   fold_whitespace: bool = False) -> float:
    norm = dict(lowercase=lowercase, fold_whitespace=fold_whitespace)
    return jaccard(ngrams(normalize(s1, **norm), n), ngrams(normalize(s2, **norm), n))


def levenshtein(s1: str, s2: str) -> int:
    """The Wagner-Fischer dynamic program over code points."""
    prev = list(range(len(s2) + 1))
    for i, a in enumerate(s1, 1):
        cur = [i]
        for j, b in enumerate(s2, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a != b)))
        prev = cur
    return prev[-1]


def levenshtein_normalized(s1: str, s2: str) -> float:
    longest = max(len(s1), len(s2))
    return levenshtein(s1, s2) / longest if longest else 0.0


def clusters_from_pairs(n_items: int, pairs: list[tuple[int, int]]) -> list[list[int]]:
    """Connected components with at least two members, sorted as simlar sorts them."""
    parent = list(range(n_items))

    def find(x: int) -> int:
        while parent[x] != x:
            x = parent[x]
        return x

    for a, b in pairs:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    groups: dict[int, list[int]] = {}
    for i in range(n_items):
        groups.setdefault(find(i), []).append(i)
    return sorted((g for g in groups.values() if len(g) > 1), key=lambda g: g[0])
