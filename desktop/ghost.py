"""Ghost-text continuation: the logic, and the job that streams it.

After a typing pause `Ghost` asks the model to continue the text before the
cursor and hands the streamed text to its view, which draws it in grey after the
cursor without putting it in the document. Tab takes it all, Alt+Right one word,
Esc drops it. Typing the ghost's next characters consumes them; typing anything
else cancels the generation at once: the job's CancelToken stops the generator,
and any chunk already queued from the cancelled job is dropped here, so no stale
text is ever shown.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Protocol

from PySide6.QtCore import QObject, QTimer, Signal

from desktop.jobs import Job, JobManager
from desktop.settings import Settings
from engine import tasks
from engine.style import ActiveStyle, Style
from engine.voice.vocabulary import StreamSpeller

WORD_RE = re.compile(r"\s*[^\s]+")


class GhostView(Protocol):
    def text_before_cursor(self, max_chars: int) -> str: ...
    def cursor_position(self) -> int: ...
    def has_selection(self) -> bool: ...
    def char_after_cursor(self) -> str: ...
    def show_ghost(self, text: str) -> None: ...
    def clear_ghost(self) -> None: ...
    def insert_text(self, text: str) -> None: ...  # one undo step


class GhostJob(Job):
    """Stream a continuation; emit each piece of text as `chunk`."""

    chunk = Signal(str)
    resource = "model"
    title = "continuation"

    @classmethod
    def prepare(cls, lm: Any = None, context: str = "", options: Any = None,
                style: ActiveStyle | None = None, memory: str = "",
                vocabulary: Any = None) -> tuple[bool, str, dict]:
        if lm is None:
            return False, "the model is still loading", {}
        if not context.strip():
            return False, "nothing to continue", {}
        return True, "", {"lm": lm, "context": context, "options": options,
                          "style": style or ActiveStyle(Style()), "memory": memory,
                          "vocabulary": vocabulary}

    def run(self) -> str:
        from engine.generate import stream_generate

        p = self.params
        style: ActiveStyle = p["style"]
        # exemplars embed: here, off the GUI thread
        prompt = style.prompt("continue", p["context"], memory=p.get("memory", ""))
        self.check_cancelled()
        text = []
        spell = StreamSpeller(p.get("vocabulary"), self.chunk.emit)  # the writer's names
        # A document longer than the model's context: continue from its end.
        for r in stream_generate(p["lm"], prompt, p["options"],
                                 transforms=style.transforms("continue"), overflow="keep_tail",
                                 cancel=self.token):
            if self.is_cancelled:
                break
            if r.text:
                text.append(r.text)
                spell.feed(r.text)
        spell.end()
        return "".join(text)


class Ghost(QObject):
    """The ghost-text state machine over a `GhostView`."""

    changed = Signal(str)  # the ghost text now shown ('' when none)
    # What the writer did with a suggestion (desktop.feedback_recorder): action ("word",
    # "accepted", "dismissed", "overridden"), the whole suggestion, how much of it was taken,
    # the context it continued, and where it hung in the document.
    decided = Signal(str, str, str, str, int)

    def __init__(self, view: GhostView, jobs: JobManager, settings: Settings,
                 model: Callable[[], Any], style: Callable[[], ActiveStyle] | None = None,
                 parent: QObject | None = None, memory: Callable[[], str] = lambda: "",
                 vocabulary: Callable[[], Any] = lambda: None) -> None:
        super().__init__(parent)
        self.memory = memory  # the document's note (engine.memory)
        self.vocabulary = vocabulary  # the writer's names and terms
        self.view = view
        self.jobs = jobs
        self.settings = settings
        self.model = model
        self.style = style or (lambda: ActiveStyle(Style()))
        self.text = ""
        self.job: GhostJob | None = None
        self.anchor: int | None = None  # cursor position the ghost hangs from
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.timeout.connect(self.start)
        self.last_error = ""
        self.inserting = False  # True while the ghost itself writes into the document
        self.context = ""  # what the suggestion continues
        self.offered = ""  # all of it, as streamed
        self.taken = ""  # how much of it the writer took (accepted, or typed the same)

    # -- what the editor tells us -------------------------------------------
    def user_edited(self) -> None:
        """The user changed the text in a way that is not consuming the ghost."""
        if self.text and self.offered:
            self.decided.emit("overridden", self.offered, self.taken, self.context,
                              self.anchor or 0)
        self.cancel()
        self.schedule()

    def cursor_moved(self, position: int) -> None:
        if not self.inserting and self.anchor is not None and position != self.anchor:
            self.cancel()

    def typed(self, text: str) -> bool:
        """Before a typed `text` is inserted: True when it matches (and consumes) the ghost."""
        if not self.text or not text or not self.text.startswith(text):
            return False
        self.text = self.text[len(text):]
        self.anchor = (self.anchor or 0) + len(text)
        self.taken += text
        return True

    def after_consume(self) -> None:
        """After the consumed text is in the document: redraw what is left."""
        if self.text:
            self.view.show_ghost(self.text)
        else:
            self.view.clear_ghost()
            if self.job is None:
                self.anchor = None
                self.schedule()
        self.changed.emit(self.text)

    # -- commands ------------------------------------------------------------
    def accept_all(self) -> bool:
        if not self.text:
            return False
        anchor = self.anchor or 0
        text = self._take(len(self.text))
        self.taken += text
        self.decided.emit("accepted", self.offered, self.taken, self.context, anchor)
        self.cancel()
        self._insert(text)
        self.schedule()
        return True

    def accept_word(self) -> bool:
        if not self.text:
            return False
        m = WORD_RE.match(self.text)
        text = self._take(m.end() if m else len(self.text))
        self.taken += text
        self.decided.emit("word", self.offered, self.taken, self.context, self.anchor or 0)
        self._insert(text)
        if self.text:
            self.anchor = self.view.cursor_position()
            self.view.show_ghost(self.text)
        elif self.job is None:
            self.cancel()
        self.changed.emit(self.text)
        return True

    def _take(self, n: int) -> str:
        taken, self.text = self.text[:n], self.text[n:]
        return taken

    def _insert(self, text: str) -> None:
        self.inserting = True
        try:
            self.view.clear_ghost()
            self.view.insert_text(text)
        finally:
            self.inserting = False

    def dismiss(self) -> bool:
        had = bool(self.text) or self.job is not None
        if self.text and self.offered:
            self.decided.emit("dismissed", self.offered, self.taken, self.context,
                              self.anchor or 0)
        self.cancel()
        return had

    def cancel(self) -> None:
        """Stop the generation and remove the ghost, at once."""
        self.timer.stop()
        if self.job is not None:
            self.job.cancel()
            self.job = None
        if self.text or self.anchor is not None:
            self.text = ""
            self.anchor = None
            self.view.clear_ghost()
            self.changed.emit("")

    def schedule(self) -> None:
        if self.settings.ghost_enabled:
            self.timer.start(max(0, int(self.settings.ghost_pause_ms)))

    # -- generation ----------------------------------------------------------
    def start(self) -> GhostJob | None:
        self.cancel()
        if self.view.has_selection():
            return None
        context = self.view.text_before_cursor(self.settings.ghost_context_chars)
        if self.view.char_after_cursor().isalnum():
            return None  # mid-word: a suggestion would split the word
        ok, message, params = GhostJob.prepare(
            lm=self.model(),
            context=context,
            options=self.settings.sampling(
                max_tokens=tasks.max_tokens("continue", context, self.settings.ghost_max_tokens),
                stop=("\n\n",)),
            style=self.style(),
            memory=self.memory(),
            vocabulary=self.vocabulary(),
        )
        if not ok:
            self.last_error = message
            return None
        self.context, self.offered, self.taken = context, "", ""
        job = GhostJob(params)
        job.chunk.connect(self._on_chunk)
        job.finished.connect(self._on_finished)
        job.error.connect(self._on_error)
        self.job = job
        self.anchor = self.view.cursor_position()
        self.jobs.submit(job)
        return job

    def _on_chunk(self, piece: str) -> None:
        job = self.sender()
        if job is not self.job or job is None or job.is_cancelled:
            return  # a late chunk from a cancelled generation: never shown
        if not self.text:
            piece = piece.lstrip("\n") if self.view.text_before_cursor(1) in ("", "\n") else piece
        self.text += piece
        self.offered += piece
        if self.text:
            self.view.show_ghost(self.text)
            self.changed.emit(self.text)

    def _on_finished(self) -> None:
        if self.sender() is self.job:
            self.job = None
            if not self.text:
                self.anchor = None

    def _on_error(self, message: str) -> None:
        self.last_error = message
