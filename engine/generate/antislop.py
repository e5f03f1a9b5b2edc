"""Banned-phrase backtracking: the antislop sampler (after Sam Paech's antislop-sampler).

When a listed phrase has just been written (case-insensitive, as whole words), the
sequence is rewound to the token where the phrase began; that token, and the
phrase's first token in its usual spellings (" Tapestry", "tapestry"...), are
down-weighted at that position by the list's factor (1/32 for most of antislop's
list), and the position is sampled again. If the model picks an already
down-weighted token there anyway, the phrase stays, as in antislop: the
adjustment was not enough to change its mind. Text that could still grow into a
listed phrase is held back from the stream, so nothing shown is ever taken back.

The default list is antislop's curated `slop_phrase_prob_adjustments.json`
(resources/lexicons/en/antislop_phrase_prob_adjustments.json, Apache-2.0, see the
README there). The rewind itself (KV cache and sampler state) is the drivers'
job: engine/generate/stream.py and batch.py.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import mlx.core as mx

from engine.errors import KillahError

DEFAULT_FILE = "antislop_phrase_prob_adjustments.json"


def _is_word(ch: str) -> bool:
    return ch.isalnum()


def normalise(text: str) -> str:
    """Lower case with typographic apostrophes made plain (same length as `text`)."""
    return text.lower().replace("\u2019", "'")


def word_starts(text: str, start: int = 0):
    for p in range(max(0, start), len(text)):
        if _is_word(text[p]) and (p == 0 or not _is_word(text[p - 1])):
            yield p


@dataclass(frozen=True)
class PhraseList:
    """Listed phrases (normalised) and the probability factor for each (0 = never)."""

    factors: dict[str, float]
    lengths: tuple[int, ...] = field(init=False)
    prefixes: frozenset[str] = field(init=False)

    def __post_init__(self):
        object.__setattr__(self, "lengths", tuple(sorted({len(p) for p in self.factors},
                                                         reverse=True)))
        object.__setattr__(self, "prefixes", frozenset(
            p[:k] for p in self.factors for k in range(1, len(p) + 1)))

    @classmethod
    def from_pairs(cls, pairs, strength: float = 1.0) -> PhraseList:
        """From (phrase, factor) pairs; the factor is raised to `strength`."""
        factors: dict[str, float] = {}
        for phrase, factor in pairs:
            p = normalise(" ".join(str(phrase).split()))
            if not p or not _is_word(p[0]) or not _is_word(p[-1]):
                continue
            if not 0 <= float(factor) <= 1:
                raise ValueError(f"antislop factor for {phrase!r} must be in [0, 1], got {factor}")
            f = float(factor) ** strength
            factors[p] = min(factors.get(p, 1.0), f)
        return cls(factors)

    @classmethod
    def load(cls, path: str | Path, strength: float = 1.0) -> PhraseList:
        """A JSON list of [phrase, factor] pairs, as antislop ships them."""
        try:
            pairs = json.loads(Path(path).read_text(encoding="utf-8"))
            return cls.from_pairs(pairs, strength)
        except (OSError, ValueError, TypeError) as e:
            raise KillahError(f"cannot read the antislop list {path}: {e}") from e

    def union(self, other: PhraseList) -> PhraseList:
        """Both lists; a phrase in both keeps the smaller factor."""
        factors = dict(self.factors)
        for p, f in other.factors.items():
            factors[p] = min(factors.get(p, 1.0), f)
        return PhraseList(factors)

    @property
    def max_len(self) -> int:
        return self.lengths[0] if self.lengths else 0

    def find(self, low: str, start: int, final: bool, skip=frozenset()) -> tuple[int, str] | None:
        """The first listed phrase written as whole words at a word start >= `start`.

        `low` is normalised text. A phrase at the very end counts only when `final`
        (the next character could still extend its last word).
        """
        n = len(low)
        for p in word_starts(low, start):
            for length in self.lengths:
                end = p + length
                if end > n or (end == n and not final) or (end < n and _is_word(low[end])):
                    continue
                phrase = low[p:end]
                if phrase in self.factors and (p, phrase) not in skip:
                    return p, phrase
        return None

    def hold(self, low: str) -> int:
        """How many characters at the end of `low` could still grow into a listed phrase."""
        n = len(low)
        for p in word_starts(low, n - self.max_len):
            if low[p:] in self.prefixes:
                return n - p
        return 0


@lru_cache(maxsize=2)
def default_phrases(language: str = "en") -> PhraseList:
    from engine.quality.assets import LEXICONS_DIR

    return PhraseList.load(LEXICONS_DIR / language / DEFAULT_FILE)


class SlopGuard:
    """One sequence's antislop state: the down-weights per position, and what was let through.

    Positions count generated tokens (0 = the first). `processor` is a logits
    processor that applies the down-weights; it reads the position from the context
    length, so it stays right across rewinds.
    """

    def __init__(self, phrases: PhraseList, tokenizer, n_prompt: int, max_rewinds: int):
        self.phrases = phrases
        self.tokenizer = tokenizer
        self.n_prompt = n_prompt
        self.max_rewinds = max_rewinds
        self.adjust: dict[int, dict[int, float]] = {}
        self.accepted: set[tuple[int, str]] = set()  # (start char, phrase) let through
        self.checked = 0  # text before this offset has no phrase left to find
        self.rewinds = 0

    def processor(self, tokens: mx.array, logits: mx.array) -> mx.array:
        deltas = self.adjust.get(tokens.shape[-1] - self.n_prompt)
        if not deltas:
            return logits
        ids = mx.array(list(deltas))
        return logits.at[:, ids].add(mx.array(list(deltas.values()), dtype=logits.dtype))

    def find(self, low: str, final: bool) -> tuple[int, str] | None:
        hit = self.phrases.find(low, self.checked - self.phrases.max_len - 1, final,
                                self.accepted)
        if hit is None:
            self.checked = len(low)
        return hit

    def hold(self, low: str) -> int:
        return self.phrases.hold(low)

    def rewind(self, char: int, phrase: str, position: int, token: int) -> bool:
        """Down-weight the phrase's start at `position` and say whether to rewind there.

        False (let the phrase stand) when `token` was already down-weighted there or
        the sequence has used up its rewinds.
        """
        here = self.adjust.setdefault(position, {})
        if token in here or self.rewinds >= self.max_rewinds:
            self.accepted.add((char, phrase))
            return False
        factor = self.phrases.factors[phrase]
        delta = math.log(factor) if factor > 0 else -math.inf
        for t in {token, *self._first_tokens(phrase)}:
            here[t] = here.get(t, 0.0) + delta
        for p in [p for p in self.adjust if p > position]:
            del self.adjust[p]
        self.accepted = {(c, s) for c, s in self.accepted if c < char}
        self.checked = min(self.checked, char)
        self.rewinds += 1
        return True

    def _first_tokens(self, phrase: str) -> set[int]:
        spellings = {phrase, phrase.capitalize(), phrase.upper(), phrase.title()}
        out = set()
        for s in spellings:
            for v in (s, " " + s):
                ids = self.tokenizer.encode(v, add_special_tokens=False)
                if ids:
                    out.add(int(ids[0]))
        return out
