"""`killah train preferences` on the tiny model: pairs from the feedback store, a held-out split
of the latest choices, DPO from a new LoRA, the WQRM recalibrated, before/after on held-out."""

from __future__ import annotations

import json

import pytest

from desktop.cli import main as killah
from engine.errors import KillahError
from engine.feedback import Event, FeedbackStore
from training.preferences import PreferencesConfig, clip_context, run, split

CHOSEN = [" and the sea was grey under a low sky.", " and the wind came in off the water.",
          " and the gulls cried over the harbour wall.", " and the boats lay still in the mud."]
REJECTED = [" 1000 1250 and 12 12 12 steps.", " 77 88 99 and 11 11.", " 42 42 42 42 42 42.",
            " 3 4 5 6 7 8 9 10 11."]


def fill_store(n: int) -> None:
    with FeedbackStore() as store:
        for i in range(n):
            store.record(Event("ghost", "rejected", "continue", f"Day {i}. We walked to the shore",
                               REJECTED[i % 4], final=CHOSEN[i % 4], at=1000.0 + i))


def test_the_latest_events_are_held_out_with_all_their_pairs(killah_home):
    with FeedbackStore() as store:
        for i in range(10):
            store.record(Event("rephrase", "accepted", "rephrase", f"Source number {i} here.",
                               "One kept rewrite.", alternatives=("One passed over.",
                                                                  "Another passed over."),
                               at=float(i)))
        pairs = store.pairs()
    train, held = split(pairs, 0.2)
    assert len(held) == 4 and {p.at for p in held} == {8.0, 9.0}  # two events, two pairs each
    assert max(p.at for p in train) < min(p.at for p in held)
    assert clip_context("one two three four five", 9) == "four five"


def test_too_few_pairs_is_refused_with_the_count(killah_home):
    fill_store(3)
    with pytest.raises(KillahError, match="only 3 preference pairs"):
        run(PreferencesConfig(min_pairs=10))


def test_dpo_from_a_new_adapter_raises_the_writers_choice_on_held_out_pairs(
        killah_home, tiny_model_dir, capsys):
    fill_store(20)
    assert killah(["train", "preferences", "--model", str(tiny_model_dir), "--min-pairs", "10",
                   "--iters", "8", "--batch-size", "4", "--learning-rate", "0.01", "--beta",
                   "0.5", "--name", "mine", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["train_pairs"], report["heldout_pairs"]) == (16, 4)
    before, after = report["before"]["model"], report["after"]["model"]
    assert after["margin"]["mean"] > before["margin"]["mean"]
    assert after["prefers_writer"]["n"] == 4 and report["refined"] is None
    assert 0 <= report["after"]["wqrm"]["prefers_writer"]["mean"] <= 1
    meta = json.loads((killah_home / "adapters" / "mine" / "metadata.json").read_text())
    assert meta["format"] == "killah-adapter v1" and meta["preferences"]["pairs"] == 20
    cal = json.loads((killah_home / "preferences" / "calibration.json").read_text())
    assert cal["format"] == "killah-calibration v1" and cal["pairs"] == 16
