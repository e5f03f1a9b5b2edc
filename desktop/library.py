"""The Library tab: folders to index, opt-out folders, sync progress with rate and ETA,
per-file errors, and search over the indexed paragraphs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt
from PySide6.QtWidgets import (
    QCheckBox, QFileDialog, QGroupBox, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QListWidget,
    QProgressBar, QPushButton, QSplitter, QTableView, QVBoxLayout, QWidget,
)

from desktop.jobs import Cancelled, Job


def format_eta(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def excludes_for(folder: str, optouts: list[str]) -> list[str]:
    """The opt-out folders inside `folder`, as the absolute patterns the index understands."""
    root = Path(folder).resolve()
    out = []
    for o in optouts:
        p = Path(o).resolve()
        if p == root or root in p.parents:
            out.append(str(p))
    return out


class RowsModel(QAbstractTableModel):
    """A read-only table of dicts; subclasses name their columns."""

    COLUMNS: tuple[tuple[str, str], ...] = ()  # (key, header)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.rows: list[dict] = []

    def set_rows(self, rows: list[dict]) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        self.endResetModel()

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(self, section, orientation, role=Qt.DisplayRole):  # noqa: N802
        if orientation == Qt.Horizontal and role == Qt.DisplayRole:
            return self.COLUMNS[section][1]
        return None

    def data(self, index: QModelIndex, role: int = Qt.DisplayRole) -> Any:
        if not index.isValid():
            return None
        value = self.rows[index.row()].get(self.COLUMNS[index.column()][0])
        if role in (Qt.DisplayRole, Qt.ToolTipRole):
            return f"{value:.3f}" if isinstance(value, float) else str(value)
        return None


class ErrorModel(RowsModel):
    COL_PATH = 0
    COL_ERROR = 1
    COLUMNS = (("path", "file"), ("error", "why it could not be read"))


class HitModel(RowsModel):
    COL_SCORE = 0
    COL_TEXT = 1
    COL_PATH = 2
    COLUMNS = (("score", "score"), ("text", "paragraph"), ("path", "file"))


class IndexJob(Job):
    """Sync the index with the chosen folders; cancellable between documents."""

    resource = "index"
    title = "indexing"

    @classmethod
    def prepare(cls, folders: list[str] = (), optouts: list[str] = (), embed: bool = True
                ) -> tuple[bool, str, dict]:
        if not folders:
            return False, "add a folder to index first", {}
        missing = [f for f in folders if not Path(f).is_dir()]
        if missing:
            return False, f"folder not found: {missing[0]}", {}
        return True, "", {"folders": list(folders), "optouts": list(optouts), "embed": embed}

    def run(self) -> dict:
        from engine.index import IndexStore, sync

        p = self.params
        with IndexStore() as store:
            chosen = {str(Path(f).resolve()) for f in p["folders"]}
            for folder in store.folders():
                if folder.path not in chosen:
                    store.remove_folder(folder.path)
            for f in p["folders"]:
                store.add_folder(f, excludes_for(f, p["optouts"]))
            report = sync(store, progress=self.progress.emit, cancel=self.token, embed=p["embed"])
            errors = store.errors()
            status = store.status()
        if report.cancelled:
            raise Cancelled()
        return {"report": report.as_dict(), "errors": errors, "status": status}


class SearchJob(Job):
    resource = "index"
    title = "search"

    def run(self) -> list[dict]:
        from engine.index import IndexStore, semantic_search, text_search

        with IndexStore() as store:
            fn = semantic_search if self.params["semantic"] else text_search
            hits = fn(store, self.params["query"], k=20)
        return [{"score": h.score, "text": h.text, "path": h.path} for h in hits]


class LibraryPanel(QWidget):
    def __init__(self, session, parent=None) -> None:
        super().__init__(parent)
        self.session = session
        self.job: IndexJob | None = None
        s = session.settings

        self.folders = QListWidget()
        self.folders.addItems(s.library_folders)
        self.optouts = QListWidget()
        self.optouts.addItems(s.optout_folders)
        folders_box = QGroupBox("Folders to index")
        fl = QVBoxLayout(folders_box)
        fl.addWidget(self.folders)
        fl.addLayout(self._buttons(self.folders, "library_folders"))
        optout_box = QGroupBox("Opt-out folders (never read)")
        ol = QVBoxLayout(optout_box)
        ol.addWidget(self.optouts)
        ol.addLayout(self._buttons(self.optouts, "optout_folders"))

        self.sync_button = QPushButton("Index now")
        self.sync_button.clicked.connect(self.sync)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.progress = QProgressBar()
        self.progress_label = QLabel("")
        self.progress_label.setWordWrap(True)
        self.summary = QLabel("")
        self.errors = ErrorModel(self)
        self.error_view = QTableView()
        self.error_view.setModel(self.errors)
        self.error_view.verticalHeader().hide()
        self.error_view.horizontalHeader().setSectionResizeMode(ErrorModel.COL_ERROR,
                                                                QHeaderView.Stretch)

        self.query = QLineEdit()
        self.query.setPlaceholderText("search your documents…")
        self.query.returnPressed.connect(self.search)
        self.semantic = QCheckBox("by meaning")
        self.hits = HitModel(self)
        self.hit_view = QTableView()
        self.hit_view.setModel(self.hits)
        self.hit_view.verticalHeader().hide()
        self.hit_view.setWordWrap(True)
        self.hit_view.horizontalHeader().setSectionResizeMode(HitModel.COL_TEXT,
                                                              QHeaderView.Stretch)

        left = QWidget()
        ll = QVBoxLayout(left)
        ll.addWidget(folders_box)
        ll.addWidget(optout_box)
        row = QHBoxLayout()
        row.addWidget(self.sync_button)
        row.addWidget(self.cancel_button)
        ll.addLayout(row)
        ll.addWidget(self.progress)
        ll.addWidget(self.progress_label)
        ll.addWidget(self.summary)
        ll.addWidget(QLabel("Files that could not be read"))
        ll.addWidget(self.error_view, 1)
        right = QWidget()
        rl = QVBoxLayout(right)
        sr = QHBoxLayout()
        sr.addWidget(self.query, 1)
        sr.addWidget(self.semantic)
        rl.addLayout(sr)
        rl.addWidget(self.hit_view, 1)
        split = QSplitter(Qt.Horizontal)
        split.addWidget(left)
        split.addWidget(right)
        QVBoxLayout(self).addWidget(split)

    def _buttons(self, target: QListWidget, key: str) -> QHBoxLayout:
        row = QHBoxLayout()
        add = QPushButton("Add…")
        remove = QPushButton("Remove")
        add.clicked.connect(lambda: self._add(target, key))
        remove.clicked.connect(lambda: self._remove(target, key))
        row.addWidget(add)
        row.addWidget(remove)
        return row

    def _add(self, target: QListWidget, key: str, path: str | None = None) -> None:
        path = path or QFileDialog.getExistingDirectory(self, "Choose a folder")
        if path:
            self.add_folder(path, optout=key == "optout_folders")

    def _remove(self, target: QListWidget, key: str) -> None:
        for item in target.selectedItems():
            target.takeItem(target.row(item))
        self._store_lists()

    def add_folder(self, path: str | Path, optout: bool = False) -> None:
        target = self.optouts if optout else self.folders
        path = str(Path(path).resolve())
        if not target.findItems(path, Qt.MatchExactly):
            target.addItem(path)
        self._store_lists()

    def _store_lists(self) -> None:
        s = self.session.settings
        s.library_folders = [self.folders.item(i).text() for i in range(self.folders.count())]
        s.optout_folders = [self.optouts.item(i).text() for i in range(self.optouts.count())]
        self.session.save_settings()

    # -- jobs ----------------------------------------------------------------------
    def sync(self) -> bool:
        s = self.session.settings
        ok, message, params = IndexJob.prepare(s.library_folders, s.optout_folders)
        if not ok:
            self.progress_label.setText(message)
            return False
        job = IndexJob(params)
        job.progress.connect(self._on_progress)
        job.result.connect(self._on_result)
        job.error.connect(self._on_error)
        job.cancelled.connect(self._on_cancelled)
        self.job = job
        self.sync_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.progress_label.setText("scanning…")
        self.session.jobs.submit(job)
        return True

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()

    def _on_progress(self, p) -> None:  # an engine.progress.Progress from sync
        self.progress.setMaximum(max(1, p.total or 0))
        self.progress.setValue(p.done or 0)
        unit = "paragraphs/s" if p.stage == "embed" else "files/s"
        name = Path(p.message).name if p.message else ""
        rate, eta = p.info.get("rate", 0.0), p.info.get("eta_seconds")
        self.progress_label.setText(
            f"{p.stage}: {p.done}/{p.total} — {rate:.1f} {unit}, ETA {format_eta(eta)}"
            + (f" — {name}" if name else ""))

    def _finish(self) -> None:
        self.job = None
        self.sync_button.setEnabled(True)
        self.cancel_button.setEnabled(False)

    def _on_result(self, out: dict) -> None:
        self._finish()
        r, st = out["report"], out["status"]
        self.progress.setValue(self.progress.maximum())
        self.progress_label.setText(f"done in {r['seconds']:.1f} s")
        self.summary.setText(
            f"{st['documents']} documents, {st['paragraphs']} paragraphs indexed; "
            f"this run: {r['added']} added, {r['updated']} updated, {r['deleted']} deleted, "
            f"{len(r['errors'])} errors")
        self.errors.set_rows(out["errors"] + [e for e in r["errors"] if e not in out["errors"]])

    def _on_error(self, message: str) -> None:
        self._finish()
        self.progress_label.setText(message)

    def _on_cancelled(self) -> None:
        self._finish()
        self.progress_label.setText("cancelled — the next run resumes where this one stopped")

    def search(self) -> bool:
        query = self.query.text().strip()
        if not query:
            return False
        job = SearchJob({"query": query, "semantic": self.semantic.isChecked()})
        job.result.connect(self.hits.set_rows)
        job.error.connect(self.progress_label.setText)
        self.session.jobs.submit(job)
        return True

    def shutdown(self) -> None:
        self.cancel()
