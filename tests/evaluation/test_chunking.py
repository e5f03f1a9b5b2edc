"""Sentence splitting and chunking on real prose."""

from __future__ import annotations

import pytest

from training.chunking import chunk_sentences, chunk_text, sentences, split_paragraphs, split_sentences


def works(folder, names=None) -> str:
    """Works of a shipped reference author (all, or those named), one after another."""
    paths = [folder / n for n in names] if names else sorted(folder.glob("*.txt"))
    return "\n\n".join(p.read_text("utf-8") for p in paths)


@pytest.fixture(scope="module")
def persuasion(reference) -> str:
    """About 20,000 words of real Austen (the shipped excerpts), no sentence over 400 words."""
    novels = ["persuasion.txt", "pride_and_prejudice.txt", "sense_and_sensibility.txt"]
    return works(reference / "en/austen", novels)[:120_000]


def test_lowercase_continuation_stays_in_the_sentence():
    """'Oh! could the ...' and '— Какой вы... чудак! — сказала она' are one sentence each."""
    en = split_sentences("Oh! could the originals have seen it! They could not. He left.", "en")
    assert en == ["Oh! could the originals have seen it!", "They could not.", "He left."]
    ru = split_sentences("— Какой вы... чудак! — сказала она с досадой и отошла. Я молчал.", "ru")
    assert ru == ["— Какой вы... чудак! — сказала она с досадой и отошла.", "Я молчал."]


def test_paragraphs_unwrap_lines_and_drop_headings():
    text = "CHAPTER I\n\nIt was a\nlong day.\n\n\nIII.\n\nThen night came.\n"
    assert split_paragraphs(text) == ["It was a long day.", "Then night came."]


def test_chunks_respect_bounds_boundaries_and_overlap(persuasion):
    sents = sentences(persuasion, "en")
    chunks = chunk_sentences(sents, min_words=250, max_words=650, overlap_sentences=2)
    assert len(chunks) > 20
    texts = [s.text for s in sents]
    for c in chunks:
        assert 250 <= c.words <= 650
        # made of whole sentences, first to last, nothing cut inside a sentence
        assert c.text.split() == " ".join(texts[c.first_sentence : c.last_sentence + 1]).split()
    for a, b in zip(chunks, chunks[1:]):
        if b.first_sentence <= a.last_sentence:
            # neighbours share 2 sentences (1 when the chunk has only 2: each chunk must advance)
            assert b.first_sentence == max(a.last_sentence - 1, a.first_sentence + 1)
            assert b.text.startswith(texts[b.first_sentence])
    overlapping = sum(b.first_sentence <= a.last_sentence for a, b in zip(chunks, chunks[1:]))
    assert overlapping >= len(chunks) // 2


def test_chunks_prefer_paragraph_ends(persuasion):
    sents = sentences(persuasion, "en")
    assert max(s.words for s in sents) <= 400  # so chunk indices are sentence indices
    chunks = chunk_sentences(sents, 150, 400, 0)
    ends_paragraph = [
        c.last_sentence + 1 == len(sents) or sents[c.last_sentence + 1].paragraph != sents[c.last_sentence].paragraph
        for c in chunks
    ]
    assert sum(ends_paragraph) / len(chunks) > 0.7
    assert all(b.first_sentence > a.last_sentence for a, b in zip(chunks, chunks[1:]))


def test_an_overlong_sentence_is_cut_within_max_words():
    long = "and then " * 400 + "it ended."
    chunks = chunk_text("Short start here. " + long, min_words=50, max_words=100, overlap_sentences=0)
    assert chunks and all(50 <= c.words <= 100 for c in chunks)


def test_russian_chunking(reference):
    text = works(reference / "ru/chekhov")[:60_000]
    chunks = chunk_text(text, 150, 300, 1)
    assert len(chunks) > 15 and all(150 <= c.words <= 300 for c in chunks)
    assert all(c.text[0].isupper() or c.text[0] in "—–-«\"" for c in chunks)


def test_bad_bounds_are_refused():
    with pytest.raises(ValueError, match="min_words"):
        chunk_text("Some text.", min_words=300, max_words=200)
