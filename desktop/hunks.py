"""Reviewing a rewrite hunk by hunk (mu's `Editor(view)` shape: logic over a view).

A chosen rewrite goes into the document at once, as one undo step, as before; then
each changed span (a *hunk*: words removed and/or added, split where the two texts
agree on more than whitespace) can be kept or undone. Undoing a hunk puts its
original words back, as one undo step; keeping it changes nothing in the text. While
the review lasts, Ctrl+Z steps back one decision (the last undone hunk comes back, the
last kept one is open again; with no decision left, the whole rewrite goes), so every
decision is one undo step. A hunk the writer edits by hand is settled as edited; once the
writer types during the review, Ctrl+Z is the document's own undo again (their typing and
the review's edits share the document's history, and only it knows their order).
The review ends on Done (open hunks are kept), or when the writer types on with every
hunk decided, and reports what was kept.

Positions are document offsets; `text_changed(position, removed, added)` keeps them in
step with edits made outside the review.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

TOKEN_RE = re.compile(r"\s+|\w+(?:[’'\-]\w+)*|[^\w\s]", re.UNICODE)
PENDING, KEPT, UNDONE, EDITED = "pending", "kept", "undone", "edited"


class ReviewView(Protocol):
    def replace_spans(self, spans: list[tuple[int, int, str]]) -> None: ...  # one undo step
    def text_range(self, start: int, end: int) -> str: ...
    def undo_edit(self) -> None: ...  # the document's own undo / redo
    def redo_edit(self) -> None: ...
    # Draw the hunks; with `focus`, bring the current one into view (the cursor moves there).
    def show_review(self, review: Review, focus: bool = True) -> None: ...
    def end_review(self) -> None: ...


@dataclass
class Hunk:
    start: int  # where its current text starts in the document
    old: str  # the original's words here
    new: str  # the rewrite's words here
    state: str = PENDING

    @property
    def text(self) -> str:
        """What the document holds here now."""
        return self.old if self.state == UNDONE else self.new

    @property
    def end(self) -> int:
        return self.start + len(self.text)


def hunks_of(original: str, rewrite: str) -> list[tuple[int, str, str]]:
    """(offset in `rewrite`, original words, rewrite words) of each changed span, word by
    word; changes separated only by whitespace are one hunk."""
    a, b = TOKEN_RE.findall(original), TOKEN_RE.findall(rewrite)
    groups: list[list[int]] = []  # [i1, i2, j1, j2] per hunk
    bridge = False  # only whitespace (or nothing) since the last change
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            bridge = bool(groups) and "".join(a[i1:i2]).strip() == ""
            continue
        if groups and bridge:
            groups[-1][1], groups[-1][3] = i2, j2
        else:
            groups.append([i1, i2, j1, j2])
        bridge = True
    offsets = [0]
    for tok in b:
        offsets.append(offsets[-1] + len(tok))
    return [(offsets[j1], "".join(a[i1:i2]), "".join(b[j1:j2])) for i1, i2, j1, j2 in groups]


@dataclass
class Outcome:
    """What a finished review kept: the text the writer ended with, and each hunk's fate."""

    original: str
    rewrite: str
    final: str
    hunks: list[Hunk] = field(default_factory=list)
    meta: dict = field(default_factory=dict)  # the Review's meta: mode, kind, alternatives

    @property
    def action(self) -> str:
        """'accepted' (every hunk kept), 'rejected' (none) or 'edited' (some, or changed)."""
        states = {h.state for h in self.hunks}
        if states <= {KEPT}:
            return "accepted"
        if states <= {UNDONE}:
            return "rejected"
        return "edited"


