"""Per-persona steering calibration: held-out split, scorer, guards, search, cache, cancel."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from engine.index import IndexStore, sync
from engine.persona import PersonaConditioning, PersonaStrengths, create_persona
from engine.persona import calibrate as cal
from engine.persona.neutral import reference_paragraphs
from engine.persona.steering import DEFAULT_STRENGTH
from engine.progress import Cancelled, CancelToken


def _paragraphs(path: Path, n: int, skip: int = 0) -> list[str]:
    blocks = [" ".join(b.split()) for b in path.read_text(encoding="utf-8").split("\n\n")]
    return [b for b in blocks if 40 <= len(b.split()) <= 150][skip:skip + n]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, reference):
    root = tmp_path_factory.mktemp("calibration-corpus")
    austen = _paragraphs(reference / "en" / "austen" / "emma.txt", 40, skip=20)
    (root / "austen").mkdir()
    (root / "austen" / "a.txt").write_text("\n\n".join(austen), encoding="utf-8")
    return root


@pytest.fixture
def store(tmp_path, corpus):
    with IndexStore(tmp_path / "index.sqlite") as s:
        create_persona(s, "austen", [corpus / "austen"])
        sync(s)
        yield s


def test_held_out_paragraphs_are_spread_and_need_enough_prose():
    picks = cal.held_out(100)
    assert len(picks) == cal.CALIBRATION_PARAGRAPHS and picks == sorted(set(picks))
    assert picks[0] > 0 and picks[-1] < 99 and np.diff(picks).min() >= 5
    assert len(cal.held_out(40)) == 10
    assert cal.held_out(4 * cal.MIN_PARAGRAPHS - 1) == []


def test_opening_is_the_first_sentences():
    text = ("It was a cold day. The wind blew hard over the moor and the trees bent low before it. "
            "Nobody went out. The dogs stayed by the fire all afternoon, and the cat slept.")
    head = cal.opening(text, words=20)
    assert text.startswith(head) and 20 <= len(head.split()) <= 30 and head.endswith(".")


def test_scorer_places_held_out_austen_above_other_authors(reference):
    en = reference / "en"
    writer = _paragraphs(en / "austen" / "emma.txt", 16, skip=80)
    austen = _paragraphs(en / "austen" / "persuasion.txt", 12, skip=10)
    others = (_paragraphs(sorted((en / "melville").glob("*.txt"))[0], 6, skip=40)
              + _paragraphs(sorted((en / "twain").glob("*.txt"))[0], 6, skip=40))
    scorer = cal.StyleScorer(writer, reference_paragraphs("en"))
    a, b = scorer.scores(austen), scorer.scores(others)
    assert a.shape == (12,) and np.mean(a) > np.mean(b) and np.mean(a) > 0


def test_guards_refuse_loops_gibberish_and_drift():
    base = cal.Setting(2, 0.0, 0.01, 0.01, 0.95, 0.05, 0.5)
    ok = cal._guard(replace(base, strength=2.0, score=0.05), base)
    assert ok.allowed and ok.reason == ""
    loop = cal._guard(replace(base, distinct_2=0.7, repetition_3=0.4), base)
    assert not loop.allowed and "distinct-2" in loop.reason and "repeated" in loop.reason
    assert "content" in cal._guard(replace(base, content=0.3), base).reason
    gibberish = replace(base, perplexity=70.0)
    assert cal._guard(gibberish, base).allowed  # perplexity only against the writer's
    assert "perplexity" in cal._guard(gibberish, base, writer_ppl=40.0).reason
    assert cal._guard(replace(base, perplexity=55.0), base, writer_ppl=40.0).allowed
    picked = cal._best([replace(ok, score=0.2, allowed=False), ok])
    assert picked == ok and cal._best([]) is None


def test_calibration_searches_caches_and_scales_the_users_strength(store, tiny_lm):
    events = []
    cond = PersonaConditioning.open("austen", tiny_lm, PersonaStrengths(exemplars=2), store=store)
    held = cond.calibration_indices()
    assert len(held) == 10
    sample = set(cond._persona_sample())
    assert not sample & {cond.data.texts[i] for i in held}  # never in the vector
    exclude = {int(cond.data.ids[i]) for i in held}
    prompt = cond.calibration_prompt("Emma walked to Hartfield.", exclude)
    assert not any(cond.data.texts[i] in prompt.text for i in held)  # nor in the exemplars

    assert cond.calibration() is None
    result = cond.calibrate(progress=events.append, strengths=(1.0, 3.0), tokens=12)
    tried = [(s.layer, s.strength) for s in result.settings]
    assert tried[:2] == [(2, 1.0), (2, 3.0)] and len(set(tried)) == len(tried) <= 4
    assert {s for _, s in tried} <= {1.0, 3.0, 6.0}  # extended by doubling, 8 at most
    assert result.strength == 0.0 or (result.layer, result.strength) in tried
    if result.strength:
        assert result.chosen.allowed and result.chosen.perplexity is not None
        assert result.chosen.score > result.base.score
    assert result.prompts == 10 and result.exemplars == 2 and result.seconds > 0
    assert [e.stage for e in events] == ["calibrate"] * len(events)
    assert events[-1].done == events[-1].total and events[0].done == 0

    again = PersonaConditioning.open("austen", tiny_lm, PersonaStrengths(), store=store)
    assert again.calibration() == result  # from the index's cache
    layers, strength = again.steering_setting()
    if result.strength:
        assert layers == (result.layer,) and strength == pytest.approx(result.strength)
        doubled = again.with_strengths(steering=2 * DEFAULT_STRENGTH).steering_setting()[1]
        assert doubled == pytest.approx(2 * result.strength)
    absolute = again.with_strengths(calibrated=False, steering=1.5)
    assert absolute.steering_setting() == ((2,), 1.5)


def test_calibration_is_redone_after_an_edit_and_stops_when_cancelled(store, corpus, tiny_lm):
    cond = PersonaConditioning.open("austen", tiny_lm, PersonaStrengths(exemplars=0), store=store)
    cond.calibrate(strengths=(2.0,), tokens=8)
    extra = corpus / "austen" / "b.txt"
    extra.write_text(" ".join(["The neighbourhood of Highbury was all astonishment."] * 6),
                     encoding="utf-8")
    try:
        sync(store)
        edited = PersonaConditioning.open("austen", tiny_lm, PersonaStrengths(exemplars=0),
                                          store=store)
        assert edited.calibration() is None  # the documents changed
        token = CancelToken()

        def stop_after_first(event):
            if event.done:
                token.cancel()

        with pytest.raises(Cancelled):
            edited.calibrate(progress=stop_after_first, cancel=token, strengths=(2.0,), tokens=8)
        assert edited.calibration() is None
    finally:
        extra.unlink()


def test_persona_calibrate_cli(corpus, tiny_model_dir, tmp_path, capsys):
    import json

    from desktop.cli import main

    db = str(tmp_path / "cli.sqlite")
    assert main(["persona", "--db", db, "create", "mine", "--folder", str(corpus / "austen")]) == 0
    capsys.readouterr()
    assert main(["persona", "--db", db, "calibrate", "mine", "--model", str(tiny_model_dir),
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["persona"] == "mine" and out["prompts"] == 10 and out["exemplars"] == 3
    assert len(out["settings"]) >= len(cal.STRENGTHS) and out["summary"].startswith("mine: ")
    stored = {k: v for k, v in out.items() if k not in ("persona", "summary")}
    assert cal.Calibration.from_json(json.dumps(stored)).to_json() == json.dumps(stored)
    assert main(["persona", "--db", db, "calibrate", "nobody", "--model", str(tiny_model_dir)]) == 1
    assert "no persona named 'nobody'" in capsys.readouterr().err


@pytest.mark.real_model
def test_calibration_on_the_real_model_measures_every_setting(store, real_lm):
    cond = PersonaConditioning.open("austen", real_lm, PersonaStrengths(exemplars=1), store=store)
    result = cond.calibrate(strengths=(2.0, 12.0), tokens=24, force=True)
    assert result.prompts == 10 and 2 <= len(result.settings) <= 5
    for s in (result.base, *result.settings):
        assert np.isfinite([s.score, s.distinct_2, s.content]).all(), s
        assert -1.0 < s.score < 1.0 and (s.perplexity is None or 1.0 < s.perplexity < 1e4)
    assert 5.0 < result.writer_perplexity < 500.0  # Austen under the base model
