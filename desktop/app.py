"""`killah app`: open the Killah window.

`--smoke` (or KILLAH_SMOKE=1) opens the window, waits until the model is loaded,
and quits cleanly: exit status 0 when the model loaded, 1 when it did not. The
packaged-app launch test uses it.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="killah app", description="Open the Killah window.")
    p.add_argument("files", nargs="*", help="a document to open")
    p.add_argument("--model", help="model for this session: 'default', a local MLX folder or "
                                   ".gguf, or a Hugging Face id")
    p.add_argument("--smoke", action="store_true", default=bool(os.environ.get("KILLAH_SMOKE")),
                   help="open, wait for the model to load, then quit (exit 0 if it loaded)")
    p.add_argument("--smoke-timeout", type=float,
                   default=float(os.environ.get("KILLAH_SMOKE_TIMEOUT", "900")),
                   help="seconds --smoke waits for the model (default 900)")
    p.add_argument("--theme", choices=("system", "light", "dark"), default="system",
                   help="colour theme (default: follow the system)")
    p.add_argument("--no-recover", action="store_true",
                   help="do not reopen text from a crashed session")
    return p


def make_application(argv: list[str] | None = None, theme: str = "system"):
    from PySide6.QtWidgets import QApplication

    from desktop.theme import apply_theme

    app = QApplication.instance() or QApplication(["killah", *(argv or [])])
    app.setApplicationName("Killah")
    app.setOrganizationName("Killah")
    app.setApplicationDisplayName("Killah")
    from desktop.resources import app_icon

    icon = app_icon()
    if icon is not None:
        app.setWindowIcon(icon)
    apply_theme(app, theme)
    return app


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    from engine.runtime import ensure_openblas

    ensure_openblas()
    app = make_application([], args.theme)

    from PySide6.QtCore import QTimer

    from desktop.session import Session
    from desktop.window import MainWindow

    session = Session()
    if args.model:
        session.settings.model = args.model
    window = MainWindow(session, recover=not args.no_recover)
    window.show()
    for f in args.files[:1]:
        if not Path(f).expanduser().exists():
            window.documents.start_new(f)  # like any editor: a new file, created on save
        elif not window._guard(lambda f=f: window.documents.open(f))() and args.smoke:
            print(f"killah app --smoke: could not open {f}", file=sys.stderr, flush=True)
    status = {"code": 0}

    if args.smoke:
        def done(code: int, message: str = "") -> None:
            status["code"] = code
            print(f"killah app --smoke: {message}", file=sys.stderr, flush=True)
            window.close()

        session.model_ready.connect(lambda lm: done(0, f"model ready: {lm.model_id}"))
        session.model_failed.connect(lambda msg: done(1, f"model failed: {msg}"))
        QTimer.singleShot(int(args.smoke_timeout * 1000),
                          lambda: done(1, "timed out waiting for the model"))
    QTimer.singleShot(0, session.load_model)
    app.exec()
    return status["code"]


if __name__ == "__main__":
    sys.exit(main())
