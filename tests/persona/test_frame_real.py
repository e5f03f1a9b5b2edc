"""The exemplar frame on the real model: no frame markers, no exemplar-only names in the output."""

from __future__ import annotations

import re

import pytest

from engine import tasks

DESCRIPTIONS = (
    "Told in the third person. A young woman walks to the village in the rain to post a "
    "letter, meets an old friend at the shop, and they talk about a wedding.",
    "Told in the first person by a narrator. The narrator waits for a visitor who is late, "
    "worries about the dinner, and is relieved when the carriage arrives.",
    "Told in the third person. Two sisters argue about money over breakfast; the elder "
    "decides to write to their uncle for advice.",
    "Told in the third person. A gentleman calls on a family, is received coldly by the "
    "mother, and leaves feeling that he has been misunderstood.",
)


def _paragraphs(path, n, skip=0):
    blocks = [" ".join(b.split()) for b in path.read_text(encoding="utf-8").split("\n\n")]
    return [b for b in blocks if 60 <= len(b.split()) <= 150][skip:skip + n]


def _named(paragraphs, k):
    """k paragraphs that name someone (the names a copying model would carry over)."""
    from engine.quality.facts import name_forms

    return [p for p in paragraphs if len(name_forms(p, "en")) >= 2][:k]


def _leaks(text: str, prompt: tasks.Prompt) -> list[str]:
    found = [m for m in tasks.FRAME_STOPS if m in text]
    found += [a for a in prompt.avoid if re.search(rf"(?<!\w){re.escape(a)}(?!\w)", text, re.I)]
    return found


@pytest.mark.real_model
def test_restyle_after_exemplars_writes_prose_without_the_frame_or_their_names(real_lm,
                                                                               reference):
    from engine.generate import SamplingOptions, generate_batch
    from engine.persona.neutral import reference_paragraphs
    from engine.persona.steering import SteeringTransform, default_layers, steering_vectors

    austen = reference / "en" / "austen"
    pool = _named(_paragraphs(austen / "emma.txt", 120, skip=30), 12)
    persona = _paragraphs(austen / "pride_and_prejudice.txt", 40)
    layers = default_layers(real_lm.model)
    vectors = steering_vectors(real_lm, persona, reference_paragraphs("en"), layers)
    steer = SteeringTransform(vectors, 2.0)
    prompts = [tasks.restyle_prompt(d, "the author", 90, exemplars=pool[3 * i:3 * i + 3])
               for i, d in enumerate(DESCRIPTIONS)]
    assert all(len(p.avoid) > 3 and "<blockquote>" in p.stop for p in prompts)
    opts = [SamplingOptions(temperature=0.8, min_p=0.05, repetition_penalty=1.1, max_tokens=140,
                            seed=7 + i) for i in range(len(prompts))]
    out = [c.text for c in generate_batch(real_lm, prompts, opts, transforms=(steer,))]
    for text, prompt in zip(out, prompts):
        assert not _leaks(text, prompt), (text, _leaks(text, prompt))
    # prose, not an empty stop (the 270M model may end a passage early with its end token)
    assert sum(len(t.split()) >= 20 for t in out) >= len(out) // 2, out

    # the same prompts without the guards do leak: the check above can fail
    bare = [tasks.Prompt(p.text, task=p.task) for p in prompts]
    raw = [c.text for c in generate_batch(real_lm, bare, opts, transforms=(steer,))]
    assert any(_leaks(t, p) for t, p in zip(raw, prompts)), raw
