"""Executing voice commands on the editor (mu-style logic over a view): each one undo step.

The text arithmetic (where is "the last sentence"?) is plain Python over the
document text and the cursor, so it is tested without a window; the view only
replaces a range, selects one, or undoes.
"""

from __future__ import annotations

import re
from typing import Protocol

WORD_RE = re.compile(r"\w+(?:[’'\-]\w+)*", re.UNICODE)
SENTENCE_RE = re.compile(r"[^.!?…\n]+(?:[.!?…]+[\"”»)]*|(?=\n)|$)", re.UNICODE)
PARAGRAPH_RE = re.compile(r"[^\n]+(?:\n(?!\s*\n)[^\n]+)*")


class VoiceView(Protocol):
    def text(self) -> str: ...
    def cursor(self) -> tuple[int, int]: ...  # (selection start, selection end); equal when none
    def replace_range(self, start: int, end: int, text: str) -> None: ...  # one undo step
    def select_range(self, start: int, end: int) -> None: ...
    def undo(self) -> None: ...
    def redo(self) -> None: ...


def spans(text: str, unit: str) -> list[tuple[int, int]]:
    """(start, end) of every word / sentence / paragraph in `text`, trailing spaces excluded."""
    if unit == "word":
        return [m.span() for m in WORD_RE.finditer(text)]
    pattern = SENTENCE_RE if unit == "sentence" else PARAGRAPH_RE
    out = []
    for m in pattern.finditer(text):
        s, e = m.span()
        chunk = text[s:e]
        s += len(chunk) - len(chunk.lstrip())
        e -= len(chunk) - len(chunk.rstrip())
        if e > s and WORD_RE.search(text, s, e):
            out.append((s, e))
    return out


def target_range(text: str, cursor: tuple[int, int], args: dict) -> tuple[int, int] | None:
    """The range a command's args name, or None when there is no such thing."""
    unit = args.get("unit", "selection")
    which = args.get("which", "this")
    count = max(1, int(args.get("count", 1) or 1))
    start, end = cursor
    if unit == "document":
        return (0, len(text)) if text else None
    if unit == "selection":
        return (start, end) if end > start else None
    items = spans(text, unit)
    if not items:
        return None
    if which == "nth":
        i = int(args.get("index", 1)) - 1
        return items[i] if 0 <= i < len(items) else None
    if which in ("last", "previous"):
        before = [sp for sp in items if sp[0] < start or (sp[1] <= start)]
        if not before:
            return None
        picked = before[-count:]
        return picked[0][0], picked[-1][1]
    if which == "next":
        after = [sp for sp in items if sp[0] >= end]
        if not after:
            return None
        picked = after[:count]
        return picked[0][0], picked[-1][1]
    # "this": the item holding the cursor, else the one just before it
    for sp in items:
        if sp[0] <= start <= sp[1]:
            return sp
    before = [sp for sp in items if sp[1] <= start]
    return before[-1] if before else items[0]


def deletion_range(text: str, start: int, end: int) -> tuple[int, int]:
    """Widen a deletion to take one adjoining space with it, so no double space is left."""
    if end < len(text) and text[end] == " ":
        return start, end + 1
    if start > 0 and text[start - 1] == " ":
        return start - 1, end
    return start, end


def join_dictation(before: str, text: str) -> str:
    """The dictated `text` as it should be inserted after `before` (a space where needed)."""
    text = text.strip()
    if not text:
        return ""
    if before and not before[-1].isspace() and text[0] not in ".,;:!?)»”…":
        text = " " + text
    if not before.strip() or before.rstrip()[-1:] in ".!?…\n":
        first = text.lstrip()[:1]
        text = text.replace(first, first.upper(), 1) if first else text
    return text


def capitalize(text: str, unit: str) -> str:
    if unit in ("word", "selection"):
        return WORD_RE.sub(lambda m: m.group(0)[:1].upper() + m.group(0)[1:], text)
    return text[:1].upper() + text[1:]


class VoiceEditor:
    """Runs dictation and commands against a `VoiceView`; returns a short confirmation."""

    def __init__(self, view: VoiceView, rephrase=None, cont=None, stop=None) -> None:
        self.view = view
        self.rephrase = rephrase or (lambda mode: False)  # mode: "rephrase" or a restyle preset
        self.cont = cont or (lambda: None)
        self.stop = stop or (lambda: None)

    def dictate(self, text: str) -> str:
        start, end = self.view.cursor()
        insert = join_dictation(self.view.text()[:start], text)
        if not insert:
            return ""
        self.view.replace_range(start, end, insert)
        return f"“{insert.strip()}”"

    def execute(self, name: str, args: dict) -> str:
        text = self.view.text()
        cursor = self.view.cursor()
        if name == "new_line":
            self.view.replace_range(cursor[0], cursor[1], "\n")
            return "new line"
        if name == "new_paragraph":
            self.view.replace_range(cursor[0], cursor[1], "\n\n")
            return "new paragraph"
        if name in ("undo", "redo"):
            for _ in range(max(1, int(args.get("count", 1) or 1))):
                (self.view.undo if name == "undo" else self.view.redo)()
            return name
        if name == "stop_listening":
            self.stop()
            return "stopped listening"
        if name == "continue":
            self.cont()
            return "continuing…"
        what = describe(args)
        rng = target_range(text, cursor, args)
        if rng is None:
            if args.get("unit", "selection") == "selection":
                return "nothing is selected"
            return f"there is no {what} to {name}"
        start, end = rng
        if name == "delete":
            s, e = deletion_range(text, start, end)
            self.view.replace_range(s, e, "")
            return f"deleted {what}"
        if name == "select":
            self.view.select_range(start, end)
            return f"selected {what}"
        if name == "capitalize":
            unit = args.get("unit", "selection")
            self.view.replace_range(start, end, capitalize(text[start:end], unit))
            return f"capitalized {what}"
        if name in ("rephrase", "restyle"):
            self.view.select_range(start, end)
            mode = args.get("style", "rephrase") if name == "restyle" else "rephrase"
            self.rephrase(mode)
            return f"{'restyling' if name == 'restyle' else 'rephrasing'} {what}…"
        return f"unknown command {name}"


def describe(args: dict) -> str:
    unit = args.get("unit", "selection")
    if unit == "document":
        return "everything"
    if unit == "selection":
        return "the selection"
    which = args.get("which", "this")
    count = int(args.get("count", 1) or 1)
    if which == "nth":
        return f"{unit} {args.get('index')}"
    plural = f"{count} {unit}s" if count > 1 else unit
    return f"the {which if which != 'this' else 'current'} {plural}"
