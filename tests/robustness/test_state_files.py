"""Killah's own state files, damaged or hand-edited: settings, autosave snapshots, cached vectors.
Each is checked when it is read; a bad value falls back (and is named), never crashes."""

from __future__ import annotations

import io
import json

import numpy as np

from desktop import autosave
from desktop.settings import Settings, load
from engine import paths
from engine.index import IndexStore
from engine.persona import steering


def test_out_of_range_settings_fall_back_to_defaults_and_are_named(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text('{"temperature": NaN, "autosave_seconds": 1e12, "rephrase_candidates": 1000,'
                    ' "ghost_pause_ms": -5, "recent_files": [1, 2], "adapters": ["x"],'
                    ' "min_p": 0.1, "model": ["not", "text"]}')
    settings, warning = load(path)
    defaults = Settings()
    for name in ("temperature", "autosave_seconds", "rephrase_candidates", "ghost_pause_ms",
                 "recent_files", "adapters", "model"):
        assert getattr(settings, name) == getattr(defaults, name), name
        assert f"{name}=" in warning, name
    assert settings.min_p == 0.1 and "min_p" not in warning
    assert "\n" not in warning


def test_the_window_starts_on_hand_edited_settings(qtbot, killah_home):
    """autosave_seconds 1e12 once reached QTimer.start and overflowed at start-up."""
    from desktop.session import Session
    from desktop.window import MainWindow

    paths.settings_path().write_text(json.dumps({"autosave_seconds": 10**12, "model": "none",
                                                 "rephrase_candidates": 10**9}))
    session = Session()
    window = MainWindow(session, recover=False)
    qtbot.addWidget(window)
    assert window.autosave_timer.interval() == Settings().autosave_seconds * 1000
    assert "autosave_seconds" in session.warning


def test_a_damaged_autosave_snapshot_is_still_offered_back(killah_home):
    folder = paths.autosave_dir()
    (folder / "session-aaaa.json").write_text(json.dumps({
        "format": autosave.FORMAT, "text": "words worth keeping", "path": 5,
        "saved_at": "yesterday", "pid": "me"}))
    (folder / "session-bbbb.json").write_text("[1, 2")
    found = autosave.orphans()
    assert [s.text for s in found] == ["words worth keeping"]
    assert found[0].path is None and found[0].pid == 0


def test_damaged_embedding_rows_are_dropped_so_they_are_computed_again(tmp_path):
    with IndexStore(tmp_path / "i.sqlite") as store:
        store.db["paragraphs"].insert_all(
            [{"id": i, "hash": str(i), "text": f"p{i}", "words": 1, "language": "en"}
             for i in range(1, 5)])
        good = np.eye(4, dtype=np.float32)
        store.add_embeddings("m", [1, 2], good[:2])
        with store.db.atomic():
            store.db.execute("INSERT INTO embeddings VALUES (3, 'm', 4, ?)", [b"\x00" * 7])
            store.db.execute("INSERT INTO embeddings VALUES (4, 'm', 4, ?)",
                             [np.array([np.nan, 0, 0, 0], np.float32).tobytes()])
        ids, matrix = store.embedding_matrix("m")
        assert ids.tolist() == [1, 2] and np.array_equal(matrix, good[:2])
        assert store.count_without_embedding("m") == 2  # 3 and 4 are embedded again


def test_reading_a_subset_of_embeddings_leaves_no_transaction_open(tmp_path):
    """embedding_matrix(ids) fills a temp table: its implicit transaction was never committed,
    so a later db.atomic() became a savepoint in it, held the write lock and committed nothing
    (the persona cache was lost and a second process read 'database is locked')."""
    with IndexStore(tmp_path / "i.sqlite") as store:
        store.db["paragraphs"].insert_all(
            [{"id": i, "hash": str(i), "text": f"p{i}", "words": 1, "language": "en"}
             for i in range(1, 4)])
        store.add_embeddings("m", [1, 2, 3], np.eye(3, dtype=np.float32))
        ids, _ = store.embedding_matrix("m", [3, 1])
        assert ids.tolist() == [1, 3] and not store.db.conn.in_transaction
        with store.db.atomic():
            store.db.execute("DELETE FROM embeddings WHERE paragraph_id = 2")
        with IndexStore(tmp_path / "i.sqlite") as other:  # sees it, and can write at once
            assert other.db.execute("SELECT count(*) FROM embeddings").fetchone()[0] == 2
            other.db.conn.execute("PRAGMA busy_timeout = 0")
            with other.db.atomic():
                other.db.execute("DELETE FROM embeddings WHERE paragraph_id = 1")


def test_damaged_steering_cache_entries_are_a_miss_not_a_crash():
    vectors = {3: np.ones(8, np.float32), 5: np.zeros(8, np.float32)}
    packed = steering.pack(vectors, {})
    assert steering.unpack(packed, hidden_size=8).keys() == {3, 5}
    assert steering.unpack(packed, hidden_size=16) is None  # another model's width
    assert steering.unpack(b"garbage") is None
    assert steering.unpack(steering.pack({1: np.full(8, np.inf, np.float32)}, {})) is None
    assert steering.unpack(steering.pack({1: np.ones((2, 4), np.float32)}, {})) is None
    pickled = io.BytesIO()
    np.save(pickled, np.array([object()], dtype=object), allow_pickle=True)
    assert steering.unpack(pickled.getvalue()) is None  # never unpickled
