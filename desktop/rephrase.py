"""The rephrase / restyle side panel: N candidates, ranked by the WQRM, applied as one undo step.

Prompts and length budgets come from engine.tasks through the active style
(engine.style.ActiveStyle); this module only asks, shows and applies.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from PySide6.QtCore import QModelIndex, QRectF, QSize, Signal
from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import (
    QButtonGroup,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSpinBox,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop.candidates import Candidate, CandidateModel
from desktop.jobs import Job
from engine import tasks
from engine.style import ActiveStyle, Style
from engine.text import word_count

LABELS = {"rephrase": "Rephrase", "formal": "Formal", "casual": "Casual", "shorter": "Shorter",
          "longer": "Longer", "like_me": "Like me"}


class RephraseJob(Job):
    """Generate N candidates for the selection, then rank them with the WQRM."""

    resource = "model"
    title = "rephrasing"

    @classmethod
    def prepare(cls, lm: Any = None, text: str = "", mode: str = "rephrase", n: int = 4,
                options: Any = None, style: ActiveStyle | None = None, memory: str = "",
                vocabulary: Any = None) -> tuple[bool, str, dict]:
        style = style or ActiveStyle(Style())
        if lm is None:
            return False, "the model is still loading", {}
        if not text.strip():
            return False, "select some text to rephrase first", {}
        if mode not in tasks.REWRITE_MODES:
            return False, f"unknown mode {mode!r}", {}
        if not style.offers(mode):
            return False, ("“Like me” needs an active persona with exemplars or a style adapter "
                           "(Persona panel)"), {}
        if word_count(text) > tasks.MAX_REWRITE_WORDS:
            return False, (f"the selection is too long to rephrase (over {tasks.MAX_REWRITE_WORDS} "
                           "words): select less"), {}
        options = options.replace(max_tokens=tasks.max_tokens(mode, text))
        return True, "", {"lm": lm, "n": max(1, int(n)), "options": options, "style": style,
                          "original": text, "mode": mode, "memory": memory,
                          "vocabulary": vocabulary}

    def run(self) -> list[Candidate]:
        from engine.quality.rerank import rerank

        p = self.params
        style: ActiveStyle = p["style"]
        # "like me" embeds for exemplars: slow
        prompt = style.prompt(p["mode"], p["original"], memory=p.get("memory", ""))
        self.report(f"writing {p['n']} candidates")
        ranked = rerank(p["lm"], prompt, p["n"], options=p["options"],
                        transforms=style.transforms(p["mode"], p["original"]),
                        persona_profile=style.quality_profile, cancel=self.token,
                        source=p["original"], task=p["mode"])
        self.check_cancelled()
        out = [c for c in (Candidate.from_engine(r) for r in ranked) if c.text]
        vocab = p.get("vocabulary")
        if vocab is not None and vocab.terms:  # the writer's names spelled their way
            out = [replace(c, text=vocab.correct(c.text, strict=True)[0]) for c in out]
        if style.persona is None or not out:
            return out
        self.report("measuring how much each sounds like you")
        scores = style.style_similarities([c.text for c in out])
        self.check_cancelled()
        return [replace(c, style=v) for c, v in zip(out, scores)]


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
    dismissed = Signal(str, str, str, list)  # kind, mode, the text, candidates none was used of

    def __init__(self, session, editor, parent=None) -> None:
        super().__init__(parent)
        self.session = session
        self.editor = editor
        self.model = CandidateModel(self)
        self.job: RephraseJob | None = None
        self.target: tuple[int, int, str] | None = None  # the selection the candidates replace
        self.mode, self.origin = "rephrase", "rephrase"
        self.used = False  # a candidate of this set went into the text (under review)
        self.memory = lambda: ""  # the document's note; the window sets these two
        self.vocabulary = lambda: None

        self.heading = QLabel("<b>Rephrase</b> — select text and press Ctrl+R")
        self.heading.setWordWrap(True)
        buttons = QHBoxLayout()
        self.mode_group = QButtonGroup(self)
        self.mode_buttons: dict[str, QPushButton] = {}
        for mode, label in LABELS.items():
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
        for col in (CandidateModel.COL_SCORE, *CandidateModel.OPTIONAL):
            header.setSectionResizeMode(col, QHeaderView.ResizeToContents)
        header.setSectionResizeMode(CandidateModel.COL_TEXT, QHeaderView.Stretch)
        header.sectionResized.connect(lambda *a: self.table.resizeRowsToContents())
        self.table.clicked.connect(self._on_clicked)
        self.model.modelReset.connect(self._show_columns)
        self._show_columns()

        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addLayout(buttons)
        row = QHBoxLayout()
        row.addWidget(self.count)
        row.addWidget(self.status, 1)
        layout.addLayout(row)
        layout.addWidget(self.table, 1)
        session.style_changed.connect(self.refresh_availability)
        self.refresh_availability()

    def refresh_availability(self) -> None:
        offered = self.session.active_style().offers("like_me")
        self.mode_buttons["like_me"].setEnabled(offered)
        self.mode_buttons["like_me"].setToolTip(
            "rewrite in the voice of the active persona or style adapter" if offered
            else "choose a persona or a style adapter first (Persona panel)")

    def _show_columns(self) -> None:
        for col in CandidateModel.OPTIONAL:
            self.table.setColumnHidden(col, not self.model.has_values(col))

    # -- requests --------------------------------------------------------------
    def request(self, mode: str = "rephrase", origin: str = "rephrase") -> bool:
        """Candidates for the selection; `origin` ("rephrase" or "voice") goes to feedback."""
        self._dismiss_unused()
        start, end, text = self.editor.selection_range()
        if self.job is not None:
            self.job.cancel()
            self.job = None
        s = self.session
        ok, message, params = RephraseJob.prepare(
            lm=s.model(), text=text, mode=mode, n=self.count.value(),
            options=s.settings.sampling(), style=s.active_style(), memory=self.memory(),
            vocabulary=self.vocabulary())
        if not ok:
            self.status.setText(message)
            return False
        self.target = (start, end, text)
        self.mode, self.origin = mode, origin
        self.model.clear()
        short = text if len(text) < 80 else text[:77] + "…"
        self.heading.setText(f"<b>{LABELS[mode]}</b>: “{short}”")
        self.status.setText(f"writing {params['n']} candidates…")
        job = RephraseJob(params)
        job.result.connect(self._on_result)
        job.error.connect(self._on_error)
        job.cancelled.connect(self._on_cancelled)
        self.job = job
        s.jobs.submit(job)
        return True

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
        review = self.editor.review
        if review is not None and review.start == start and review.original == original:
            review.abandon()  # another candidate: the one under review goes first
        if self.editor.text_range(start, end) != original:
            self.status.setText("the text changed since these candidates were made: "
                                "select it again")
            return False
        text = self.model.rows[row].text
        others = [c.text for i, c in enumerate(self.model.rows) if i != row]
        self.used = True
        self.editor.review_rewrite(start, end, text, meta={
            "kind": self.origin, "mode": self.mode, "alternatives": others})
        self.status.setText("review it change by change in the text (Alt+Enter keeps, "
                            "Alt+Backspace undoes, Esc: done), or click another candidate")
        self.applied.emit(text)
        return True

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()

    def _dismiss_unused(self) -> None:
        """Candidates that were shown and never used: turned down (feedback)."""
        if self.target is not None and self.model.rows and not self.used:
            self.dismissed.emit(self.origin, self.mode, self.target[2],
                                [c.text for c in self.model.rows])
        self.used = False
