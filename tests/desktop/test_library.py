"""The Library tab indexes real folders with progress and per-file errors, and searches them."""

from __future__ import annotations

from desktop.library import ErrorModel, HitModel, excludes_for, format_eta
from tests.desktop.conftest import TIMEOUT_MS


def test_format_eta():
    assert format_eta(None) == "—"
    assert format_eta(42) == "42 s"
    assert format_eta(125) == "2 min 05 s"
    assert format_eta(7300) == "2 h 01 min"


def test_excludes_are_the_optout_folders_inside_each_folder(tmp_path):
    (tmp_path / "a" / "private").mkdir(parents=True)
    (tmp_path / "b").mkdir()
    optouts = [str(tmp_path / "a" / "private"), str(tmp_path / "b")]
    assert excludes_for(str(tmp_path / "a"), optouts) == [
        str((tmp_path / "a" / "private").resolve())]


def test_index_folder_with_an_optout_and_a_broken_file_then_search(qtbot, tiny_window, reference,
                                                                   tmp_path):
    w = tiny_window
    lib = w.library
    docs = tmp_path / "writing"
    (docs / "private").mkdir(parents=True)
    source = sorted((reference / "en" / "poe").glob("*.txt"))[0]
    paragraphs = source.read_text(encoding="utf-8").split("\n\n")[10:50]  # a short real excerpt
    (docs / "poe.txt").write_text("\n\n".join(paragraphs), encoding="utf-8")
    (docs / "private" / "diary.txt").write_text(
        "Secret diary text about the lighthouse keeper.\n" * 5)
    (docs / "broken.docx").write_bytes(b"this is not a zip file")
    lib.add_folder(docs)
    lib.add_folder(docs / "private", optout=True)
    assert lib.sync()
    qtbot.waitUntil(lambda: lib.job is None, timeout=TIMEOUT_MS * 3)
    assert "files/s" in lib.progress_label.text() or "done in" in lib.progress_label.text()
    assert "documents" in lib.summary.text(), lib.progress_label.text()
    errors = [lib.errors.index(r, ErrorModel.COL_PATH).data() for r in range(lib.errors.rowCount())]
    assert any(e.endswith("broken.docx") for e in errors)
    assert not any("diary" in e for e in errors)

    lib.query.setText("lighthouse keeper")
    assert lib.search()
    qtbot.wait(1500)
    assert lib.hits.rowCount() == 0  # the opted-out diary was never read
    first_word = max((docs / "poe.txt").read_text().split()[:200], key=len).strip(".,;:!?\"'()")
    lib.query.setText(first_word)
    lib.search()
    qtbot.waitUntil(lambda: lib.hits.rowCount() > 0, timeout=TIMEOUT_MS)
    assert lib.hits.index(0, HitModel.COL_PATH).data().endswith("poe.txt")
