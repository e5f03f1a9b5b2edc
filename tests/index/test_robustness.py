"""Bad files are reported one by one; a killed indexer leaves a consistent, resumable database."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
import zipfile
from pathlib import Path

from engine.index import IndexStore, sync
from tests.index.builders import (make_docx, make_epub, make_odt, make_pdf, make_txt,
                                  sample_paragraphs)

REPO = Path(__file__).resolve().parents[2]


def _truncated(src: Path, dst: Path) -> None:
    data = src.read_bytes()
    dst.write_bytes(data[: len(data) // 2])


def build_malformed_folder(folder: Path) -> tuple[set[str], set[str]]:
    """About 30 broken files and a few good ones; returns (good names, bad names)."""
    folder.mkdir()
    rng = random.Random(7)
    tmp = folder.parent / "sources"
    tmp.mkdir()
    paras = sample_paragraphs("sound")
    sources = {
        ".docx": make_docx(tmp / "s.docx", paras), ".odt": make_odt(tmp / "s.odt", paras),
        ".pdf": make_pdf(tmp / "s.pdf", paras), ".epub": make_epub(tmp / "s.epub", paras),
    }
    bad: dict[str, bytes | None] = {}
    for ext in (".txt", ".md", ".rtf", ".html", ".docx", ".odt", ".pdf", ".epub"):
        bad[f"empty{ext}"] = b""
    for ext, src in sources.items():
        _truncated(src, folder / f"truncated{ext}")
        bad[f"truncated{ext}"] = None
        bad[f"random{ext}"] = bytes(rng.randrange(256) for _ in range(3000))
    bad["not_a_zip.docx"] = b"This is plain text pretending to be a Word document."
    with zipfile.ZipFile(folder / "wrong_zip.epub", "w") as z:
        z.writestr("hello.txt", "a zip, but not an epub")
    bad["wrong_zip.epub"] = None
    with zipfile.ZipFile(folder / "wrong_zip.docx", "w") as z:
        z.writestr("hello.txt", "a zip, but not a docx")
    bad["wrong_zip.docx"] = None
    bad["header_only.pdf"] = b"%PDF-1.4\n"
    bad["binary.txt"] = bytes(rng.randrange(256) for _ in range(5000))
    bad["binary.md"] = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
                        + bytes(rng.randrange(256) for _ in range(500)))
    bad["binary.html"] = b"<html>\x00\x01\x02\x00" * 50
    bad["invalid_utf8.txt"] = bytes(rng.randrange(0x80, 0x100) for _ in range(4000))
    bad["whitespace_only.txt"] = b"   \n\n\t\n   \n"
    bad["script_only.html"] = b"<html><head><script>var a = 1;</script></head><body></body></html>"
    bad["not_rtf.rtf"] = b"Just text with an rtf suffix."
    bad["long_line.txt"] = b"word " * 60_000  # 300,000 characters on one line
    make_pdf(folder / "password.pdf", paras, user_password="secret")
    bad["password.pdf"] = None
    with open(folder / "huge_line.txt", "wb") as f:  # 50 MB on a single line
        chunk = b"x" * (1 << 20)
        for _ in range(50):
            f.write(chunk)
    bad["huge_line.txt"] = None
    for name, data in bad.items():
        if data is not None:
            (folder / name).write_bytes(data)

    good = {"good.txt", "good_cp1252.txt", "good_utf16.txt", "good.docx", "good.pdf"}
    make_txt(folder / "good.txt", sample_paragraphs("alpha"))
    make_txt(folder / "good_cp1252.txt",
             ["Crème brûlée à la façade, naïve résumé; déjà vu. " * 4] * 2, encoding="cp1252")
    make_txt(folder / "good_utf16.txt", sample_paragraphs("gamma"), encoding="utf-16")
    make_docx(folder / "good.docx", sample_paragraphs("delta"))
    make_pdf(folder / "good.pdf", sample_paragraphs("epsilon"))
    return good, set(bad)


def test_malformed_files_are_reported_and_good_ones_indexed(tmp_path):
    good, bad = build_malformed_folder(tmp_path / "docs")
    assert len(bad) >= 30
    with IndexStore(tmp_path / "index.sqlite") as store:
        store.add_folder(tmp_path / "docs")
        report = sync(store, embed=False)
        errors = {Path(e["path"]).name: e["error"] for e in report.errors}
        assert set(errors) == bad
        assert all(msg and "\n" not in msg for msg in errors.values())
        assert errors["password.pdf"] == "password-protected PDF"
        assert errors["huge_line.txt"].startswith("file too large: 50.0 MiB")
        assert errors["long_line.txt"].startswith("a line of 300,000 characters")
        assert errors["empty.docx"] == "empty file"
        assert errors["invalid_utf8.txt"].startswith("undecodable text")
        ok = {Path(r["path"]).name for r in store.db["documents"].rows_where("status = 'ok'")}
        assert ok == good
        assert {Path(e["path"]).name for e in store.errors()} == bad
        again = sync(store, embed=False)
        assert again.read_files == [] and again.unchanged == len(good) + len(bad)


INDEXER = """
import sys
from engine.index import IndexStore, sync
store = IndexStore(sys.argv[1])
store.add_folder(sys.argv[2])
sync(store, embed=False)
"""


def _corpus_folder(folder: Path, reference: Path, files: int = 24) -> None:
    """Real prose: the shipped English reference excerpts cut into `files` equal files."""
    folder.mkdir()
    text = "\n\n".join(p.read_text(encoding="utf-8")
                       for p in sorted((reference / "en").glob("*/*.txt")))
    size = len(text) // files
    for part in range(files):
        (folder / f"part_{part:02d}.txt").write_text(text[part * size:(part + 1) * size],
                                                     encoding="utf-8")


def _snapshot(store: IndexStore) -> dict:
    return {
        "docs": sorted((r["path"], r["sha256"], r["paragraphs"])
                       for r in store.db["documents"].rows_where("status = 'ok'")),
        "paragraphs": store.db.execute("SELECT count(*) FROM paragraphs").fetchone()[0],
        "refs": store.db.execute("SELECT count(*) FROM paragraph_refs").fetchone()[0],
        "fts": store.db.execute("SELECT count(*) FROM paragraphs_fts").fetchone()[0],
    }


def test_kill_9_mid_run_leaves_a_consistent_database_that_resumes(tmp_path, reference):
    docs = tmp_path / "docs"
    _corpus_folder(docs, reference)
    db = tmp_path / "killed.sqlite"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-c", INDEXER, str(db), str(docs)], env=env, cwd=REPO)
    deadline = time.monotonic() + 120
    done = 0
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
        if db.exists():
            try:
                peek = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
                done = peek.execute("SELECT count(*) FROM documents").fetchone()[0]
                peek.close()
            except sqlite3.Error:  # the schema may not exist yet
                continue
            if done >= 3:
                break
    assert proc.poll() is None, "the indexer finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    with IndexStore(db) as store:
        assert store.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        partial = store.db.execute("SELECT count(*) FROM documents").fetchone()[0]
        assert 3 <= partial < 24
        for row in store.db["documents"].rows:  # every written document is complete
            refs = store.db.execute("SELECT count(*) FROM paragraph_refs WHERE document_id = ?",
                                    [row["id"]]).fetchone()[0]
            assert refs == row["paragraphs"]
        report = sync(store, embed=False)
        assert report.unchanged == partial and report.added == 24 - partial
        resumed = _snapshot(store)
        assert store.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    with IndexStore(tmp_path / "clean.sqlite") as clean:
        clean.add_folder(docs)
        sync(clean, embed=False)
        assert _snapshot(clean) == resumed
