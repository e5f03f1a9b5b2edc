"""Stop strings in generated text, holding back what could still become one."""

from __future__ import annotations

from collections.abc import Sequence


class StopMatcher:
    """Finds the first stop string in a growing text.

    `find(text)` is the index where the earliest stop string begins (or None);
    `hold(text)` is how many characters at the end could still start one, and so
    must not be shown yet.
    """

    def __init__(self, stops: Sequence[str]):
        self.stops = tuple(s for s in stops if s)

    def find(self, text: str, start: int = 0) -> int | None:
        hits = [i for s in self.stops if (i := text.find(s, max(0, start - len(s)))) >= 0]
        return min(hits) if hits else None

    def hold(self, text: str) -> int:
        hold = 0
        for s in self.stops:
            for k in range(min(len(s) - 1, len(text)), hold, -1):
                if text.endswith(s[:k]):
                    hold = k
                    break
        return hold
