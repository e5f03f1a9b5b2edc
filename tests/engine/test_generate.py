"""The generator on a tiny random-weight model: plumbing, not quality."""

import threading

import mlx.core as mx
import pytest

from engine.generate import (
    CancelToken,
    SamplingOptions,
    StopMatcher,
    encode,
    generate,
    generate_batch,
    generate_candidates,
    stream_generate,
)
from engine.tasks import Prompt

GREEDY = SamplingOptions(temperature=0.0, max_tokens=24, repetition_penalty=1.0)
PROMPT = "It is a truth universally acknowledged, that a single man"


def test_loaded_model_is_float32_on_cpu(tiny_lm):
    weight = tiny_lm.model.parameters()["model"]["embed_tokens"]["weight"]
    assert weight.dtype == mx.float32


def test_load_model_is_cached(tiny_model_dir, tiny_lm):
    from engine.models import load_model

    assert load_model(str(tiny_model_dir)) is tiny_lm


def test_streaming_equals_non_streaming(tiny_lm):
    whole = generate(tiny_lm, PROMPT, GREEDY)
    streamed = list(stream_generate(tiny_lm, PROMPT, GREEDY))
    assert "".join(r.text for r in streamed) == whole.text
    assert [r.token for r in streamed if r.token is not None] == whole.tokens
    assert streamed[-1].finish_reason == "length"
    assert len(whole.tokens) == GREEDY.max_tokens == len(whole.logprobs)


def test_logprobs_match_a_plain_forward_pass(tiny_lm):
    """The reported log-prob of each sampled token is the model's own."""
    ids = encode(tiny_lm, PROMPT)[0]  # token ids: used as given, no healing
    c = generate(tiny_lm, ids, GREEDY.replace(max_tokens=5), reuse_prompt_cache=False)
    logits = tiny_lm.model(mx.array(ids + c.tokens)[None])[0]
    logp = logits - mx.logsumexp(logits, axis=-1, keepdims=True)
    for i, (tok, lp) in enumerate(zip(c.tokens, c.logprobs)):
        assert lp == pytest.approx(logp[len(ids) - 1 + i, tok].item(), abs=1e-3)


def test_prompt_cache_gives_the_same_tokens_as_no_cache(tiny_lm):
    """Extending a prompt reuses the cached prefix and changes nothing in the output,
    also past the sliding window (32 tokens in the tiny model)."""
    base = PROMPT * 3
    generate(tiny_lm, base, GREEDY)  # fills the cache
    longer = base + " Rain fell on the old town"
    cached = list(stream_generate(tiny_lm, longer, GREEDY))
    fresh = generate(tiny_lm, longer, GREEDY, reuse_prompt_cache=False)
    assert cached[-1].cached_tokens > 0
    assert [r.token for r in cached if r.token is not None] == fresh.tokens


def test_prompt_cache_handles_an_edited_prefix(tiny_lm):
    generate(tiny_lm, "The quick brown fox jumps over the lazy dog.", GREEDY)
    edited = "The quick red fox jumps over the lazy dog."
    assert generate(tiny_lm, edited, GREEDY).tokens == generate(
        tiny_lm, edited, GREEDY, reuse_prompt_cache=False
    ).tokens


def test_seed_makes_sampling_reproducible(tiny_lm):
    opts = SamplingOptions(temperature=1.0, max_tokens=16, seed=7)
    assert generate(tiny_lm, PROMPT, opts).tokens == generate(tiny_lm, PROMPT, opts).tokens


