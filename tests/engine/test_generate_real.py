"""The generator's prompt handling on the REAL bundled Gemma 3 270M base (behaviour)."""

import re

import pytest

from engine import tasks
from engine.generate import (
    PhraseList,
    SamplingOptions,
    encode,
    generate,
    generate_batch,
    generate_candidates,
    prepare,
)
from engine.generate.vocab import vocab_for

pytestmark = pytest.mark.real_model

LIGHTHOUSE = ("Each evening he climbed the hundred and twelve steps, trimmed the wick, and "
              "watched the grey water for ships that never came.")


def test_the_special_set_is_markup_and_control_tokens_not_whitespace(real_lm):
    vocab = vocab_for(real_lm)
    tok = real_lm.tokenizer
    banned = {tok.convert_ids_to_tokens(i) for i in vocab.banned}
    assert {"<bos>", "<pad>", "<start_of_image>", "<em>", "<unused0>", "<start_of_turn>",
            "<end_of_turn>", "[multimodal]"} <= banned
    assert not banned & {"<eos>", "\n", "\n\n", "\t", "▁▁"}


def test_the_fast_token_text_table_equals_decoding_every_token(real_lm):
    from engine.generate.vocab import _decoded_texts

    vocab = vocab_for(real_lm)
    assert vocab.texts == _decoded_texts(real_lm.tokenizer, vocab.size, vocab.anchor)
    assert vocab.texts[real_lm.tokenizer.encode(" the", add_special_tokens=False)[0]] == " the"


def test_the_rephrase_prompt_heals_and_stops_writing_number_soup(real_lm):
    """Issue 15: "Rewritten: " ends in a bare space token; unhealed, the 270M base begins
    most candidates with a number ("120 years later...", "1000 and 127..."); healed, it
    writes words."""
    prompt = tasks.rephrase_prompt(LIGHTHOUSE)
    assert prompt.text.endswith("Rewritten: ") and prepare(real_lm, prompt, 40).heal == " "
    opts = SamplingOptions(max_tokens=24, seed=1)
    healed = generate_candidates(real_lm, prompt, 4, opts)
    unhealed = generate_candidates(real_lm, encode(real_lm, prompt)[0], 4,
                                   opts.replace(stop=prompt.stop))
    starts_with_digit = [bool(re.match(r"\s*\d", c.text)) for c in (*healed, *unhealed)]
    assert sum(starts_with_digit[4:]) >= 2, [c.text for c in unhealed]
    assert not any(starts_with_digit[:4]), [c.text for c in healed]
    for c in healed:
        assert re.match(r"[A-Z][a-z]", c.text), c.text
        assert "<" not in c.text


@pytest.mark.parametrize("context, heal", [
    ("The old lighthouse keeper opened the door ", " "),
    ("The old lighthouse keeper opened the do", " do"),
])
def test_a_document_ending_in_a_space_or_half_a_word_continues_cleanly(real_lm, context, heal):
    prompt = tasks.continue_prompt(context)
    assert prepare(real_lm, prompt, 16).heal == heal
    c = generate(real_lm, prompt, SamplingOptions(temperature=0.0, max_tokens=16))
    joined = context + c.text
    assert "  " not in joined and not re.search(r"\bdo[a-z]", joined.replace("door", "")), joined
    assert re.match(r"[a-z]", c.text), c.text  # a word (or the rest of one), not a space


def test_every_task_prompt_heals_its_end_and_writes_no_markup(real_lm):
    """Every mode's prompt from engine.tasks, decoded as one batch."""
    text = "She walked slowly down the empty street, listening to the rain."
    prompts = [tasks.build(mode, text) for mode in tasks.MODES]
    vocab = vocab_for(real_lm)
    outs = generate_batch(real_lm, prompts, SamplingOptions(temperature=0.0, max_tokens=12))
    for mode, p, c in zip(tasks.MODES, prompts, outs):
        enc = prepare(real_lm, p, 12)
        assert enc.heal and vocab.texts[c.tokens[0]].startswith(enc.heal), mode
        assert not set(c.tokens) & vocab.banned_set, mode
        assert not re.search(r"<[a-z_/]", c.text), (mode, c.text)
        assert re.search(r"[A-Za-z]{3}", c.text), (mode, c.text)


def test_antislop_rewrites_a_stock_word_the_base_model_writes(real_lm):
    prompt = "The old city was a rich"
    greedy = SamplingOptions(temperature=0.0, max_tokens=12)
    plain = generate(real_lm, prompt, greedy).text
    assert re.search(r"\bvibrant\b", plain), plain  # "... rich and vibrant place"
    phrases = PhraseList.from_pairs([("vibrant", 0.03125)])
    for c in (generate(real_lm, prompt, greedy, antislop=phrases),
              generate_candidates(real_lm, prompt, 2, greedy, antislop=phrases)[1]):
        assert c.rewinds >= 1 and "vibrant" not in c.text.lower(), c.text
        assert c.text.startswith(plain[: plain.index("vibrant")]), c.text
