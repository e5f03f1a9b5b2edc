"""Killah's generator against plain mlx-lm, and the batch rows against single generations.

Prompts are given as token ids (used as given: no token healing), and mlx-lm gets
the same special-token mask as a logits processor, so the two do identical work.
"""

import mlx.core as mx
import pytest

from engine.generate import (
    SamplingOptions,
    encode,
    generate,
    generate_batch,
    generate_candidates,
    stream_generate,
)
from engine.generate.vocab import vocab_for

PROMPT = "It is a truth universally acknowledged, that a single man"
LONG = PROMPT + " in possession of a good fortune, must be in want of a wife." * 3  # > window


def _mlx_lm_tokens(lm, ids, opts):
    from mlx_lm import stream_generate as mlx_stream
    from mlx_lm.sample_utils import make_logits_processors, make_sampler

    mask = vocab_for(lm).mask
    processors = []
    if opts.repetition_penalty != 1.0:
        processors += make_logits_processors(
            repetition_penalty=opts.repetition_penalty,
            repetition_context_size=opts.repetition_context_size)
    processors.append(lambda tokens, logits: logits + mask)
    sampler = make_sampler(temp=opts.temperature, top_p=opts.top_p if opts.top_p < 1 else 0.0,
                           min_p=opts.min_p, top_k=opts.top_k)
    if opts.seed is not None:
        mx.random.seed(opts.seed)
    tokens, text = [], ""
    for r in mlx_stream(lm.model, lm.tokenizer, mx.array(ids), max_tokens=opts.max_tokens,
                        sampler=sampler, logits_processors=processors):
        text += r.text
        if r.token not in lm.tokenizer.eos_token_ids:
            tokens.append(r.token)
    return tokens, text


@pytest.mark.parametrize("prompt", [PROMPT, LONG], ids=["short", "past-the-window"])
@pytest.mark.parametrize("opts", [
    SamplingOptions(temperature=0.0, repetition_penalty=1.0, max_tokens=40),
    SamplingOptions(temperature=1.0, min_p=0.05, repetition_penalty=1.0, max_tokens=40, seed=3),
    SamplingOptions(temperature=0.9, top_p=0.9, top_k=50, repetition_penalty=1.2, max_tokens=40,
                    seed=11),
], ids=["greedy", "seeded-min-p", "seeded-top-p-top-k-penalty"])
def test_stream_equals_plain_mlx_lm(tiny_lm, prompt, opts):
    ids = encode(tiny_lm, prompt)[0]
    ref_tokens, ref_text = _mlx_lm_tokens(tiny_lm, ids, opts)
    ours = list(stream_generate(tiny_lm, ids, opts, reuse_prompt_cache=False))
    assert [r.token for r in ours if r.token is not None] == ref_tokens
    # mlx-lm's BPE detokenizer drops the first token's leading space (a chat-output
    # habit); a continuation keeps it: the text is the tokens' plain decoding.
    assert "".join(r.text for r in ours) == tiny_lm.tokenizer.decode(ref_tokens)
    assert ref_text.strip() == tiny_lm.tokenizer.decode(ref_tokens).strip()
    assert len(ref_tokens) > 10


def test_candidate_i_is_the_single_generation_with_seed_plus_i(tiny_lm):
    """Per-candidate seeds are honoured (a regression: only opts[0].seed was used)."""
    opts = SamplingOptions(temperature=1.0, max_tokens=16, repetition_penalty=1.0, seed=20)
    cands = generate_candidates(tiny_lm, PROMPT, 3, opts, reuse_prompt_cache=False)
    for i, c in enumerate(cands):
        alone = generate(tiny_lm, PROMPT, opts.replace(seed=20 + i), reuse_prompt_cache=False)
        assert c.tokens == alone.tokens
    assert len({tuple(c.tokens) for c in cands}) == 3
    # One option per candidate, with its own seed.
    per = [opts.replace(seed=s) for s in (5, 9)]
    cands = generate_candidates(tiny_lm, PROMPT, 2, per)
    for i, (c, o) in enumerate(zip(cands, per)):
        assert c.tokens == generate(tiny_lm, PROMPT, o.replace(seed=o.seed + i)).tokens


def test_batch_row_is_the_single_generation_whatever_the_batch(tiny_lm):
    opts = [SamplingOptions(temperature=1.0, max_tokens=12, repetition_penalty=1.1, seed=s)
            for s in (1, 2, 3)]
    prompts = [PROMPT, "A short one.", LONG]
    batch = generate_batch(tiny_lm, prompts, opts)
    for p, o, got in zip(prompts, opts, batch):
        assert got.tokens == generate(tiny_lm, p, o, reuse_prompt_cache=False).tokens
    # The same prompt and seed in a different batch: the same text.
    assert generate_batch(tiny_lm, [prompts[1]], opts[1])[0].tokens == batch[1].tokens


def test_generate_batch_takes_logits_processors(tiny_lm):
    greedy = SamplingOptions(temperature=0.0, max_tokens=10, repetition_penalty=1.0)
    free = generate_batch(tiny_lm, [PROMPT, "A short one."], greedy)
    banned = {free[0].tokens[0], free[1].tokens[0]}

    def ban(tokens, logits):
        return logits.at[:, mx.array(sorted(banned))].add(-mx.inf)

    out = generate_batch(tiny_lm, [PROMPT, "A short one."], greedy, logits_processors=[ban])
    for c in out:
        assert not banned & set(c.tokens)
