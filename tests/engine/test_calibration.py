"""The WQRM recalibrated to one writer (engine.calibration): a taste the WQRM lacks is learned
from the writer's pairs and holds on pairs it never saw; with no signal it stays the WQRM."""

from __future__ import annotations

import pytest

from engine import calibration
from engine.errors import KillahError

SHORT = ["The rain stopped.", "She closed the door.", "He sat by the fire.", "The boat was late.",
         "They walked home.", "The lamp went out.", "Snow fell at noon.", "The dog barked twice.",
         "We ate in silence.", "The letter was torn."]
LONG = ["The rain, which had been falling since the early hours of the morning, finally stopped.",
        "She closed the heavy oak door behind her and stood for a while in the dark hallway.",
        "He sat by the fire for most of the evening, turning the pages of an old almanac.",
        "The supply boat was late again, and nobody on the island could say when it would come.",
        "They walked home along the shore road while the tide came in over the flat grey sand.",
        "The lamp went out just after midnight, and the whole room fell into a sudden darkness.",
        "Snow began to fall at noon and did not stop until the fields were white to the hedges.",
        "The old dog barked twice at something in the lane and then lay down again by the gate.",
        "We ate our supper in silence, listening to the wind that rattled the kitchen windows.",
        "The letter had been torn in half and then carefully mended with a strip of brown paper."]


def test_a_writer_who_prefers_short_sentences_is_learned_and_it_holds_on_new_pairs(killah_home):
    train = range(0, 7)
    cal = calibration.fit([SHORT[i] for i in train], [LONG[i] for i in train])
    held = range(7, 10)
    scores_short = cal.score_texts([SHORT[i] for i in held])
    scores_long = cal.score_texts([LONG[i] for i in held])
    assert all(s > lo for s, lo in zip(scores_short, scores_long))
    assert cal.weights[-1] < 0  # the length weight: shorter is better for this writer
    path = cal.save()
    back = calibration.load(path)
    assert back == cal and back.persona_profile().name == "writer"


def test_without_pairs_it_refuses_and_a_bad_file_is_named(killah_home):
    with pytest.raises(KillahError, match="needs pairs"):
        calibration.fit([], [])
    assert calibration.load() is None
    calibration.calibration_path().parent.mkdir(parents=True, exist_ok=True)
    calibration.calibration_path().write_text("{}")
    with pytest.raises(KillahError, match="calibration"):
        calibration.load()
