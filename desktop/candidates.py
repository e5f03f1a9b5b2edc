"""Ranked rephrasing candidates as a table model (vorta's ArchiveTableModel), and word diffs.

Rows arrive best first from the WQRM reranker. The model knows nothing about
widgets; the rephrase panel shows it in a QTableView.
"""

from __future__ import annotations

import difflib
import html
import re
from dataclasses import dataclass, field
from typing import Any, ClassVar

from PySide6.QtCore import QModelIndex, Qt

from desktop.rows_model import RowsModel
from engine.text import plain_lines

TOKEN_RE = re.compile(r"\s+|\w+(?:[’'\-]\w+)*|[^\w\s]", re.UNICODE)


@dataclass(frozen=True)
class Candidate:
    text: str
    score: float | None  # the WQRM score, 0-10 (None: not scored yet)
    breakdown: dict = field(default_factory=dict)  # component -> value in [0, 1] (None: n/a)
    weights: dict = field(default_factory=dict)  # component -> its weight in the score
    faithful: bool | None = None  # kept the source's facts and meaning (None: not checked)
    unfaithful_because: tuple[str, ...] = ()  # the failed checks, for the tooltip
    style: float | None = None  # 0-1: sounds like the active persona (None: not measured)
    reasons: tuple[str, ...] = ()  # why the score is what it is, in words ("repeated words", ...)

    @classmethod
    def from_engine(cls, item: Any) -> Candidate:
        """From an engine.quality.rerank.Ranked (text, quality, faithfulness for rewrites)."""
        checked = item.faithfulness  # engine.quality.faithfulness.Faithfulness or None
        return cls(
            text=plain_lines(str(item.text)).strip(),
            score=float(item.score),
            breakdown=dict(item.quality.components or {}),
            weights=dict(item.quality.weights or {}),
            faithful=None if checked is None else bool(checked.ok),
            unfaithful_because=() if checked is None else tuple(checked.reasons),
            reasons=tuple(getattr(item.quality, "reasons", ()) or ()),
        )


def words(text: str) -> list[str]:
    return TOKEN_RE.findall(text)


def word_diff(original: str, new: str) -> list[tuple[str, str]]:
    """[(op, text)] with op in ' ' (same), '-' (removed), '+' (added), word by word."""
    a, b = words(original), words(new)
    out: list[tuple[str, str]] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            out.append((" ", "".join(a[i1:i2])))
            continue
        if i2 > i1:
            out.append(("-", "".join(a[i1:i2])))
        if j2 > j1:
            out.append(("+", "".join(b[j1:j2])))
    return out


def diff_html(original: str, new: str) -> str:
    parts = []
    diff = word_diff(original, new)
    for i, (op, text) in enumerate(diff):
        t = html.escape(text)
        if op == "-":
            gap = " " if i + 1 < len(diff) and diff[i + 1][0] == "+" else ""
            struck = "color:#c0392b;text-decoration:line-through"
            parts.append(f'<span style="{struck}">{t}</span>{gap}')
        elif op == "+":
            parts.append(f'<span style="color:#1e8449;font-weight:600">{t}</span>')
        else:
            parts.append(t)
    return "".join(parts)


def breakdown_text(c: Candidate) -> str:
    if c.score is None:
        return "not scored"
    lines = [f"WQRM score {c.score:.2f} / 10", *(f"• {r}" for r in c.reasons)]
    lines.append("component (0-1) × weight:")
    for name, value in sorted(c.breakdown.items(), key=lambda kv: -(c.weights.get(kv[0]) or 0)):
        weight = c.weights.get(name)
        w = f" × {weight:.2f}" if isinstance(weight, (int, float)) else ""
        v = "n/a" if value is None else f"{value:.2f}"
        lines.append(f"  {name}: {v}{w}")
    return "\n".join(lines)


def _shown(value: bool | float | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return f"{value:.0%}"


class CandidateModel(RowsModel):
    COL_RANK = 0
    COL_SCORE = 1
    COL_FAITHFUL = 2  # shown once some candidate carries a faithfulness check
    COL_STYLE = 3  # shown once some candidate carries a style similarity
    COL_TEXT = 4
    HEADERS = ("#", "score", "faithful", "like you", "candidate")
    OPTIONAL: ClassVar[dict[int, str]] = {COL_FAITHFUL: "faithful", COL_STYLE: "style"}

    CandidateRole = Qt.UserRole + 1
    DiffRole = Qt.UserRole + 2
    BreakdownRole = Qt.UserRole + 3

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.original = ""

    def set_candidates(self, original: str, candidates: list[Candidate]) -> None:
        self.beginResetModel()
        self.original = original
        self.rows = list(candidates)
        self.endResetModel()

    def clear(self) -> None:
        self.set_candidates("", [])

    def has_values(self, column: int) -> bool:
        """False for an optional column no candidate fills (the view hides it)."""
        name = self.OPTIONAL.get(column)
        return name is None or any(getattr(c, name) is not None for c in self.rows)

    def data(self, index: QModelIndex, role: int = Qt.DisplayRole) -> Any:
        c = self.row_at(index)
        if c is None:
            return None
        col = index.column()
        if role == Qt.DisplayRole:
            if col == self.COL_RANK:
                return str(index.row() + 1)
            if col == self.COL_SCORE:
                return "—" if c.score is None else f"{c.score:.2f}"
            if col in self.OPTIONAL:
                return _shown(getattr(c, self.OPTIONAL[col]))
            if col == self.COL_TEXT:
                return c.text
        if role == Qt.ToolTipRole:
            if col == self.COL_FAITHFUL and c.faithful is not None:
                return "keeps the facts and the meaning" if c.faithful else \
                    "fails: " + "; ".join(c.unfaithful_because)
            return breakdown_text(c)
        if role == Qt.TextAlignmentRole and col != self.COL_TEXT:
            return int(Qt.AlignRight | Qt.AlignTop)
        if role == self.CandidateRole:
            return c
        if role == self.DiffRole:
            return diff_html(self.original, c.text)
        if role == self.BreakdownRole:
            return dict(c.breakdown)
        return None
