"""The local feedback store (engine.feedback): events in, preference pairs out, in the shapes
DPO (training/tasks/dpo.py) and the reward model (engine.quality.data.Pair) read."""

from __future__ import annotations

import sqlite3

import pytest

from engine import tasks
from engine.errors import KillahError
from engine.feedback import Event, FeedbackStore, event_pairs

SOURCE = "The meeting was moved to Thursday because half of the team is away."


def test_an_accepted_candidate_is_preferred_to_every_alternative_shown():
    alternatives = ("We moved it to Thursday, as half the team is away.",
                    "Thursday it is, then.")
    e = Event("rephrase", "accepted", "rephrase", SOURCE,
              "Half the team is away, so the meeting moved to Thursday.",
              alternatives=alternatives)
    pairs = event_pairs(e)
    assert [p.rejected for p in pairs] == list(e.alternatives)
    assert all(p.chosen == e.suggestion for p in pairs)


def test_edits_and_own_writing_are_preferred_to_the_suggestion_but_a_bare_reject_is_no_pair():
    edited = Event("hunk", "edited", "rephrase", SOURCE, "Half the team is away, so the meeting "
                   "moved to Thursday.", final="Half the team is away, so we meet on Thursday.")
    assert [(p.chosen, p.rejected) for p in event_pairs(edited)] == [(edited.final,
                                                                      edited.suggestion)]
    own = Event("ghost", "rejected", "continue", "She opened the door", " and the cat ran out.",
                final=" to a hall full of snow.")
    assert [(p.chosen, p.rejected) for p in event_pairs(own)] == [(own.final, own.suggestion)]
    bare = Event("rephrase", "rejected", "rephrase", SOURCE, "Thursday, then.", final=SOURCE)
    assert event_pairs(bare) == []  # keeping the original is not a better rephrasing
    same = Event("hunk", "edited", "rephrase", SOURCE, "A b c d.", final=" A  b c d. ")
    assert event_pairs(same) == []  # whitespace only: no preference


def test_dpo_rows_use_the_prompt_module_and_carry_the_document_memory():
    e = Event("ghost", "rejected", "continue", "The keeper climbed", " the stairs again.",
              final=" to the lamp room, counting.", memory="Characters: Mara Voss.")
    row = event_pairs(e)[0].dpo_row()
    assert row["prompt"] == tasks.build("continue", "The keeper climbed",
                                        memory="Characters: Mara Voss.").text
    assert row["chosen"] == " to the lamp room, counting."
    assert row["rejected"] == " the stairs again."
    r = Event("rephrase", "accepted", "formal", SOURCE, "The meeting has been moved.",
              alternatives=("It's moved, folks.",))
    row = event_pairs(r)[0].dpo_row(tasks.PromptSettings(task_frame=tasks.TASK_FRAME))
    assert row["prompt"] == tasks.task_prompt("formal", SOURCE).text
    assert row["chosen"] == " The meeting has been moved.\n"  # the frame ends on "Rewritten:"
    pair = event_pairs(r)[0].quality_pair()
    assert (pair.better, pair.worse, pair.source) == ("The meeting has been moved.",
                                                      "It's moved, folks.", "feedback:rephrase")


def test_the_store_records_lists_summarises_and_forgets_everything(killah_home):
    with FeedbackStore() as store:
        a = store.record(Event("ghost", "accepted", "continue", "ctx", " more words here", at=1.0))
        b = store.record(Event("rephrase", "accepted", "rephrase", SOURCE, "One two three.",
                               alternatives=("Four five six.",), at=2.0))
        assert [e.id for e in store.events()] == [b.id, a.id]  # newest first
        assert store.events(kind="rephrase")[0].alternatives == ("Four five six.",)
        assert store.summary()["ghost"]["accepted"] == 1
        assert len(store.pairs()) == 1
        assert store.delete([a.id]) == 1 and store.count() == 1
        assert store.clear() == 1 and store.count() == 0
    raw = (killah_home / "feedback.sqlite").read_bytes()
    assert b"Four five six" not in raw  # vacuumed: the deleted text is not left in the file


def test_bad_events_and_foreign_databases_are_refused_by_name(tmp_path):
    with pytest.raises(ValueError, match="kind"):
        Event("tweet", "accepted", "continue", "", "")
    other = tmp_path / "other.sqlite"
    con = sqlite3.connect(other)
    con.execute("create table songs (x)")
    con.commit()
    con.close()
    with pytest.raises(KillahError, match="another database"):
        FeedbackStore(other)
    with pytest.raises(KillahError, match="folder does not exist"):
        FeedbackStore(tmp_path / "missing" / "f.sqlite")
