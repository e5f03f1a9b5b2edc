"""Document memory: the note's prompt part (engine.tasks), its store (engine.memory), and how it
follows the document through Documents (open, autosave, save as, crash recovery)."""

from __future__ import annotations

import json

import pytest

from desktop import autosave
from desktop.documents import Documents
from desktop.settings import Settings
from engine import memory, tasks
from engine.errors import KillahError
from tests.desktop.test_documents import StandInView

NOTE = ("Characters: Mara Voss, keeper of the Stroma light; her brother Tobiah.\n"
        "Setting: Orkney, 1893.\nTone: spare, salt-bitten.")


def test_every_mode_puts_the_note_after_the_exemplars_and_before_the_task():
    for mode in tasks.MODES:
        plain = tasks.build(mode, "The lamp went out.", ("An exemplar paragraph.",)).text
        with_note = tasks.build(mode, "The lamp went out.", ("An exemplar paragraph.",),
                                memory=NOTE).text
        block = tasks.memory_block(NOTE)
        assert block in with_note, mode
        ex = tasks.exemplar_block(("An exemplar paragraph.",))
        assert with_note.index(ex) < with_note.index(block), mode
        assert with_note.replace(block, "", 1) == plain, mode  # nothing else changes


def test_a_long_note_is_cut_at_the_word_budget_and_the_budget_says_so():
    note = " ".join(f"w{i}" for i in range(tasks.MEMORY_MAX_WORDS + 50))
    seen = tasks.memory_seen(note)
    assert len(seen.split()) == tasks.MEMORY_MAX_WORDS and seen.endswith(
        f"w{tasks.MEMORY_MAX_WORDS - 1}")
    doc = "word " * 1000
    b = tasks.context_budget(doc, note, context_chars=2000)
    assert b.document_words == 1000 and b.seen_words == 399  # 2000 chars = 400 words, one cut
    assert b.note_words == tasks.MEMORY_MAX_WORDS + 50
    assert b.note_seen_words == tasks.MEMORY_MAX_WORDS
    text = b.describe()
    assert "the last 399 of 1000 words" in text and "the rest is cut" in text
    short = tasks.context_budget("Two words", "", 2000).describe()
    assert "all 2 words before the cursor" in short and "no note" in short


def test_the_store_round_trips_refuses_oversized_notes_and_moves_a_broken_file_aside(tmp_path):
    doc = tmp_path / "novel.md"
    assert memory.load(doc) == ""
    file = memory.save(doc, NOTE)
    assert json.loads(file.read_text())["format"] == memory.FORMAT
    assert memory.load(doc) == NOTE
    with pytest.raises(KillahError, match="too long"):
        memory.save(doc, "x" * (memory.MAX_NOTE_CHARS + 1))
    assert memory.load(doc) == NOTE  # the refused note did not replace the kept one
    file.write_text("{broken")
    with pytest.raises(KillahError, match="kept as .*unreadable"):
        memory.load(doc)
    kept = list(file.parent.glob("*.unreadable-*"))
    assert len(kept) == 1 and kept[0].read_text() == "{broken"  # never overwritten or lost
    assert memory.save(doc, "") is None and not file.exists()


def test_the_note_follows_the_document_through_open_save_as_and_new(tmp_path):
    view = StandInView(save_path=str(tmp_path / "story.md"))
    docs = Documents(view, Settings())
    view.type("Chapter one.")
    docs.set_note(NOTE)
    assert docs.autosave()
    assert autosave.read(docs.snapshot_file).memory == NOTE  # untitled: kept in the snapshot
    assert docs.save()
    assert memory.load(tmp_path / "story.md") == NOTE
    docs.set_note(NOTE + "\nTobiah is dead by chapter 3.")
    assert docs.autosave()  # the text is saved: only the note is written
    assert "chapter 3" in memory.load(tmp_path / "story.md")
    assert docs.new() and view.note == ""
    other = StandInView()
    docs2 = Documents(other, Settings())
    assert docs2.open(tmp_path / "story.md") and "chapter 3" in other.note


def test_a_note_alone_in_an_untitled_window_survives_a_crash(tmp_path):
    """No text typed, only a note: it still goes to the snapshot and comes back."""
    view = StandInView()
    docs = Documents(view, Settings())
    docs.set_note(NOTE)
    assert docs.autosave()
    snap = autosave.read(docs.snapshot_file)
    data = json.loads(docs.snapshot_file.read_text())
    data["pid"] = 0  # as if its process had died
    docs.snapshot_file.write_text(json.dumps(data))
    assert snap.memory == NOTE
    view2 = StandInView()
    docs2 = Documents(view2, Settings())
    assert docs2.recover() is not None
    assert view2.note == NOTE and docs2.note == NOTE


def test_an_unreadable_note_still_opens_the_document_and_says_why(tmp_path):
    doc = tmp_path / "a.md"
    doc.write_text("text")
    memory.note_file(doc).write_text("[]")
    errors = []
    view = StandInView()
    view.show_error = errors.append
    docs = Documents(view, Settings())
    assert docs.open(doc)
    assert view.text() == "text" and view.note == ""
    assert len(errors) == 1 and "could not be read" in errors[0]
