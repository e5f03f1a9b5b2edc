"""Style-encoder data: paragraphs of both corpus layouts, and triplets that hold content fixed."""

from __future__ import annotations

from training import style_data
from training.style_data import Passage


def test_wrapped_and_one_per_line_layouts_both_split_into_paragraphs():
    wrapped = "First line of a\nwrapped paragraph.\n\nSecond\nparagraph here.\n"
    assert style_data.split_paragraphs(wrapped) == ["First line of a wrapped paragraph.",
                                                    "Second paragraph here."]
    long_line = "word " * 40
    assert style_data.split_paragraphs(f"{long_line}\n{long_line}\n") == [long_line.strip()] * 2


def test_typography_of_editions_is_folded():
    assert style_data.fold_typography("\u00abДа\u00bb \u2013 \u201cyes\u201d \u2018o\u2019") == \
        '"Да" \u2014 "yes" \'o\''


def test_bible_triplets_hold_content_fixed():
    versions = style_data.BIBLE_VERSIONS
    windows = {f"G 1:{i}": {v: f"{v} text {i}" for v in versions} for i in range(5)}
    for t in style_data.bible_triplets(windows, 50):
        assert t.anchor.label == t.positive.label != t.negative.label  # style
        assert t.anchor.group == t.negative.group != t.positive.group  # content


def test_verification_pairs_are_same_author_other_work_or_other_author():
    topics = ["sea ship sail", "war gun soldier", "love heart letter", "farm cow field"]
    passages = [Passage(f"{topics[i]} {topics[(i + k) % 4]} {a}{w}", f"en/{a}", f"{a}/{w}", "en")
                for k, a in enumerate(("x", "y", "z")) for w in ("w1", "w2") for i in range(4)]
    pairs = style_data.verification_pairs(passages, 12)
    assert {y for *_, y in pairs} == {0, 1}
    for a, b, y in pairs:
        assert (a.label == b.label) == bool(y)
        if y:
            assert a.group != b.group


def test_synthetic_triplets_differ_from_their_negative_only_in_surface_style():
    passages = [Passage(f"Hello, said the man{i}. It was late, and dark. We went home.", f"en/a{i}",
                        f"a{i}/w", "en") for i in range(6)]
    for t in style_data.synthetic_triplets(passages, 30, seed=3):
        assert t.anchor.label == t.positive.label != t.negative.label
        assert t.anchor.text != t.negative.text
        def fold(s):
            return s.lower().replace(",", "")[:5]

        assert fold(t.anchor.text) == fold(t.negative.text)
