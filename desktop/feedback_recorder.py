"""Turns what the writer does with suggestions into engine.feedback events (on this machine).

The recorder listens to the ghost text (its `decided` signal), the end of every
reviewed rewrite (the editor's `review_finished`) and the rephrase panel's dismissed
candidates, and writes one `engine.feedback.Event` per decision while Settings ›
"Learn from my choices" is on. Ghost text the writer types over is kept open for a
moment: what they write in its place (up to the next pause) becomes the text they
preferred.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from desktop.hunks import KEPT, UNDONE, Outcome
from engine.errors import KillahError
from engine.feedback import Event, FeedbackStore

OWN_TEXT_PAUSE_MS = 1500  # the writer's own words are read after a pause this long
OWN_TEXT_MAX_WORDS = 40


class FeedbackRecorder(QObject):
    recorded = Signal(object)  # the engine.feedback.Event just stored
    failed = Signal(str)

    def __init__(self, settings, text: Callable[[], str], cursor: Callable[[], int],
                 memory: Callable[[], str] = lambda: "", style: Callable[[], str] = lambda: "",
                 document: Callable[[], str] = lambda: "", parent: QObject | None = None,
                 path=None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.text, self.cursor = text, cursor
        self.memory, self.style, self.document = memory, style, document
        self.path = path
        self._store: FeedbackStore | None = None
        self._ghost: dict | None = None  # the suggestion being decided: text, taken, context
        self._own: dict | None = None  # a suggestion typed over: waiting for the writer's text
        self.own_timer = QTimer(self)
        self.own_timer.setSingleShot(True)
        self.own_timer.setInterval(OWN_TEXT_PAUSE_MS)
        self.own_timer.timeout.connect(self._close_own)

    @property
    def enabled(self) -> bool:
        return bool(getattr(self.settings, "feedback_enabled", True))

    def store(self) -> FeedbackStore:
        if self._store is None:
            self._store = FeedbackStore(self.path)
        return self._store

    def record(self, event: Event) -> Event | None:
        if not self.enabled:
            return None
        try:
            stored = self.store().record(event)
        except (OSError, KillahError) as e:  # never in the writer's way: say it, go on
            self.failed.emit(f"could not record your choice: {e}")
            return None
        self.recorded.emit(stored)
        return stored

    def _event(self, kind: str, action: str, mode: str, source: str, suggestion: str,
               **kw: Any) -> Event:
        return Event(kind, action, mode, source, suggestion, memory=self.memory(),
                     style=self.style(), document=self.document(), **kw)

    # -- ghost text ----------------------------------------------------------------------
    def ghost_decided(self, action: str, suggestion: str, taken: str, context: str,
                      anchor: int) -> None:
        """From desktop.ghost.Ghost.decided. `suggestion`: the whole ghost text offered after
        `context`; `taken`: how much of it the writer took so far (Tab, Alt+→, or typing
        its next characters). `action`: 'word' (one more word taken), 'accepted' (the rest
        taken), 'dismissed' (Esc) or 'overridden' (the writer typed something else)."""
        if self._ghost is not None and self._ghost["suggestion"] != suggestion:
            self._close_ghost()  # an earlier one, taken word by word, then left
        if not suggestion.strip():
            return
        if action == "word":
            self._ghost = {"context": context, "suggestion": suggestion, "taken": taken}
            return
        self._ghost = None
        if action == "accepted":
            self.record(self._event("ghost", "accepted", "continue", context, suggestion))
        elif taken.strip():  # some of it taken, the rest not
            self.record(self._event("ghost", "edited", "continue", context, suggestion,
                                    final=taken))
        elif action == "dismissed":
            self.record(self._event("ghost", "rejected", "continue", context, suggestion))
        elif action == "overridden":  # what they write instead is read at the next pause
            start = anchor - len(taken)  # where the suggestion began (a space may be typed)
            self._own = {"context": context, "suggestion": suggestion, "anchor": start}
            self.own_timer.start()

    def text_edited(self) -> None:
        """The writer typed: a suggestion they typed over waits for the next pause."""
        if self._own is not None:
            self.own_timer.start()

    def _close_ghost(self) -> None:
        """Words taken one by one, then the ghost went away without a decision."""
        g, self._ghost = self._ghost, None
        if g is not None and g["taken"].strip():
            self.record(self._event("ghost", "edited", "continue", g["context"], g["suggestion"],
                                    final=g["taken"]))

    def _close_own(self) -> None:
        own, self._own = self._own, None
        if own is None:
            return
        text, at, cursor = self.text(), own["anchor"], self.cursor()
        before = own["context"][-200:]
        intact = text[:at].endswith(before)
        written = text[at:cursor] if intact and cursor > at else ""
        words = written.split()
        if len(words) > OWN_TEXT_MAX_WORDS:
            written = written[: written.index(words[OWN_TEXT_MAX_WORDS])]
        self.record(self._event("ghost", "rejected", "continue", own["context"],
                                 own["suggestion"], final=written.rstrip()))

    def flush(self) -> None:
        """Record what is still open (the window closes)."""
        self.own_timer.stop()
        self._close_own()
        self._close_ghost()

    # -- rewrites --------------------------------------------------------------------------
    def review_finished(self, outcome: Outcome) -> None:
        """A reviewed rewrite: one event for it, and one per hunk (kept, undone or edited)."""
        meta = outcome.meta
        kind, mode = meta.get("kind", "rephrase"), meta.get("mode", "rephrase")
        alternatives = tuple(meta.get("alternatives", ()))
        self.record(self._event(kind, outcome.action, mode, outcome.original, outcome.rewrite,
                                final=outcome.final, alternatives=alternatives))
        for h in outcome.hunks:
            action = {KEPT: "accepted", UNDONE: "rejected"}.get(h.state, "edited")
            final = {KEPT: h.new, UNDONE: h.old}.get(h.state, "")  # edited: the writer's own
            self.record(self._event("hunk", action, mode, h.old, h.new, final=final))

    def candidates_dismissed(self, kind: str, mode: str, source: str,
                             candidates: list[str]) -> None:
        """Candidates were shown and none was used."""
        if candidates:
            self.record(self._event(kind, "rejected", mode, source, candidates[0],
                                    alternatives=tuple(candidates[1:])))

    def close(self) -> None:
        self.flush()
        if self._store is not None:
            self._store.close()
            self._store = None
