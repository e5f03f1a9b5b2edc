"""The rephrase / restyle side panel: N candidates, ranked by the WQRM, applied as one undo step."""

from __future__ import annotations

import inspect
from typing import Any, Callable, Sequence

from PySide6.QtCore import QModelIndex, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import (
    QButtonGroup, QHBoxLayout, QHeaderView, QLabel, QPushButton, QSpinBox, QStyle,
    QStyledItemDelegate, QStyleOptionViewItem, QTableView, QVBoxLayout, QWidget,
)

from desktop.candidates import Candidate, CandidateModel
from desktop.jobs import Job

MODES = {
    "rephrase": "Rephrase",
    "formal": "Formal",
    "casual": "Casual",
    "shorter": "Shorter",
    "longer": "Longer",
    "like_me": "Like me",
}


def build_prompt(mode: str, text: str, exemplars: Sequence[str] = ()):
    from engine.tasks import rephrase_prompt, restyle_preset_prompt

    if mode == "rephrase":
        return rephrase_prompt(text)
    if mode == "like_me":
        return rephrase_prompt(text, exemplars=exemplars)
    return restyle_preset_prompt(text, mode)


def rerank_available() -> bool:
    try:
        import engine.quality.rerank  # noqa: F401
    except ImportError:
        return False
    return True


class RephraseJob(Job):
    """Generate N candidates (streamed as `partial`), then rank them with the WQRM."""

    partial = Signal(int, str)  # candidate index, its text so far
    resource = "model"
    title = "rephrasing"

    @classmethod
    def prepare(cls, lm: Any = None, text: str = "", mode: str = "rephrase", n: int = 4,
                options: Any = None, transforms: tuple = (),
                exemplars: Callable[[str], Sequence[str]] | None = None,
                persona_profile: Any = None) -> tuple[bool, str, dict]:
        if lm is None:
            return False, "the model is still loading", {}
        if not text.strip():
            return False, "select some text to rephrase first", {}
        if mode not in MODES:
            return False, f"unknown mode {mode!r}", {}
        if mode == "like_me" and exemplars is None:
            return False, "“Like me” needs an active persona with exemplars (Persona panel)", {}
        if len(text.split()) > 400:
            return False, "the selection is too long to rephrase (over 400 words): select less", {}
        if not rerank_available():
            return False, "ranking by the writing-quality model is not available yet", {}
        words = len(text.split())
        factor = {"longer": 3.0, "shorter": 1.3}.get(mode, 2.0)
        options = options.replace(max_tokens=int(16 + words * factor * 1.4))
        return True, "", {"lm": lm, "exemplars": exemplars, "n": max(1, int(n)),
                          "options": options, "transforms": transforms, "original": text, "mode": mode,
                          "persona_profile": persona_profile}

    def run(self) -> list[Candidate]:
        from engine.quality.rerank import rerank

        p = self.params
        exemplars = tuple(p["exemplars"](p["original"])) if p["mode"] == "like_me" else ()
        prompt = build_prompt(p["mode"], p["original"], exemplars)
        self.report(f"writing {p['n']} candidates")
        kwargs = {"persona_profile": p.get("persona_profile"), "source": p["original"], "task": p["mode"]}
        if "on_token" in inspect.signature(rerank).parameters:  # stream candidates as they are written
            kwargs["on_token"] = self._on_token
        ranked = rerank(p["lm"], prompt, p["n"], options=p["options"],
                        transforms=p["transforms"], cancel=self.token, **kwargs)
        self.check_cancelled()
        return [c for c in (Candidate.from_engine(r) for r in ranked) if c.text]

    def _on_token(self, i: int, text: str) -> None:
        self.partial.emit(i, text)


class DiffDelegate(QStyledItemDelegate):
    """Draws the candidate column as a word diff against the original."""

    def _doc(self, option: QStyleOptionViewItem, index: QModelIndex) -> QTextDocument:
        doc = QTextDocument()
        doc.setDefaultFont(option.font)
        doc.setHtml(index.data(CandidateModel.DiffRole) or "")
        doc.setTextWidth(max(50, option.rect.width()))
        return doc

    def paint(self, painter, option, index) -> None:
        if index.column() != CandidateModel.COL_TEXT:
            return super().paint(painter, option, index)
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        opt.text = ""
        opt.widget.style().drawControl(QStyle.CE_ItemViewItem, opt, painter, opt.widget)
        doc = self._doc(option, index)
        painter.save()
        painter.translate(option.rect.topLeft())
        doc.drawContents(painter, QRectF(0, 0, option.rect.width(), option.rect.height()))
        painter.restore()

    def sizeHint(self, option, index) -> QSize:  # noqa: N802
        if index.column() != CandidateModel.COL_TEXT:
            return super().sizeHint(option, index)
        doc = self._doc(option, index)
        return QSize(int(doc.idealWidth()), int(doc.size().height()) + 4)