def test_stop_string_ends_generation_and_is_not_returned(tiny_lm):
    free = generate(tiny_lm, PROMPT, GREEDY.replace(max_tokens=40))
    # Stop at a piece of text the model really produces, so the test cannot pass vacuously.
    stop = free.text[len(free.text) // 2 : len(free.text) // 2 + 2]
    assert stop.strip(), free.text
    c = generate(tiny_lm, PROMPT, GREEDY.replace(max_tokens=40, stop=(stop,)))
    assert c.finish_reason == "stop"
    assert stop not in c.text
    assert free.text.startswith(c.text)


def test_prompt_object_brings_its_stop_strings(tiny_lm):
    free = generate(tiny_lm, PROMPT, GREEDY.replace(max_tokens=40))
    stop = free.text[10:12]
    c = generate(tiny_lm, Prompt(PROMPT, stop=(stop,)), GREEDY.replace(max_tokens=40))
    assert c.finish_reason == "stop" and stop not in c.text


@pytest.mark.parametrize(
    "text, stops, found, hold",
    [
        ("hello world\nmore", ["\n"], 11, 0),
        ("abcde", ["xyz"], None, 0),
        ("Original: x", ["Original:"], 0, 0),
        ("abc", [], None, 0),
        ("a line\nOrig", ["\nOriginal:"], None, 5),
        ("ends wit", ["xyz", "with x"], None, 3),
    ],
)
def test_stop_matcher(text, stops, found, hold):
    m = StopMatcher(stops)
    assert m.find(text) == found
    assert m.hold(text) == hold


def test_cancel_from_another_thread_returns_what_was_generated(tiny_lm):
    cancel = CancelToken()
    seen = []
    opts = SamplingOptions(temperature=1.0, max_tokens=2000, seed=1)
    for r in stream_generate(tiny_lm, PROMPT, opts, cancel=cancel):
        seen.append(r)
        if len(seen) == 5:
            threading.Thread(target=cancel.cancel).start()
            threading.Event().wait(0.2)
    assert seen[-1].finish_reason == "cancelled"
    assert 5 <= len(seen) < 2000


def test_batch_of_n_returns_n_distinct_candidates_with_logprobs(tiny_lm):
    opts = SamplingOptions(temperature=1.0, max_tokens=20, seed=3)
    cands = generate_candidates(tiny_lm, PROMPT, 4, opts)
    assert len(cands) == 4
    assert len({tuple(c.tokens) for c in cands}) == 4
    for c in cands:
        assert len(c.tokens) == len(c.logprobs) == 20
        assert all(lp <= 0 for lp in c.logprobs)


def test_batch_greedy_equals_single_greedy(tiny_lm):
    single = generate(tiny_lm, PROMPT, GREEDY, reuse_prompt_cache=False)
    batch = generate_candidates(tiny_lm, PROMPT, 3, GREEDY)
    assert all(c.tokens == single.tokens for c in batch)
    assert batch[0].text == single.text


def test_batch_takes_one_option_per_candidate(tiny_lm):
    opts = [GREEDY.replace(max_tokens=m) for m in (3, 7)]
    cands = generate_candidates(tiny_lm, PROMPT, 2, opts)
    assert [len(c.tokens) for c in cands] == [3, 7]
    with pytest.raises(ValueError, match="2 SamplingOptions for 3"):
        generate_candidates(tiny_lm, PROMPT, 3, opts)


def test_batch_honours_stop_strings(tiny_lm):
    free = generate(tiny_lm, PROMPT, GREEDY.replace(max_tokens=30))
    stop = free.text[8:10]
    cands = generate_candidates(tiny_lm, PROMPT, 2, GREEDY.replace(max_tokens=30, stop=(stop,)))
    for c in cands:
        assert c.finish_reason == "stop" and stop not in c.text and free.text.startswith(c.text)


def test_generate_batch_of_different_prompts_equals_each_single_greedy(tiny_lm):
    """Prompts of different lengths share one batch (padded prefill); each decodes as alone."""
    prompts = [PROMPT, PROMPT + " and then the rain came down on the roof", "A short one."]
    opts = [GREEDY.replace(max_tokens=m) for m in (12, 9, 15)]
    batch = generate_batch(tiny_lm, prompts, opts)
    for prompt, o, got in zip(prompts, opts, batch):
        alone = generate(tiny_lm, prompt, o, reuse_prompt_cache=False)
        assert got.tokens == alone.tokens and got.text == alone.text
        assert got.prompt_tokens == alone.prompt_tokens
        assert len(got.logprobs) == len(got.tokens)
        assert got.logprobs == pytest.approx(alone.logprobs, abs=1e-3)
    assert generate_batch(tiny_lm, []) == []
    with pytest.raises(ValueError, match="2 SamplingOptions for 3"):
        generate_batch(tiny_lm, prompts, opts[:2])


def test_generate_batch_same_seed_same_text(tiny_lm):
    prompts = [PROMPT, "A short one."]
    opts = SamplingOptions(temperature=1.0, max_tokens=10, seed=11)
    first = [c.tokens for c in generate_batch(tiny_lm, prompts, opts)]
    assert first == [c.tokens for c in generate_batch(tiny_lm, prompts, opts)]
    assert first[0] != first[1]


def test_transforms_are_applied_for_one_call_and_undone(tiny_lm):
    """The seam for adapters and steering: a transform changes the output, then is undone."""

    class Silence:
        cache_key = "silence"

        def apply(self, model):
            head = model.model.embed_tokens
            old = head.weight
            head.weight = old * 0.0
            return lambda: setattr(head, "weight", old)

    plain = generate(tiny_lm, PROMPT, GREEDY)
    muted = generate(tiny_lm, PROMPT, GREEDY, transforms=[Silence()])
    assert muted.tokens != plain.tokens
    assert generate(tiny_lm, PROMPT, GREEDY).tokens == plain.tokens


def test_invalid_options_are_refused():
    with pytest.raises(ValueError, match="max_tokens"):
        SamplingOptions(max_tokens=0)
    with pytest.raises(ValueError, match="min_p"):
        SamplingOptions(min_p=1.5)


def test_prompt_cache_survives_retokenised_tail_past_the_window(tiny_lm):
    """A long document whose last word changes reuses the cache although the
    sliding-window layers (32 tokens here) cannot be trimmed."""
    doc = PROMPT * 6 + " The quick brown fo"
    generate(tiny_lm, doc, GREEDY)
    edited = doc + "x jumps"
    cached = list(stream_generate(tiny_lm, edited, GREEDY))
    assert cached[-1].cached_tokens > 32
    fresh = generate(tiny_lm, edited, GREEDY, reuse_prompt_cache=False)
    assert [r.token for r in cached if r.token is not None] == fresh.tokens


def test_a_prompt_cached_on_a_thread_that_ended_is_not_reused_on_another(tiny_lm):
    """Regression: the app's model thread of one window cached a prompt; the next window's
    thread (often with the same thread id) trimmed it to a shared first token and MLX raised
    "There is no Stream(cpu, 1) in current thread"."""
    import threading

    results = []

    def run(prompt):
        results.append(generate(tiny_lm, prompt, GREEDY.replace(max_tokens=4)).tokens)

    for prompt in ("The keeper climbed the stairs", PROMPT):  # a shared first token only
        t = threading.Thread(target=run, args=(prompt,))
        t.start()
        t.join()
    fresh = generate(tiny_lm, PROMPT, GREEDY.replace(max_tokens=4), reuse_prompt_cache=False)
    assert len(results) == 2 and results[1] == fresh.tokens
