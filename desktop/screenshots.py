"""Take the docs' screenshots of each main view, offscreen, on the real engine:

    QT_QPA_PLATFORM=offscreen python -m engine.runtime_exec -m desktop.screenshots \
        docs/screenshots [--only review,memory,learning,vocabulary]

Uses a throw-away HOME: its ~/Documents/Writing holds excerpts of the shipped reference
authors (resources/reference) and its ~/.local/share/killah is KILLAH_HOME, with the converted
models of KILLAH_MODELS_DIR (a shared cache) linked in, so no screenshot shows the machine's
own folders.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

TEXT = ("The lighthouse keeper had not spoken to anyone in three weeks. Each evening he climbed "
        "the hundred and twelve steps, trimmed the wick, and watched the grey water for ships "
        "that never came.\n\nOn the last night of October, a light answered his own "
        "from the sea, and")


def wait(app, cond, timeout: float = 600) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        app.processEvents()
        if cond():
            return True
        time.sleep(0.02)
    return False


def _writing_folder(home: Path) -> Path:
    """~/Documents/Writing in a throw-away HOME: shipped Austen excerpts and one broken file."""
    from desktop.resources import resources_dir

    folder = home / "Documents" / "Writing"
    os.environ["HOME"] = str(home)
    folder.mkdir(parents=True)
    for src in sorted((resources_dir() / "reference" / "en" / "austen").glob("*.txt"))[:3]:
        paras = src.read_text(encoding="utf-8").split("\n\n")[:60]
        (folder / src.name).write_text("\n\n".join(paras), encoding="utf-8")
    (folder / "notes.docx").write_bytes(b"not really a docx")
    return folder


def _state_in(home: Path) -> None:
    """Killah's state folder in the throw-away HOME (where Linux keeps it), the converted models
    linked in from the shared cache (KILLAH_MODELS_DIR) so the settings show no machine path."""
    state = home / ".local" / "share" / "killah"
    os.environ.setdefault("KILLAH_HOME", str(state))
    cache = os.environ.get("KILLAH_MODELS_DIR")
    models = state / "models"
    models.mkdir(parents=True, exist_ok=True)
    if cache and Path(cache).is_dir():
        for entry in Path(cache).iterdir():
            (models / entry.name).symlink_to(entry.resolve())
    os.environ["KILLAH_MODELS_DIR"] = str(models)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    only = None
    if "--only" in argv:  # desktop.screenshots_editor's pictures alone
        i = argv.index("--only")
        only = set(argv[i + 1].split(","))
        del argv[i:i + 2]
    out = Path(argv[0] if argv else "docs/screenshots")
    out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    home = Path(tempfile.mkdtemp(prefix="shots-")) / "home" / "writer"
    writing = _writing_folder(home)
    _state_in(home)
    from desktop.app import make_application

    theme = os.environ.get("KILLAH_SHOT_THEME", "light")
    app = make_application([], theme)
    from PySide6.QtGui import QTextCursor

    from desktop.session import Session
    from desktop.settings import Settings
    from desktop.window import MainWindow

    session = Session(Settings(ghost_pause_ms=200, ghost_max_tokens=20, temperature=0.7))
    w = MainWindow(session, recover=False)
    w.resize(1280, 800)
    w.show()
    session.load_model()
    assert wait(app, lambda: session.lm is not None), "model did not load"

    def shot(name: str) -> None:
        app.processEvents()
        w.grab().save(str(out / f"{name}.png"))
        print(out / f"{name}.png")

    from desktop.screenshots_editor import take

    if only is not None:
        take(app, w, shot, wait)
        w.editor.document().setModified(False)
        w.close()
        return 0

    # 1. writing, with a ghost continuation
    w.editor.setFocus()
    w.editor.setPlainText(TEXT)
    w.editor.moveCursor(QTextCursor.End)
    w.ghost.start()
    wait(app, lambda: w.ghost.job is None and w.ghost.text != "", 300)
    w.words.setText(f"{len(TEXT.split())} words")
    shot("write-ghost" if theme == "light" else "write-ghost-dark")
    if theme != "light":
        return 0

    # 2. rephrase: ranked candidates with word diffs
    w.ghost.cancel()
    c = w.editor.textCursor()
    start = TEXT.index("Each evening")
    c.setPosition(start)
    c.setPosition(TEXT.index("\n\n"), QTextCursor.KeepAnchor)
    w.editor.setTextCursor(c)
    w.rephrase.count.setValue(4)
    if w.request_rephrase():
        wait(app, lambda: w.rephrase.job is None, 600)
    shot("rephrase")

    # 3. persona & adapters
    w.side.setCurrentWidget(w.persona)
    shot("persona")

    # 4. library, after indexing a real excerpt
    if hasattr(w.library, "add_folder"):
        w.library.add_folder(writing)
        w.library.sync()
        wait(app, lambda: w.library.job is None, 600)
        w.library.query.setText("marriage")
        w.library.search()
        wait(app, lambda: w.library.hits.rowCount() > 0, 60)
    w.tabs.setCurrentWidget(w.library)
    shot("library")

    # 5. train my style (first step), 6. settings
    w.tabs.setCurrentWidget(w.wizard)
    if hasattr(w.wizard, "add_files"):
        w.wizard.add_files([str(p) for p in sorted(writing.glob("*.txt"))[:3]])
        w.wizard.author.setText("Jane Austen")
    shot("train")
    w.tabs.setCurrentWidget(w.settings_tabs)
    w.settings_tabs.setCurrentWidget(w.settings_panel)
    shot("settings")
    take(app, w, shot, wait)  # 7-10: review, memory, learning, vocabulary
    w.editor.document().setModified(False)
    w.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
