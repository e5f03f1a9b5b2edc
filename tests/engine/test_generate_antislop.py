"""Banned-phrase backtracking on the tiny model: the phrase list, and the rewinds.

The reference for the rewinds is a driver with no KV cache at all: every step runs
the model on the whole context, so its tokens are what any correct rewind of the
streaming and batch caches (trimmed, or restored from the prompt snapshot past the
sliding window) must reproduce.
"""

import re

import mlx.core as mx
import pytest

from engine.generate import (
    PhraseList,
    SamplingOptions,
    default_phrases,
    encode,
    generate,
    generate_batch,
    generate_candidates,
    prepare,
    stream_generate,
)
from engine.generate.sequence import Rewind
from engine.generate.stream import new_sequence
from engine.generate.vocab import vocab_for

GREEDY = SamplingOptions(temperature=0.0, max_tokens=40, repetition_penalty=1.0)
SHORT = "It is a truth universally acknowledged, that a single man"
LONG = SHORT + " in possession of a good fortune, must be in want of a wife." * 3  # > window


def _a_written_word(lm, prompt, opts=GREEDY) -> str:
    """A whole word the model writes after a space, so banning it must change the text."""
    text = generate(lm, prompt, opts, reuse_prompt_cache=False).text
    words = re.findall(r"(?<= )[A-Za-z]{3,}(?![A-Za-z0-9])", text)
    assert words, f"no word to ban in {text!r}"
    return words[0].lower()


def _uncached(lm, prompt, opts, phrases):
    """Sequence + the whole context through the model at every step, greedy."""
    enc = prepare(lm, prompt, opts.max_tokens)
    seq = new_sequence(lm, enc, opts, phrases)
    processors = seq.processors()
    mask = vocab_for(lm).mask
    while not seq.finish:
        context = mx.array(enc.ids + seq.tokens)
        logits = lm.model(context[None])[:, -1, :]
        for p in processors:
            logits = p(context, logits)
        logprobs = logits - mx.logsumexp(logits, axis=-1, keepdims=True)
        token = int(mx.argmax(logprobs + mask, axis=-1).item())
        seq.add(token, logprobs[0])
    return seq


@pytest.mark.parametrize("prompt, max_tokens, as_ids", [
    ("Rain fell", 16, False), (LONG, 40, False), ("Rain fell", 16, True),
], ids=["trimmed-cache", "past-the-window", "token-ids"])
def test_a_banned_word_is_rewound_exactly_as_an_uncached_decode(tiny_lm, prompt, max_tokens,
                                                                as_ids):
    """Short: prompt + generation stay inside the tiny model's 32-token window, so the
    caches are trimmed. Long: the window has rotated, so the prompt snapshot is used.
    Token ids: no healing, so only a rewind puts a prefix constraint on a token."""
    from engine.generate import cache as kv

    if as_ids:
        prompt = encode(tiny_lm, prompt)[0]

    opts = GREEDY.replace(max_tokens=max_tokens)
    word = _a_written_word(tiny_lm, prompt, opts)
    phrases = PhraseList.from_pairs([(word, 0.0)])
    ref = _uncached(tiny_lm, prompt, opts, phrases)
    assert ref.guard.rewinds >= 1
    trims = []
    real_trim = kv.trim_to
    kv.trim_to = lambda cache, n: trims.append(real_trim(cache, n)) or trims[-1]
    try:
        streamed = list(stream_generate(tiny_lm, prompt, opts, antislop=phrases,
                                        reuse_prompt_cache=False))
        whole = generate(tiny_lm, prompt, opts, antislop=phrases)
        cands = generate_candidates(tiny_lm, prompt, 2, opts, antislop=phrases)
        batch = generate_batch(tiny_lm, [prompt, encode(tiny_lm, "A short one.")[0]], opts,
                               antislop=phrases)
    finally:
        kv.trim_to = real_trim
    assert set(trims) == {max_tokens == 16}
    for c in (whole, *cands, batch[0]):
        assert c.tokens == ref.tokens and c.text == ref.text and c.rewinds == ref.guard.rewinds
    assert "".join(r.text for r in streamed) == ref.text  # nothing shown was taken back
    # ...and the text is the tokens' own: what was shown before the phrase is not doubled.
    heal = prepare(tiny_lm, prompt, max_tokens).heal
    assert heal + ref.text == tiny_lm.tokenizer.decode(ref.tokens)
    assert not re.search(rf"(?<![A-Za-z0-9]){word}(?![A-Za-z0-9])", ref.text, re.IGNORECASE)


def test_a_phrase_the_model_insists_on_is_let_through(tiny_lm):
    """Factor 1 changes nothing: the model picks the same first token, so the phrase stays
    (antislop's rule: the adjustment was not enough to change its mind)."""
    word = _a_written_word(tiny_lm, SHORT)
    plain = generate(tiny_lm, SHORT, GREEDY)
    kept = generate(tiny_lm, SHORT, GREEDY, antislop=PhraseList.from_pairs([(word, 1.0)]))
    assert kept.tokens == plain.tokens and kept.rewinds == 1


