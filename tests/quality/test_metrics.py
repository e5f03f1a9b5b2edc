"""Every rigid metric on hand-made texts whose answers follow from the formulas."""

from __future__ import annotations

import math
import random
import string

import numpy as np
import pytest

from engine.quality import metrics as m
from engine.quality.slop import find_generic, load_lexicon, parse_regex_file

PLAIN = (
    "The bus came late. Mara counted the coins in her palm twice, then paid the driver "
    "with the exact fare and sat by the window. Outside, the market was closing; men "
    "stacked crates of onions against the wall of the bank."
)
SLOPPY = (
    "She took a deep breath, her voice barely above a whisper. A testament to the rich "
    "tapestry of their bond, the moment sent shivers down her spine. She couldn't help but "
    "feel a sense of unspoken connection as the sun dipped below the horizon."
)


def test_words_and_sentences():
    assert m.words("Don't stop, Ivan—go!") == ["don't", "stop", "ivan", "go"]
    assert m.sentences('He left. "Why?" she asked! Then silence… The end') == [
        "He left.", '"Why?"', "she asked!", "Then silence…", "The end"
    ]
    assert m.words("Привет, мир") == ["привет", "мир"]


def test_ttr():
    assert m.type_token_ratio(["a", "b", "a", "c"]) == 0.75
    assert m.type_token_ratio([]) is None


def test_mtld_of_a_repeated_word_is_two():
    """TTR falls to 0.5 <= 0.72 at every second token: one factor per two tokens."""
    assert m.mtld(["word"] * 100) == pytest.approx(2.0)


def test_mtld_of_all_distinct_words_is_their_count():
    tokens = [f"w{i}" for i in range(50)]
    assert m.mtld(tokens) == pytest.approx(50.0)


def test_mtld_partial_factor():
    """'a b a b' forward: TTR 1, 1, 2/3 -> factor at token 3, then 'b' leaves TTR 1 -> partial 0.

    So 4 tokens / 1 factor = 4 in both directions."""
    assert m.mtld(["a", "b", "a", "b"]) == pytest.approx(4.0)


def test_sentence_length_distribution_and_kl():
    p = m.sentence_length_distribution([3, 7, 7, 12], bins=(1, 5, 10), alpha=0.0)
    assert p.tolist() == [0.25, 0.5, 0.25]
    smoothed = m.sentence_length_distribution([], bins=(1, 5, 10), alpha=0.5)
    assert smoothed.tolist() == pytest.approx([1 / 3] * 3)
    assert m.kl_divergence(p, p) == 0.0
    # KL([1, 0], [0.5, 0.5]) = log 2
    assert m.kl_divergence([1.0, 0.0], [0.5, 0.5]) == pytest.approx(math.log(2))
    with pytest.raises(ValueError):
        m.kl_divergence([0.5, 0.5], [1.0])


def test_kl_is_larger_for_a_different_rhythm():
    ref = m.sentence_length_distribution([12, 15, 18, 9, 22, 14])
    similar = m.sentence_length_distribution([13, 16, 11, 19])
    choppy = m.sentence_length_distribution([2, 3, 2, 4, 3, 2])
    assert m.kl_divergence(ref, similar) < m.kl_divergence(ref, choppy)


def test_compression_ratio_repeated_vs_random():
    rng = random.Random(0)
    random_text = "".join(rng.choice(string.ascii_letters + " ") for _ in range(2000))
    repeated = "the cat sat on the mat. " * 80
    r_random, r_repeated = m.compression_ratio(random_text), m.compression_ratio(repeated)
    # random letters carry ~5.7 bits per 8-bit byte: the ratio cannot exceed ~1.4
    assert r_random < 1.45
    assert r_repeated > 10 * r_random
    assert m.compression_ratio("") is None


def test_generic_phrase_penalty_lexicon_heavy_vs_plain():
    assert m.generic_phrase_penalty(SLOPPY) > 5 * m.generic_phrase_penalty(PLAIN)
    hits = [h for h, _ in find_generic(SLOPPY, load_lexicon("en"))]
    assert "took a deep breath" in hits
    # longest match first: the 5-word entry wins over "couldn't help but feel"
    assert "help but feel a sense" in hits
    assert m.generic_phrase_penalty("") is None


