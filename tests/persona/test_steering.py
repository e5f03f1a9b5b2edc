"""Residual steering as a generator transform, on the tiny model and on the real one."""

from __future__ import annotations

import mlx.core as mx
import numpy as np
import pytest

from engine.persona.steering import (SteeringTransform, decoder_layers, default_layers,
                                     mean_hidden_states, steering_vectors)
from engine.persona.neutral import neutral_paragraphs, reference_paragraphs

PROMPT = "It is a truth universally acknowledged, that a single man"


def _logits(lm, text=PROMPT) -> np.ndarray:
    tokens = mx.array([lm.tokenizer.encode(text)])
    out = lm.model(tokens)
    mx.eval(out)
    return np.array(out.astype(mx.float32))


def _random_vectors(lm, layers, seed=0) -> dict[int, np.ndarray]:
    rng = np.random.default_rng(seed)
    d = lm.model.args.hidden_size
    return {layer: rng.normal(size=d).astype(np.float32) for layer in layers}


def test_strength_zero_is_exactly_the_plain_model(tiny_lm):
    plain = _logits(tiny_lm)
    transform = SteeringTransform(_random_vectors(tiny_lm, [1, 2]), strength=0.0)
    layers_before = list(decoder_layers(tiny_lm.model))
    undo = transform.apply(tiny_lm.model)
    try:
        assert list(decoder_layers(tiny_lm.model)) == layers_before
        np.testing.assert_array_equal(_logits(tiny_lm), plain)
    finally:
        undo()


def test_positive_strength_changes_logits_and_undo_restores_exactly(tiny_lm):
    plain = _logits(tiny_lm)
    layers_before = list(decoder_layers(tiny_lm.model))
    transform = SteeringTransform(_random_vectors(tiny_lm, [1]), strength=2.0)
    undo = transform.apply(tiny_lm.model)
    steered = _logits(tiny_lm)
    assert decoder_layers(tiny_lm.model)[1] is not layers_before[1]
    undo()
    assert np.abs(steered - plain).max() > 1e-3
    assert all(a is b for a, b in zip(decoder_layers(tiny_lm.model), layers_before))
    np.testing.assert_array_equal(_logits(tiny_lm), plain)


def test_steering_adds_strength_times_vector_to_the_layer_output(tiny_lm):
    """The wrapped layer's output is the original output plus strength * vector, exactly."""
    captured = {}
    vec = _random_vectors(tiny_lm, [2], seed=3)
    plain = mean_hidden_states(tiny_lm, [PROMPT], [2])[2]
    undo = SteeringTransform(vec, strength=0.5).apply(tiny_lm.model)
    try:
        captured = mean_hidden_states(tiny_lm, [PROMPT], [2])[2]
    finally:
        undo()
    np.testing.assert_allclose(captured - plain, 0.5 * vec[2], atol=1e-4)


def test_generator_applies_the_transform_for_one_call(tiny_lm):
    from engine.generate import SamplingOptions, generate

    opts = SamplingOptions(temperature=0.0, max_tokens=12, repetition_penalty=1.0)
    plain = generate(tiny_lm, PROMPT, opts)
    strong = SteeringTransform(_random_vectors(tiny_lm, [1, 2], seed=5), strength=50.0)
    steered = generate(tiny_lm, PROMPT, opts, transforms=[strong])
    assert steered.tokens != plain.tokens
    assert generate(tiny_lm, PROMPT, opts).tokens == plain.tokens


def test_steering_vector_is_persona_mean_minus_neutral_mean(tiny_lm):
    persona = ["It is a truth universally acknowledged.", "The quick brown fox jumps over the lazy dog."]
    neutral = neutral_paragraphs(3)
    vectors = steering_vectors(tiny_lm, persona, neutral, [0, 3])
    a = mean_hidden_states(tiny_lm, persona, [0, 3])
    b = mean_hidden_states(tiny_lm, neutral, [0, 3])
    for layer in (0, 3):
        np.testing.assert_allclose(vectors[layer], a[layer] - b[layer], rtol=1e-5, atol=1e-5)
        assert vectors[layer].shape == (tiny_lm.model.args.hidden_size,)
    assert default_layers(tiny_lm.model) == (2,)


def test_batched_means_equal_one_text_at_a_time(tiny_lm):
    """Right padding in a batch must not change the per-text means."""
    texts = ["Short one.", "A much longer sentence that needs padding for the other rows in the batch."]
    together = mean_hidden_states(tiny_lm, texts, [1])[1]
    apart = np.mean([mean_hidden_states(tiny_lm, [t], [1])[1] for t in texts], axis=0)
    np.testing.assert_allclose(together, apart, rtol=1e-4, atol=1e-4)


def test_neutral_set_is_deterministic_and_plain():
    a, b = neutral_paragraphs(20), neutral_paragraphs(20)
    assert a == b and len(set(a)) == 20
    assert all(50 <= len(p.split()) <= 150 and '"' not in p for p in a)


def test_reference_set_is_mixed_prose_in_the_persona_language():
    """The default neutral reference: many authors' paragraphs, English or Russian."""
    from engine.index.features import guess_language
    from engine.persona import PersonaStrengths

    assert PersonaStrengths().neutral == "reference"
    en, ru = reference_paragraphs("en"), reference_paragraphs("ru")
    assert len(en) >= 200 and len(ru) >= 100 and len(set(en)) == len(en)
    assert all(60 <= len(p.split()) <= 150 for p in en)
    assert {guess_language(p) for p in en} == {"en"} and {guess_language(p) for p in ru} == {"ru"}
    assert reference_paragraphs("fr") == en  # no set of its own: English


@pytest.mark.real_model
def test_austen_steering_changes_generation_and_favours_austen(real_lm, reference):
    """Steering from Austen changes greedy output and makes held-out Austen more likely."""
    from engine.generate import SamplingOptions, generate

    def paragraphs(path, n, skip=0):
        blocks = [" ".join(b.split()) for b in path.read_text(encoding="utf-8").split("\n\n")]
        return [b for b in blocks if 40 <= len(b.split()) <= 150][skip:skip + n]

    austen = reference / "en" / "austen"  # the shipped excerpts
    persona = paragraphs(austen / "emma.txt", 40, skip=20) + paragraphs(austen / "pride_and_prejudice.txt", 40)
    held_out = paragraphs(austen / "persuasion.txt", 8, skip=15)
    layers = default_layers(real_lm.model)
    transform = SteeringTransform(steering_vectors(real_lm, persona, neutral_paragraphs(80), layers), 0.5)

    opts = SamplingOptions(temperature=0.0, max_tokens=40)
    prompt = "The letter arrived on a Tuesday morning, and"
    plain = generate(real_lm, prompt, opts)
    steered = generate(real_lm, prompt, opts, transforms=[transform])
    assert steered.tokens != plain.tokens
    assert len(set(steered.text.split())) >= 10  # still words, not a collapsed loop

    def mean_logprob(texts) -> float:
        total, count = 0.0, 0
        for text in texts:
            ids = real_lm.tokenizer.encode(text)[:96]
            logits = real_lm.model(mx.array([ids]))[0, :-1].astype(mx.float32)
            logp = logits - mx.logsumexp(logits, axis=-1, keepdims=True)
            picked = mx.take_along_axis(logp, mx.array(ids[1:])[:, None], axis=-1)
            total += float(picked.sum())
            count += len(ids) - 1
        return total / count

    before = mean_logprob(held_out)
    undo = transform.apply(real_lm.model)
    try:
        after = mean_logprob(held_out)
    finally:
        undo()
    assert after > before
