"""Generic-phrase ("AI slop") lexicons: loading and matching.

The lists are the antislop-sampler and slop-forensics lexicons copied into
resources/lexicons/en (see the README there). Every listed item gets a weight in
(0, 1]: a phrase counts more than a single word, and an item seen more often in
LLM output counts more than a rare one.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from engine.errors import KillahError
from engine.quality.assets import LEXICONS_DIR
from engine.text import words

PHRASES_FILE = "antislop_slop_phrases_2025-04-07.json"
ADJUSTMENTS_FILE = "antislop_phrase_prob_adjustments.json"
WORDS_FILE = "antislop_slop_words_2025-04-07.json"
FORENSIC_WORDS_FILE = "slop_forensics_words.json"
REGEXES_FILE = "antislop_slop_regexes.txt"

# A single over-used word is weaker evidence than an over-used phrase.
WORD_WEIGHT_SCALE = 0.5
FORENSIC_WORD_WEIGHT = 0.25
REGEX_WEIGHT = 0.5


@dataclass(frozen=True)
class Lexicon:
    """Weighted generic phrases (keyed by their space-joined words), words and regexes."""

    phrases: dict[str, float] = field(default_factory=dict)
    words: dict[str, float] = field(default_factory=dict)
    regexes: tuple[re.Pattern, ...] = ()

    @property
    def max_phrase_len(self) -> int:
        return max((k.count(" ") + 1 for k in self.phrases), default=0)


def _read_json(path: Path) -> list:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise KillahError(f"cannot read lexicon {path}: {e}") from e


def _count_weight(count: float, max_count: float, low: float) -> float:
    """Map a frequency count to [low, 1] on a log scale."""
    return low + (1.0 - low) * math.log1p(count) / math.log1p(max_count)


def _normalise(item: str) -> str:
    return " ".join(words(item))


def parse_regex_file(text: str) -> tuple[re.Pattern, ...]:
    """antislop's regex file: one double-quoted pattern per line, optionally comma-terminated.

    Each pattern is anchored at word boundaries on both ends (antislop matches inside
    words too, so "each ... a" would otherwise fire on "teacher arrived").
    """
    patterns = []
    for line in text.splitlines():
        line = line.strip().rstrip(",").strip()
        if len(line) < 2 or line[0] != '"' or line[-1] != '"':
            continue
        body, flags = line[1:-1], 0
        if body.startswith("(?i)"):
            body, flags = body[4:], re.IGNORECASE
        patterns.append(re.compile(rf"\b(?:{body})\b", flags))
    return tuple(patterns)


@lru_cache(maxsize=4)
def load_lexicon(language: str = "en", folder: str | None = None) -> Lexicon:
    """Load and weight the lexicons of `language` (cached)."""
    root = Path(folder) if folder else LEXICONS_DIR / language
    if not root.is_dir():
        raise KillahError(f"no generic-phrase lexicons for language {language!r} in {root}")
    phrases: dict[str, float] = {}
    words_: dict[str, float] = {}

    def add(item: str, weight: float) -> None:
        key = _normalise(item)
        if not key:
            return
        target = phrases if " " in key else words_
        target[key] = max(target.get(key, 0.0), weight)

    if (root / PHRASES_FILE).exists():
        rows = _read_json(root / PHRASES_FILE)
        top = max(c for _, c in rows)
        for phrase, count in rows:
            add(phrase, _count_weight(count, top, 0.5))
    if (root / ADJUSTMENTS_FILE).exists():
        for item, factor in _read_json(root / ADJUSTMENTS_FILE):
            weight = 1.0 - float(factor)
            add(item, weight if " " in item.strip() else weight * WORD_WEIGHT_SCALE)
    if (root / WORDS_FILE).exists():
        rows = _read_json(root / WORDS_FILE)
        top = max(c for _, c in rows)
        for word, count in rows:
            add(word, WORD_WEIGHT_SCALE * _count_weight(count, top, 0.2))
    if (root / FORENSIC_WORDS_FILE).exists():
        for (word,) in _read_json(root / FORENSIC_WORDS_FILE):
            add(word, FORENSIC_WORD_WEIGHT)
    regexes: tuple[re.Pattern, ...] = ()
    if (root / REGEXES_FILE).exists():
        regexes = parse_regex_file((root / REGEXES_FILE).read_text(encoding="utf-8"))
    return Lexicon(phrases=phrases, words=words_, regexes=regexes)


def find_generic(text: str, lexicon: Lexicon) -> list[tuple[str, float]]:
    """Every lexicon hit in `text` as (matched item, weight), phrases first.

    Words inside a matched phrase are not counted again as words.
    """
    tokens = words(text)
    hits: list[tuple[str, float]] = []
    covered = [False] * len(tokens)
    for n in range(lexicon.max_phrase_len, 1, -1):
        for i in range(len(tokens) - n + 1):
            if any(covered[i : i + n]):
                continue
            key = " ".join(tokens[i : i + n])
            weight = lexicon.phrases.get(key)
            if weight is not None:
                hits.append((key, weight))
                covered[i : i + n] = [True] * n
    for i, token in enumerate(tokens):
        if not covered[i] and token in lexicon.words:
            hits.append((token, lexicon.words[token]))
    for pattern in lexicon.regexes:
        hits.extend((m.group(0), REGEX_WEIGHT) for m in pattern.finditer(text))
    return hits
