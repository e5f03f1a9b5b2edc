"""Reviewing a rewrite hunk by hunk: the logic (desktop.hunks.Review) with a stand-in view."""

from __future__ import annotations

from desktop.hunks import EDITED, KEPT, PENDING, UNDONE, Review, hunks_of

BEFORE = "Intro. She walked slowly down the empty street, listening to the rain. End."
ORIGINAL = "She walked slowly down the empty street, listening to the rain."
REWRITE = "Listening to the rain, she walked slowly along the deserted street."


class StandInView:
    """A text with an undo stack: every replace_spans is one undo step."""

    def __init__(self, text: str) -> None:
        self.text, self.undos, self.redos = text, [], []
        self.shown, self.ended = 0, False

    def replace_spans(self, spans):
        self.undos.append(self.text)
        self.redos.clear()
        for start, end, new in sorted(spans, reverse=True):
            self.text = self.text[:start] + new + self.text[end:]

    def text_range(self, start, end):
        return self.text[start:end]

    def undo_edit(self):
        self.redos.append(self.text)
        self.text = self.undos.pop()

    def redo_edit(self):
        self.undos.append(self.text)
        self.text = self.redos.pop()

    def show_review(self, review, focus=True):
        self.shown += 1
        for h in review.hunks:  # every hunk's position matches the text it holds
            if h.state != EDITED:
                assert self.text[h.start:h.end] == h.text, (h, self.text)

    def end_review(self):
        self.ended = True


def start(text=BEFORE, original=ORIGINAL, rewrite=REWRITE):
    view = StandInView(text)
    outcomes = []
    review = Review(view, text.index(original), original, rewrite, outcomes.append)
    assert review.begin()
    return view, review, outcomes


def test_hunks_are_word_level_and_whitespace_bridges_them():
    assert hunks_of("the old grey cat sat", "the young black cat sat") == [
        (4, "old grey", "young black")]
    assert hunks_of("a b c", "a b c") == []
    offsets = hunks_of(ORIGINAL, REWRITE)
    for off, _old, new in offsets:
        assert REWRITE[off:off + len(new)] == new


def test_the_rewrite_goes_in_as_one_step_then_each_undone_hunk_is_one_more():
    view, review, outcomes = start()
    assert view.text == BEFORE.replace(ORIGINAL, REWRITE) and len(view.undos) == 1
    n = len(review.hunks)
    assert n >= 2
    review.undo_hunk()  # the first hunk's original words come back
    assert len(view.undos) == 2 and review.hunks[0].state == UNDONE
    review.keep()  # keeping changes nothing in the text
    assert len(view.undos) == 2 and review.hunks[1].state == KEPT
    review.keep_all()
    assert not review.pending and not review.finished  # waits for Done, Ctrl+Z still works
    review.finish()
    assert view.ended
    (outcome,) = outcomes
    assert outcome.action == "edited"
    assert view.text == BEFORE.replace(ORIGINAL, outcome.final)
    assert outcome.final.startswith(review.hunks[0].old)


def test_undoing_every_hunk_gives_back_the_original_exactly():
    view, review, outcomes = start()
    review.undo_all()
    review.finish()
    assert view.text == BEFORE and outcomes[0].action == "rejected"
    assert outcomes[0].final == ORIGINAL and len(view.undos) == 2


def test_ctrl_z_steps_back_one_decision_at_a_time_then_drops_the_rewrite():
    view, review, outcomes = start()
    review.undo_hunk()
    review.keep()
    review.step_back()  # the keep: open again, the text unchanged
    assert review.hunks[1].state == PENDING and review.current == 1
    review.step_back()  # the undo: the rewrite's words are back
    assert review.hunks[0].state == PENDING and view.text == BEFORE.replace(ORIGINAL, REWRITE)
    review.step_forward()  # redo the undone hunk
    assert review.hunks[0].state == UNDONE
    review.step_back()
    review.step_back()  # no decision left: the rewrite itself goes
    assert view.text == BEFORE and review.finished and outcomes[0].action == "rejected"


def test_next_and_previous_wrap_around_the_open_hunks():
    view, review, _ = start()
    n = len(review.hunks)
    review.go(-1)
    assert review.current == n - 1
    review.go(1)
    assert review.current == 0
    review.keep()
    review.go(-1)
    assert review.current == n - 1  # the kept hunk is skipped


def test_the_writers_own_edits_move_hunks_or_settle_them_as_edited():
    view, review, outcomes = start()
    # typing before the rewrite moves everything
    view.replace_spans([(0, 0, "Hey. ")])
    review.text_changed(0, 0, 5)
    assert view.text[review.start:review.end] == REWRITE
    first = review.hunks[0]
    # typing inside the first hunk makes it the writer's own
    view.replace_spans([(first.start + 1, first.start + 1, "x")])
    review.text_changed(first.start + 1, 0, 1)
    assert first.state == EDITED and review.current != 0
    review.keep_all()
    view.replace_spans([(len(view.text), len(view.text), " More.")])
    review.text_changed(len(view.text) - 6, 0, 6)  # typing on after deciding all: done
    assert outcomes[0].action == "edited"
    assert outcomes[0].final == view.text[review.start:review.end]
    assert outcomes[0].final[1] == "x"


def test_an_identical_rewrite_ends_at_once_as_accepted():
    view = StandInView("Same words.")
    outcomes = []
    review = Review(view, 0, "Same words.", "Same words.", outcomes.append)
    assert not review.begin() and review.finished and outcomes[0].action == "accepted"


def test_ctrl_z_after_the_writer_typed_undoes_the_typing_not_a_decision():
    view, review, outcomes = start()
    review.undo_hunk()
    view.replace_spans([(0, 0, "Hey. ")])  # the writer types before the rewrite
    review.text_changed(0, 0, 5)
    review.step_back()  # Ctrl+Z: the typing goes; the decision stays
    review.text_changed(0, 5, 0)  # the document tells the review what the undo changed
    assert view.text.startswith("Intro.") and review.hunks[0].state == UNDONE
    assert view.text[review.start:review.end].startswith(review.hunks[0].old)
