"""Prompt handling on the tiny model: token healing, tokens never written, the bounds."""

import mlx.core as mx
import pytest

from engine.errors import KillahError, PromptTooLong, TooManyCandidates
from engine.generate import (
    MAX_CANDIDATES,
    SamplingOptions,
    encode,
    generate,
    generate_batch,
    generate_candidates,
    prepare,
    stream_generate,
)
from engine.generate.vocab import vocab_for

GREEDY = SamplingOptions(temperature=0.0, max_tokens=12, repetition_penalty=1.0)


def _ids(lm, text):
    return encode(lm, text)[0]


def test_a_prompt_ending_in_a_space_is_healed(tiny_lm):
    """The bare space token is dropped; the model's first token must bring the space itself,
    chosen as the most likely such token; the space is not returned again."""
    text = "It is a truth "
    enc = prepare(tiny_lm, text, 12)
    vocab = vocab_for(tiny_lm)
    assert enc.heal == " " and enc.ids == _ids(tiny_lm, text)[:-1]
    c = generate(tiny_lm, text, GREEDY, reuse_prompt_cache=False)
    first = c.tokens[0]
    assert vocab.texts[first].startswith(" ")
    logits = tiny_lm.model(mx.array(enc.ids)[None])[0, -1]
    allowed = vocab.starting_with(" ")
    assert first == allowed[int(mx.argmax(logits[mx.array(allowed)]).item())]
    assert c.text == tiny_lm.tokenizer.decode(c.tokens)[1:]


def test_half_a_word_is_healed_into_a_whole_one(tiny_lm):
    text = "It is a tru"
    enc = prepare(tiny_lm, text, 12)
    assert enc.heal == " tru"
    c = generate(tiny_lm, text, GREEDY, reuse_prompt_cache=False)
    written = tiny_lm.tokenizer.decode(c.tokens)
    assert written.startswith(" tru") and c.text == written[len(" tru"):]


def test_healing_never_takes_a_shorter_token_first(tiny_lm):
    """Not " t" then "ru...": a shorter token than the healed text is the off-distribution
    path healing avoids (on Gemma: a bare space, then "ric" + "hest" for " rich")."""
    vocab = vocab_for(tiny_lm)
    short = [i for i in range(len(vocab.texts)) if vocab.texts[i] == " t"]
    assert short, "the tiny vocabulary has a ' t' token"
    n_prompt = len(prepare(tiny_lm, "It is a tru", 12).ids)

    def push_t_first(tokens, logits):  # a caller's processor that loves " t" at position 0
        if tokens.shape[-1] == n_prompt:
            return logits.at[:, short[0]].add(1e4)
        return logits

    for c in (generate(tiny_lm, "It is a tru", GREEDY, logits_processors=[push_t_first]),
              generate_candidates(tiny_lm, "It is a tru", 2, GREEDY,
                                  logits_processors=[push_t_first])[1]):
        assert c.tokens[0] != short[0] and vocab.texts[c.tokens[0]].startswith(" tru")


def test_token_id_prompts_are_used_as_given(tiny_lm):
    ids = _ids(tiny_lm, "It is a truth ")
    enc = prepare(tiny_lm, ids, 12)
    assert enc.ids == ids and enc.heal == ""


def test_special_tokens_are_never_written(tiny_lm):
    """Even when a caller's processor makes <bos> and <pad> by far the likeliest tokens."""
    vocab = vocab_for(tiny_lm)
    banned = vocab.banned
    assert set(banned) == {tiny_lm.tokenizer.bos_token_id, tiny_lm.tokenizer.pad_token_id}

    def love_specials(tokens, logits):
        return logits.at[:, mx.array(banned)].add(1e4)

    sampled = SamplingOptions(temperature=1.0, max_tokens=12, seed=4)
    for opts in (GREEDY, sampled):
        outs = [generate(tiny_lm, "It is a truth", opts, logits_processors=[love_specials]),
                *generate_candidates(tiny_lm, "It is a truth", 2, opts,
                                     logits_processors=[love_specials]),
                *generate_batch(tiny_lm, ["It is", "Rain fell"], opts,
                                logits_processors=[love_specials])]
        for c in outs:
            assert len(c.tokens) == 12 and not set(banned) & set(c.tokens)
            assert "<bos>" not in c.text and "<pad>" not in c.text


def test_a_prompt_past_the_context_is_refused_with_the_limit(tiny_lm):
    limit = tiny_lm.config["max_position_embeddings"]  # 2048 in the tiny model
    long = "It is a truth universally acknowledged. " * 400
    n = len(_ids(tiny_lm, long))
    assert n > limit
    with pytest.raises(PromptTooLong, match=f"{limit:,} tokens") as e:
        generate(tiny_lm, long, GREEDY)
    assert isinstance(e.value, KillahError) and f"{n - 1:,} tokens" in str(e.value)
    with pytest.raises(PromptTooLong):
        generate_candidates(tiny_lm, long, 2, GREEDY)
    with pytest.raises(PromptTooLong):
        list(stream_generate(tiny_lm, long, GREEDY))
    with pytest.raises(PromptTooLong, match="4,000 tokens were asked for.*ask for fewer"):
        generate(tiny_lm, "Rain fell", GREEDY.replace(max_tokens=4000), overflow="keep_tail")


def test_keep_tail_continues_the_end_of_a_long_prompt(tiny_lm):
    limit = tiny_lm.config["max_position_embeddings"]
    long = "It is a truth universally acknowledged. " * 400 + "Rain fell on the old"
    c = generate(tiny_lm, long, GREEDY, overflow="keep_tail")
    assert c.prompt_tokens == limit - GREEDY.max_tokens
    enc = prepare(tiny_lm, long, GREEDY.max_tokens, overflow="keep_tail")
    assert enc.ids[0] == tiny_lm.tokenizer.bos_token_id
    assert tiny_lm.tokenizer.decode(enc.ids).endswith("Rain fell on the")
    with pytest.raises(ValueError, match="overflow"):
        prepare(tiny_lm, long, 12, overflow="truncate")


def test_candidates_are_bounded(tiny_lm):
    with pytest.raises(TooManyCandidates, match=f"at most {MAX_CANDIDATES}"):
        generate_candidates(tiny_lm, "It is", MAX_CANDIDATES + 1, GREEDY)
    with pytest.raises(ValueError, match="n must be >= 1"):
        generate_candidates(tiny_lm, "It is", 0, GREEDY)