def test_generic_phrase_words_inside_a_phrase_count_once():
    lex = load_lexicon("en")
    hits = find_generic("took a deep breath", lex)
    assert [h for h, _ in hits] == ["took a deep breath"]


def test_slop_regexes_are_word_anchored():
    (each,) = parse_regex_file('"(?i)each(?:\\s*\\w+\\s*|\\s*)a",\n')
    assert each.search("each step a reminder")
    assert not each.search("The teacher arrived")
    assert not each.search("each other and")


def test_ngram_novelty_and_distinct_n():
    tokens = ["a", "b", "c", "d", "e", "f", "g", "h"]
    assert m.ngram_novelty(tokens) == 1.0
    looped = ["a", "b", "a", "b", "a", "b", "a", "b"]
    # distinct-2: {ab, ba} / 7
    assert m.distinct_n(looped, 2) == pytest.approx(2 / 7)
    assert m.ngram_novelty(looped) < 0.5
    assert m.ngram_novelty(["one"]) is None


def test_repetition():
    assert m.repetition(["a", "b", "c", "d", "e", "f"]) == 0.0
    assert m.repetition(["go"] * 10) == 1.0
    # "x y z" twice, separated by q: all tokens but q are covered
    assert m.repetition(["x", "y", "z", "q", "x", "y", "z"]) == pytest.approx(6 / 7)


def test_semantic_continuity_and_band():
    e = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    # cosines: 1 then 0 -> mean 0.5
    assert m.semantic_continuity(e) == pytest.approx(0.5)
    assert m.semantic_continuity(e[:1]) is None
    assert m.band_score(0.5) == 1.0
    assert m.band_score(0.15) == pytest.approx(0.5)
    assert m.band_score(1.0) == pytest.approx(0.0)


def test_semantic_continuity_on_real_embeddings():
    """The bundled embedder puts an on-topic paragraph above a jumble of unrelated sentences."""
    from engine.embeddings import embed

    coherent = "The kettle began to whistle. She poured the water over the tea leaves. The tea darkened in the cup."
    jumbled = "The kettle began to whistle. Parliament passed the budget. Penguins molt once a year."
    a, b = (embed(m.sentences(t)) for t in (coherent, jumbled))
    assert m.semantic_continuity(a) > m.semantic_continuity(b)


def test_perplexity_variation():
    flat = [-2.0] * 64
    assert m.perplexity_variation(flat) == pytest.approx(0.0)
    # two segments with PPL e^1 and e^3
    varied = [-1.0] * 16 + [-3.0] * 16
    ppl = np.array([math.e, math.e**3])
    assert m.perplexity_variation(varied) == pytest.approx(ppl.std() / ppl.mean())
    assert m.perplexity_variation([-1.0] * 10) is None


def test_ngram_style_match_prefers_the_same_voice():
    refs = [
        "Thou art more lovely and more temperate; rough winds do shake the darling buds of May.",
        "Shall I compare thee to a summer's day? Thou hast thy beauty yet, and thou art fair.",
    ]
    near = "Thou art fair and more temperate than a summer's day."
    far = "Click the button to reset your password in the settings menu."
    assert m.ngram_style_match(near, refs) > m.ngram_style_match(far, refs)
    assert m.ngram_style_match(near, refs, top_k=1) == pytest.approx(
        max(len(m.char_ngrams(near) & m.char_ngrams(r)) / len(m.char_ngrams(near) | m.char_ngrams(r)) for r in refs),
        rel=1e-5,
    )
    assert m.ngram_style_match("", refs) is None


def test_style_match_rows_are_the_char_ngram_jaccard():
    """The Rust rows equal the definition over lower-cased, whitespace-folded n-gram sets."""
    refs = ["Ab  cd EF gh.", "Zz", "Шла Саша по шоссе", ""]
    text = "ab cd ef — Шла"
    expected = []
    for r in refs:
        a, b = m.char_ngrams(text, 3), m.char_ngrams(r, 3)
        expected.append(len(a & b) / len(a | b) if a | b else 1.0)
    assert np.allclose(m._jaccard_rows(text, refs, 3), expected, atol=1e-6)