class Review:
    """One rewrite under review in a `ReviewView`."""

    def __init__(self, view: ReviewView, start: int, original: str, rewrite: str,
                 on_finish: Callable[[Outcome], None] = lambda o: None,
                 meta: dict | None = None) -> None:
        self.view = view
        self.meta = dict(meta or {})  # who asked for the rewrite: mode, alternatives...
        self.start = start
        self.end = start + len(original)  # the reviewed region, in the document
        self.original = original
        self.rewrite = rewrite
        self.on_finish = on_finish
        self.hunks = [Hunk(start + off, old, new) for off, old, new in hunks_of(original, rewrite)]
        self.current = 0
        self.done: list[tuple[list[Hunk], str]] = []  # each decision: (its hunks, their state)
        self.redone: list[tuple[list[Hunk], str]] = []  # decisions stepped back, for redo
        self.applying = False  # True while the review itself edits the document
        self.writer_edited = False  # the writer typed: from then on Ctrl+Z is the document's
        self.finished = False
        self.outcome: Outcome | None = None

    # -- starting and ending ---------------------------------------------------------
    def begin(self) -> bool:
        """Put the rewrite in the document (one undo step); False when nothing changed."""
        self._edit([(self.start, self.end, self.rewrite)])
        self.end = self.start + len(self.rewrite)
        if not self.hunks:
            self.finish()
            return False
        self.view.show_review(self)
        return True

    def finish(self) -> Outcome:
        """End the review (Done, or no hunk left open): open hunks are kept."""
        if self.outcome is not None:
            return self.outcome
        for h in self.hunks:
            if h.state == PENDING:
                h.state = KEPT
        return self._end()

    def _end(self) -> Outcome:
        self.finished = True
        self.view.end_review()
        self.outcome = Outcome(self.original, self.rewrite,
                               self.view.text_range(self.start, self.end), list(self.hunks),
                               self.meta)
        self.on_finish(self.outcome)
        return self.outcome

    # -- where we are ----------------------------------------------------------------
    @property
    def pending(self) -> list[int]:
        return [i for i, h in enumerate(self.hunks) if h.state == PENDING]

    @property
    def hunk(self) -> Hunk | None:
        return self.hunks[self.current] if self.hunks else None

    def go(self, step: int) -> None:
        """To the next (1) or previous (-1) open hunk, wrapping around."""
        open_ = self.pending
        if not open_:
            return
        if step > 0:
            later = [i for i in open_ if i > self.current]
            self.current = later[0] if later else open_[0]
        else:
            earlier = [i for i in open_ if i < self.current]
            self.current = earlier[-1] if earlier else open_[-1]
        self.view.show_review(self)

    # -- decisions -------------------------------------------------------------------
    def keep(self) -> None:
        self._decide([self.current], KEPT)

    def undo_hunk(self) -> None:
        self._decide([self.current], UNDONE)

    def keep_all(self) -> None:
        self._decide(self.pending, KEPT)

    def undo_all(self) -> None:
        self._decide(self.pending, UNDONE)

    def _decide(self, indexes: list[int], state: str) -> None:
        hunks = [self.hunks[i] for i in indexes if self.hunks[i].state == PENDING]
        if self.finished or not hunks:
            return
        if state == UNDONE:  # the original words back, all in one undo step
            self._edit([(h.start, h.end, h.old) for h in hunks])
        self._set_state(hunks, state)
        self.done.append((hunks, state))
        self.redone.clear()
        self._next_open()

    def _next_open(self) -> None:
        """To the next open hunk; with none open the review waits for Done (or Ctrl+Z)."""
        if self.pending and self.hunks[self.current].state != PENDING:
            self.go(1)
        else:
            self.view.show_review(self)

    def step_back(self) -> None:
        """Ctrl+Z during the review: take back the last decision (with none, the rewrite
        itself goes and the review ends)."""
        if self.finished:
            return
        if self.writer_edited:  # the writer's own typing is the last thing done: undo that
            self.view.undo_edit()
            return
        if not self.done:
            self._view_undo(self.view.undo_edit)
            self._set_state(self.hunks, UNDONE)
            self._end()
            return
        hunks, state = self.done.pop()
        if state == UNDONE:
            self._view_undo(self.view.undo_edit)
        self._set_state(hunks, PENDING)
        self.redone.append((hunks, state))
        self.current = self.hunks.index(hunks[0])
        self.view.show_review(self)

    def abandon(self) -> None:
        """Take back every decision and the rewrite itself; the review ends as rejected."""
        while self.done and not self.finished:
            self.step_back()
        self.step_back()

    def step_forward(self) -> None:
        """Ctrl+Shift+Z during the review: take the decision stepped back again."""
        if self.finished:
            return
        if self.writer_edited:
            self.view.redo_edit()
            return
        if not self.redone:
            return
        hunks, state = self.redone.pop()
        if state == UNDONE:
            self._view_undo(self.view.redo_edit)
        self._set_state(hunks, state)
        self.done.append((hunks, state))
        self._next_open()

    # -- the document ----------------------------------------------------------------
    def _set_state(self, hunks: list[Hunk], state: str) -> None:
        """Set the hunks' state; hunks after each one move by its change of length."""
        for h in sorted(hunks, key=lambda h: h.start):
            before = len(h.text)
            h.state = state
            delta = len(h.text) - before
            for other in self.hunks:
                if other is not h and other.start > h.start:
                    other.start += delta
            self.end += delta

    def _edit(self, spans: list[tuple[int, int, str]]) -> None:
        self._view_undo(lambda: self.view.replace_spans(spans))

    def _view_undo(self, action: Callable[[], None]) -> None:
        self.applying = True
        try:
            action()
        finally:
            self.applying = False

    def text_changed(self, position: int, removed: int, added: int) -> None:
        """The writer edited the document (not the review): move the hunks after the edit; a
        hunk the edit touches is settled as the writer's own."""
        if self.applying or self.finished:
            return
        self.writer_edited = True
        edit_end, delta = position + removed, added - removed
        if edit_end < self.start or (edit_end == self.start and removed == 0):
            self.start += delta
            self.end += delta
            for h in self.hunks:
                h.start += delta
        elif position <= self.end:
            self.end += delta
            for h in self.hunks:
                touches = h.start <= edit_end and position <= h.end
                if touches and h.state == PENDING:
                    h.state = EDITED
                elif h.start >= edit_end:
                    h.start += delta
        if not self.pending:
            self._end()  # every hunk decided and the writer typed on: done
            return
        if self.hunks[self.current].state != PENDING:
            self.current = next((i for i in self.pending if i > self.current), self.pending[0])
        self.view.show_review(self, focus=False)  # the writer's cursor stays where it is