class RephrasePanel(QWidget):
    """Shows candidates for the editor's selection; a click replaces the selection."""

    applied = Signal(str)

    def __init__(self, session, editor, parent=None) -> None:
        super().__init__(parent)
        self.session = session
        self.editor = editor
        self.model = CandidateModel(self)
        self.job: RephraseJob | None = None
        self.target: tuple[int, int, str] | None = None  # the selection the candidates replace
        self.streamed: dict[int, str] = {}

        self.heading = QLabel("<b>Rephrase</b> — select text and press Ctrl+R")
        self.heading.setWordWrap(True)
        buttons = QHBoxLayout()
        self.mode_group = QButtonGroup(self)
        self.mode_buttons: dict[str, QPushButton] = {}
        for mode, label in MODES.items():
            b = QPushButton(label)
            b.setObjectName(f"mode_{mode}")
            b.clicked.connect(lambda _=False, m=mode: self.request(m))
            buttons.addWidget(b)
            self.mode_buttons[mode] = b
        self.count = QSpinBox()
        self.count.setRange(1, 8)
        self.count.setValue(session.settings.rephrase_candidates)
        self.count.setPrefix("N = ")
        self.count.setToolTip(session.settings.help("rephrase_candidates"))
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setItemDelegate(DiffDelegate(self.table))
        self.table.setWordWrap(True)
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QTableView.SelectRows)
        self.table.setEditTriggers(QTableView.NoEditTriggers)
        self.table.setMouseTracking(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(CandidateModel.COL_RANK, QHeaderView.ResizeToContents)
        header.setSectionResizeMode(CandidateModel.COL_SCORE, QHeaderView.ResizeToContents)
        header.setSectionResizeMode(CandidateModel.COL_TEXT, QHeaderView.Stretch)
        header.sectionResized.connect(lambda *a: self.table.resizeRowsToContents())
        self.table.clicked.connect(self._on_clicked)

        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addLayout(buttons)
        row = QHBoxLayout()
        row.addWidget(self.count)
        row.addWidget(self.status, 1)
        layout.addLayout(row)
        layout.addWidget(self.table, 1)
        self.refresh_availability()

    def refresh_availability(self) -> None:
        available = rerank_available()
        for b in self.mode_buttons.values():
            b.setEnabled(available)
        if not available:
            self.status.setText("Not available yet: the writing-quality ranker (engine.quality.rerank) "
                                "is not installed in this build.")
        has_persona = self.session.persona_exemplars is not None
        self.mode_buttons["like_me"].setEnabled(available and has_persona)
        self.mode_buttons["like_me"].setToolTip(
            "rewrite in the voice of the active persona" if has_persona else "choose a persona first")

    # -- requests --------------------------------------------------------------
    def request(self, mode: str = "rephrase") -> bool:
        start, end, text = self.editor.selection_range()
        if self.job is not None:
            self.job.cancel()
            self.job = None
        s = self.session
        ok, message, params = RephraseJob.prepare(
            lm=s.model(), text=text, mode=mode, n=self.count.value(),
            options=s.settings.sampling(max_tokens=s.settings.rephrase_max_tokens),
            transforms=s.transforms(),
            exemplars=s.exemplars() if mode == "like_me" else None,
            persona_profile=s.persona_profile,
        )
        if not ok:
            self.status.setText(message)
            return False
        self.target = (start, end, text)
        self.streamed = {}
        self.model.clear()
        short = text if len(text) < 80 else text[:77] + "…"
        self.heading.setText(f"<b>{MODES[mode]}</b>: “{short}”")
        self.status.setText(f"writing {params['n']} candidates…")
        job = RephraseJob(params)
        job.partial.connect(self._on_partial)
        job.result.connect(self._on_result)
        job.error.connect(self._on_error)
        job.cancelled.connect(self._on_cancelled)
        self.job = job
        s.jobs.submit(job)
        return True

    def _on_partial(self, i: int, text: str) -> None:
        if self.sender() is not self.job or self.target is None:
            return
        self.streamed[i] = self.streamed.get(i, "") + text
        rows = [Candidate(self.streamed[k].strip(), None) for k in sorted(self.streamed)]
        self.model.set_candidates(self.target[2], rows)
        self.table.resizeRowsToContents()

    def _on_result(self, candidates: list) -> None:
        if self.sender() is not self.job or self.target is None:
            return
        self.job = None
        self.model.set_candidates(self.target[2], candidates)
        self.table.resizeRowsToContents()
        self.status.setText(f"{len(candidates)} candidates, best first — click one to use it "
                            "(hover for the score breakdown)")

    def _on_error(self, message: str) -> None:
        if self.sender() is self.job:
            self.job = None
            self.status.setText(message)

    def _on_cancelled(self) -> None:
        if self.sender() is self.job:
            self.job = None
            self.status.setText("cancelled")

    # -- applying ----------------------------------------------------------------
    def _on_clicked(self, index: QModelIndex) -> None:
        if self.job is None:
            self.apply(index.row())

    def apply(self, row: int) -> bool:
        if self.target is None or not 0 <= row < self.model.rowCount():
            return False
        start, end, original = self.target
        if self.editor.text_range(start, end) != original:
            self.status.setText("the text changed since these candidates were made: select it again")
            return False
        text = self.model.rows[row].text
        self.editor.replace_range(start, end, text)
        self.target = (start, start + len(text), text)
        self.model.set_candidates(text, self.model.rows)
        self.status.setText("replaced (Ctrl+Z to undo)")
        self.applied.emit(text)
        return True

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()
