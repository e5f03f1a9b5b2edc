"""The document index on real files of every format, in a real SQLite database."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from engine.index import IndexStore, sync, text_search
from engine.index.ingest import is_excluded, walk_folder
from engine.index.readers import ReadError, read_document
from engine.progress import CancelToken
from engine.index.store import migrations
from tests.index.builders import BUILDERS, make_txt, sample_paragraphs

CP1252_TEXT = (
    "The café on the corner served a naïve little pastry that everybody called a "
    "crème brûlée, although the owner, a man of great résumé and greater façade, "
    "insisted it was nothing of the sort. Déjà vu, said the visitors, every single time."
)


def build_all_formats(folder: Path) -> dict[str, str]:
    """One file per format, each with a unique tag word; returns {file name: tag}."""
    folder.mkdir(parents=True, exist_ok=True)
    tags = {}
    for ext, build in BUILDERS.items():
        tag = f"zeta{ext[1:]}"
        build(folder / f"doc{ext}", sample_paragraphs(tag))
        tags[f"doc{ext}"] = tag
    return tags


@pytest.fixture
def store(tmp_path):
    with IndexStore(tmp_path / "index.sqlite") as s:
        yield s


def test_every_format_is_read_into_its_paragraphs(tmp_path):
    tags = build_all_formats(tmp_path / "docs")
    for name, tag in tags.items():
        doc = read_document(tmp_path / "docs" / name)
        expected = sample_paragraphs(tag)
        body = [p for p in doc.paragraphs if tag in p]
        assert body == expected, name


def test_legacy_encoding_is_detected(tmp_path):
    path = tmp_path / "old.txt"
    path.write_bytes((CP1252_TEXT + "\n\n" + CP1252_TEXT.upper()).encode("cp1252"))
    assert read_document(path).paragraphs[0] == CP1252_TEXT


def test_index_and_search_every_format(store, tmp_path):
    tags = build_all_formats(tmp_path / "docs")
    store.add_folder(tmp_path / "docs")
    report = sync(store)
    assert report.errors == []
    assert report.added == len(BUILDERS)
    for name, tag in tags.items():
        hits = text_search(store, tag, k=5)
        assert hits and all(Path(h.path).name == name for h in hits), name
    from engine.index import semantic_search

    hits = semantic_search(store, "boats returning to a calm harbour with seagulls", k=3)
    assert len(hits) == 3 and all("harbour" in h.text for h in hits)
    assert store.status()["embeddings"] == {"all-MiniLM-L6-v2": store.status()["paragraphs"]}


def test_resync_rereads_only_the_edited_file(store, tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    for i in range(5):
        make_txt(docs / f"f{i}.txt", sample_paragraphs(f"tag{i}"))
    store.add_folder(docs)
    first = sync(store, embed=False)
    assert first.added == 5
    make_txt(docs / "f2.txt", sample_paragraphs("edited"))
    os.utime(docs / "f3.txt")  # touched, same content
    second = sync(store, embed=False)
    assert second.read_files == [str(docs / "f2.txt")]
    assert (second.updated, second.touched, second.unchanged) == (1, 1, 3)
    assert text_search(store, "edited") and not text_search(store, "tag2")


def test_moved_and_deleted_files_are_noticed(store, tmp_path):
    docs = tmp_path / "docs"
    (docs / "a").mkdir(parents=True)
    make_txt(docs / "a" / "one.txt", sample_paragraphs("alpha"))
    make_txt(docs / "two.txt", sample_paragraphs("beta"))
    store.add_folder(docs)
    sync(store, embed=False)
    (docs / "a" / "one.txt").rename(docs / "moved.txt")
    (docs / "two.txt").unlink()
    report = sync(store, embed=False)
    assert (report.moved, report.deleted, report.read_files) == (1, 1, [])
    paths = [r["path"] for r in store.db["documents"].rows]
    assert paths == [str(docs / "moved.txt")]
    assert not text_search(store, "beta")
    assert text_search(store, "alpha")[0].path == str(docs / "moved.txt")


def test_opted_out_folders_and_patterns_are_never_opened(store, tmp_path):
    docs = tmp_path / "docs"
    (docs / "private" / "deep").mkdir(parents=True)
    (docs / "drafts").mkdir()
    make_txt(docs / "keep.txt", sample_paragraphs("kept"))
    make_txt(docs / "private" / "deep" / "secret.txt", sample_paragraphs("secret"))
    make_txt(docs / "drafts" / "d.txt", sample_paragraphs("draft"))
    make_txt(docs / "notes.md", sample_paragraphs("notes"))
    # A FIFO blocks whoever opens it: reaching it would hang the sync.
    os.mkfifo(docs / "private" / "trap.txt")
    store.add_folder(docs, excludes=["private", "drafts/*", "*.md"])
    seen = [p.name for p in walk_folder(store.folders()[0])]
    assert seen == ["keep.txt"]
    report = sync(store, embed=False)
    assert report.added == 1 and report.errors == []
    assert [f.excludes for f in IndexStore(store.path).folders()] == [
        ("private", "drafts/*", "*.md")]


@pytest.mark.parametrize("rel,patterns,expected", [
    ("private/a.txt", ["private"], True),
    ("x/private/a.txt", ["private"], True),
    ("drafts/a.txt", ["drafts/*"], True),
    ("a.md", ["*.md"], True),
    ("notes/2019/a.txt", ["notes/2019"], True),
    ("notes/2020/a.txt", ["notes/2019"], False),
    ("privateer.txt", ["private"], False),
])
def test_exclusion_patterns(rel, patterns, expected):
    assert is_excluded(rel, patterns) is expected


def test_near_duplicate_paragraphs_are_stored_once_and_linked(store, tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    para = ("It was late in the evening when the travellers reached the inn, tired from the long "
            "road and wet through from the rain that had followed them since noon.")
    make_txt(docs / "a.txt",
             [para, "Unique to the first file, and long enough to count as prose here."])
    make_txt(docs / "b.txt", [para.upper(), para.replace("wet through", "soaked through")])
    store.add_folder(docs)
    sync(store, embed=False)
    refs = store.db.execute(
        "SELECT paragraph_id, similarity FROM paragraph_refs ORDER BY document_id, ord").fetchall()
    assert len(refs) == 4
    shared = refs[0][0]
    assert refs[2] == (shared, 1.0)  # exact after normalisation
    assert refs[3][0] == shared and 0.85 <= refs[3][1] < 1.0  # near duplicate, linked
    assert store.status()["paragraphs"] == 2


def test_progress_reports_and_cancellation_resumes(store, tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    for i in range(6):
        make_txt(docs / f"f{i}.txt", sample_paragraphs(f"t{i}"))
    store.add_folder(docs)
    cancel = CancelToken()
    seen = []

    def on_progress(p):
        seen.append(p)
        if p.stage == "read" and p.done == 2:
            cancel.cancel()

    report = sync(store, progress=on_progress, cancel=cancel, embed=False)
    assert report.cancelled and report.added == 2
    reads = [p for p in seen if p.stage == "read"]
    assert [p.done for p in reads] == [1, 2] and reads[-1].total == 6 and reads[-1].unit == "file"
    assert reads[-1].info["paragraphs"] == 6 and reads[-1].info["rate"] > 0
    assert reads[-1].info["eta_seconds"] is not None
    rest = sync(store, embed=False)
    assert (rest.added, rest.unchanged, rest.deleted) == (4, 2, 0)


def test_migrations_are_recorded_once(store):
    applied = [m.name for m in migrations.applied(store.db)]
    assert applied == [m.name for m in migrations._migrations]
    IndexStore(store.path).close()
    assert len(list(store.db["_sqlite_migrations"].rows)) == len(applied)


def _cli(capsys, *argv) -> dict:
    from desktop.cli import main

    assert main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


def test_cli_commands_with_json(tmp_path, capsys):
    build_all_formats(tmp_path / "docs")
    (tmp_path / "docs" / "skip").mkdir()
    make_txt(tmp_path / "docs" / "skip" / "x.txt", sample_paragraphs("skipped"))
    (tmp_path / "docs" / "broken.docx").write_bytes(b"PK\x03\x04 not really a zip")
    added = _cli(capsys, "index", "add", str(tmp_path / "docs"), "--exclude", "skip",
                 "--no-embed", "--json")
    assert added["added"] == len(BUILDERS) and added["excludes"] == ["skip"]
    assert [e["path"] for e in added["errors"]] == [str(tmp_path / "docs" / "broken.docx")]
    status = _cli(capsys, "index", "status", "--json")
    assert status["documents"] == len(BUILDERS) and status["errors"] == 1
    assert status["error_files"][0]["error"].startswith("cannot read docx")
    hits = _cli(capsys, "index", "search", "zetaodt", "-k", "2", "--json")
    assert len(hits) == 2 and all(h["path"].endswith("doc.odt") for h in hits)
    synced = _cli(capsys, "index", "sync", "--json")
    assert synced["read_files"] == [] and synced["embedded"] == status["paragraphs"]
    semantic = _cli(capsys, "index", "search", "gulls over the harbour", "--semantic", "-k", "1",
                    "--json")
    assert "gulls" in semantic[0]["text"]


def test_unreadable_file_error_is_one_line(tmp_path):
    path = tmp_path / "x.docx"
    path.write_bytes(b"definitely not a zip")
    with pytest.raises(ReadError) as e:
        read_document(path)
    assert "\n" not in str(e.value) and str(e.value).startswith("cannot read docx")
