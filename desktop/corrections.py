"""Learning from corrections after dictation (logic only; the dictation bar drives it).

The words dictation just wrote are remembered with their positions. When the writer
then changes one (or a few side by side) into something that is not an everyday word
("kale" -> "Kael", "she won" -> "Siobhan"), the pair (heard, right) is offered to the
personal vocabulary (engine.voice.vocabulary.Vocabulary.learn), so the next dictation
hears it right.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

WORD_RE = re.compile(r"[^\W_]+(?:['’\-][^\W_]+)*", re.UNICODE)
KEEP_WORDS = 200  # only the latest dictated words are watched


@dataclass
class Dictated:
    start: int
    end: int
    heard: str
    touched: bool = False


class Corrections:
    def __init__(self, common: frozenset[str] | None = None) -> None:
        self.words: list[Dictated] = []
        self._common = common

    def common(self, lang: str) -> frozenset[str]:
        if self._common is not None:
            return self._common
        from engine.quality.facts import common_words

        return common_words(lang)

    def dictated(self, start: int, text: str) -> None:
        """`text` was inserted at `start` by dictation."""
        for m in WORD_RE.finditer(text):
            self.words.append(Dictated(start + m.start(), start + m.end(), m.group(0)))
        del self.words[:-KEEP_WORDS]

    def changed(self, position: int, removed: int, added: int) -> None:
        """Any edit to the document (dictation's own inserts come through `dictated` first)."""
        edit_end, delta = position + removed, added - removed
        for w in self.words:
            if edit_end < w.start or (edit_end == w.start and removed == 0):
                w.start += delta
                w.end += delta
            elif position > w.end or (position == w.end and removed == 0 and not w.touched):
                continue
            else:  # the edit overlaps the word: it spans what is there now
                w.touched = True
                w.end = w.end + delta if w.end > edit_end else position + added
                w.start = min(w.start, position)

    @property
    def pending(self) -> bool:
        return any(w.touched for w in self.words)

    def settle(self, text: str, lang: str = "en") -> list[tuple[str, str]]:
        """(heard, right) for each run of touched words that became a term; the touched
        words are forgotten either way."""
        runs: list[list[Dictated]] = []
        for w in sorted(self.words, key=lambda w: w.start):
            if not w.touched:
                continue
            if runs and w.start <= runs[-1][-1].end + 1:
                runs[-1].append(w)
            else:
                runs.append([w])
        out = []
        for run in runs:
            start, end = run[0].start, max(w.end for w in run)
            while start > 0 and (text[start - 1].isalnum() or text[start - 1] in "-'’"):
                start -= 1
            while end < len(text) and (text[end].isalnum() or text[end] in "-'’"):
                end += 1
            right = " ".join(text[start:end].split())
            heard = " ".join(w.heard for w in run)
            if self._learnable(heard, right, lang):
                out.append((heard, right))
        self.words = [w for w in self.words if not w.touched]
        return out

    def _learnable(self, heard: str, right: str, lang: str) -> bool:
        words = WORD_RE.findall(right)
        if not words or len(words) > 3 or right.casefold() == heard.casefold():
            return False
        if len(right) < 3 or not 1 / 3 <= len(right) / max(1, len(heard)) <= 3:
            return False  # a rewrite, not a fix of one name
        common = self.common(lang)
        return any(w.lower() not in common for w in words)  # names and terms, not "dog"