def test_sampled_antislop_is_reproducible_and_bans(tiny_lm):
    opts = SamplingOptions(temperature=1.0, max_tokens=40, repetition_penalty=1.0, seed=1)
    words = list(dict.fromkeys(re.findall(r"[a-z]{2,}", generate(tiny_lm, SHORT, opts).text)))[:3]
    assert words
    phrases = PhraseList.from_pairs([(w, 0.0) for w in words])
    a = generate(tiny_lm, SHORT, opts, antislop=phrases)
    assert a.tokens == generate(tiny_lm, SHORT, opts, antislop=phrases).tokens
    assert 1 <= a.rewinds < max(8, opts.max_tokens // 4)  # none let through for lack of rewinds
    for w in words:  # whole words: letters of any script end a word, as in the phrase list
        assert not re.search(rf"(?<![^\W_]){w}(?![^\W_])", a.text.lower())


@pytest.mark.parametrize("text, final, found", [
    ("a rich tapestry of", False, (7, "tapestry")),
    ("a rich tapestry", False, None),  # the word may go on ("tapestryx")
    ("a rich tapestry", True, (7, "tapestry")),
    ("the tapestrys", True, None),  # whole words only
    ("it was a testament to her", False, (9, "testament to")),
    ("Voice Barely Above A Whisper.", False, (6, "barely above a whisper")),
    ("couldn\u2019t help but feel", True, None),
])
def test_phrase_list_finds_whole_phrases(text, final, found):
    from engine.generate.antislop import normalise

    phrases = PhraseList.from_pairs([("tapestry", 0), ("testament to", 0.5),
                                     ("barely above a whisper", 0.1)])
    assert phrases.find(normalise(text), 0, final) == found


def test_phrase_list_holds_back_what_could_become_a_phrase():
    phrases = PhraseList.from_pairs([("testament to", 0.5), ("tapestry", 0)])
    assert phrases.hold("it was a testament") == len("testament")
    assert phrases.hold("it was a testament t") == len("testament t")
    assert phrases.hold("it was a tap") == len("tap")
    assert phrases.hold("it was a top") == 0


def test_default_list_is_antislops_with_its_factors():
    phrases = default_phrases()
    assert len(phrases.factors) > 400
    assert phrases.factors["tapestry"] == pytest.approx(0.03125)
    assert "barely above a whisper" in phrases.factors
    assert all(p == p.strip().lower() and p[0].isalnum() for p in phrases.factors)


def test_a_rewind_reports_how_far_back(tiny_lm):
    word = _a_written_word(tiny_lm, SHORT)
    enc = prepare(tiny_lm, SHORT, 40)
    seq = new_sequence(tiny_lm, enc, GREEDY, PhraseList.from_pairs([(word, 0.0)]))
    plain = generate(tiny_lm, SHORT, GREEDY).tokens
    out = None
    for t in plain:
        out = seq.add(t, mx.zeros(vocab_for(tiny_lm).size))
        if isinstance(out, Rewind):
            break
    assert isinstance(out, Rewind) and out.keep == len(seq.tokens) < len(plain)
    assert word not in seq.text.lower()


def test_a_rewind_owes_the_text_already_shown_before_the_phrase(tiny_lm):
    """The space before a banned word was shown; the token sampled again must bring it,
    also for a token-id prompt (no healing constraint to begin with)."""
    word = _a_written_word(tiny_lm, SHORT)
    ids = encode(tiny_lm, SHORT)[0]
    seq = new_sequence(tiny_lm, prepare(tiny_lm, ids, 40), GREEDY,
                       PhraseList.from_pairs([(word, 0.0)]))
    assert seq.require is None and seq.constrain in seq.processors()
    vocab = vocab_for(tiny_lm)
    out = None
    for t in generate(tiny_lm, ids, GREEDY).tokens:
        out = seq.add(t, mx.zeros(vocab.size))
        if isinstance(out, Rewind):
            break
    assert isinstance(out, Rewind) and seq.require == (out.keep, " ")
    assert seq.text.endswith(" ")
    masked = seq.constrain(mx.array(ids + seq.tokens), mx.zeros((1, vocab.size)))[0]
    allowed = [i for i in range(vocab.size) if masked[i].item() == 0]
    assert allowed and all(vocab.texts[i].startswith(" ") for i in allowed)
    assert seq.constrain(mx.array(ids + seq.tokens + [allowed[0]]), mx.zeros((1, 4)))[0].sum() == 0


def test_a_prompts_own_phrases_to_avoid_are_never_written(tiny_lm):
    """Prompt.avoid (engine.tasks: the exemplars' names, the frame's words) is an antislop list at
    factor 0, per prompt, merged with the default list, in the stream and in a batch."""
    from engine.tasks import Prompt

    word = _a_written_word(tiny_lm, "Rain fell")
    free = Prompt("Rain fell")
    guarded = Prompt("Rain fell", avoid=(word.capitalize(),))
    assert prepare(tiny_lm, guarded, 8).avoid == (word.capitalize(),)
    assert re.search(rf"\b{word}\b", generate(tiny_lm, free, GREEDY).text, re.I)
    assert not re.search(rf"\b{word}\b", generate(tiny_lm, guarded, GREEDY).text, re.I)
    both = generate_batch(tiny_lm, [free, guarded], GREEDY)
    assert re.search(rf"\b{word}\b", both[0].text, re.I)
    assert not re.search(rf"\b{word}\b", both[1].text, re.I)
    merged = new_sequence(tiny_lm, prepare(tiny_lm, guarded, 8), GREEDY.replace(antislop=True))
    assert merged.guard.phrases.factors[word] == 0.0
    assert len(merged.guard.phrases.factors) == len(default_phrases().factors) + 1
