"""Curation: what is not the author's prose goes, with the reason counted; the prose stays."""

from __future__ import annotations

from pathlib import Path

import pytest

from training.corpus import HEADER, read_corpus
from training.curate import CurateConfig, run
from training.prose import junk_ratio, looks_like_heading, repeated_word_ratio


def real_paragraphs(short_work: Path, n: int) -> list[str]:
    paras = [" ".join(p.split()) for p in short_work.read_text("utf-8").split("\n\n")]
    return [p for p in paras if len(p.split()) > 60][:n]


@pytest.fixture
def messy_book(tmp_path, short_work) -> tuple[Path, list[str]]:
    prose = real_paragraphs(short_work, 8)
    with_marker = prose[1].replace(",", "[1],", 1)
    near_dup = prose[2].replace("the", "that", 1) + " Indeed."
    parts = [
        "THE HISTORY OF LADY SUSAN",
        "by A. Writer",
        "Copyright (c) 1999 Example Press. All rights reserved. ISBN 978-0-00-000000-0",
        "PREFACE",
        "This edition was prepared from the earliest printing, and the editor has silently corrected "
        "obvious misprints while keeping the spelling of the original, which readers of the period will "
        "recognise. The notes at the back explain the allusions that a modern reader may find obscure, "
        "and the introduction places the novel among its author's other early works.",
        "CONTENTS",
        "CHAPTER I. The Arrival",
        "CHAPTER II. The Letters",
        "CHAPTER I",
        prose[0],
        with_marker,
        prose[2],
        "Th3 qu1ck br0wn f0x jumpcd ovcr tbe l@zy d0g 4nd r4n 1nto th3 w00ds. 1t w4s l4te; th3 m00n r0se "
        "0ver th3 h1lls 4nd th3 0wls c4lled. S0me0ne h4d l3ft 4 l4ntern 0n th3 g4te, 4nd 1ts l1ght "
        "fl1ckered 1n th3 w1nd 4s th3 f0x p4ssed by. N0 0ne s4w h1m g0.",
        "It was a truth â€œuniversallyâ€ acknowledged that the house at Churchhill was cold in "
        "winter, and Mrs. Vernon said so to everyone who came. The rooms were large and the fires were "
        "small, and the servants complained in the kitchen. Nobody listened to them at all.",
        "CHAPTER II",
        prose[3],
        "Dogs dogs dogs dogs dogs. Dogs dogs dogs barked dogs dogs dogs dogs. Dogs dogs dogs and dogs "
        "dogs dogs dogs dogs dogs dogs dogs dogs. Dogs dogs dogs dogs dogs dogs dogs dogs dogs dogs. "
        "Dogs dogs dogs dogs dogs dogs dogs dogs dogs dogs dogs dogs dogs.",
        "[Footnote 1: Churchhill is an invented house; no such estate is known in Sussex, though several "
        "readers have claimed to identify it with one or another of the houses near the coast.]",
        near_dup,
        prose[4],
        "THE END",
        "ADVERTISEMENTS",
        "New novels from Example Press, available at every good bookseller in the kingdom, bound in "
        "cloth with gilt lettering, at three shillings and sixpence the volume, or in a handsome set.",
    ]
    path = tmp_path / "messy.txt"
    path.write_text("\n\n".join(parts) + "\n", "utf-8")
    return path, prose


def test_curation_drops_non_prose_junk_and_duplicates(messy_book, tmp_path):
    path, prose = messy_book
    report = run(CurateConfig(files=[str(path)], author="Jane Austen", out=str(tmp_path / "corpus.txt"),
                              cluster=False))
    dropped = report["dropped"]
    assert dropped.get("front_matter", 0) >= 3  # copyright, PREFACE and its paragraph
    assert dropped.get("toc", 0) >= 3
    assert dropped.get("heading", 0) >= 3  # title, CHAPTER I, CHAPTER II
    assert dropped["ocr_junk"] == 1
    assert dropped["encoding"] == 1
    assert dropped["repeated_words"] == 1
    assert dropped["footnote"] == 1
    assert dropped["near_duplicate"] == 1
    assert dropped.get("back_matter", 0) >= 3  # THE END, ADVERTISEMENTS, the advert
    text = (tmp_path / "corpus.txt").read_text("utf-8")
    assert text.startswith(HEADER + "\n")
    for junk in ("ISBN", "PREFACE", "CONTENTS", "qu1ck", "â€", "Dogs dogs", "Footnote", "Example Press", "CHAPTER"):
        assert junk not in text, junk
    corpus = read_corpus(tmp_path / "corpus.txt")
    body = "\n\n".join(s.text for s in corpus.sections)
    for p in (prose[0], prose[2], prose[3], prose[4]):
        assert p in body
    assert "[1]" not in body and prose[1].split(",")[0] in body  # marker gone, paragraph kept
    assert corpus.meta["author"] == "Jane Austen"
    assert report["examples"]["ocr_junk"][0].startswith("Th3")


def test_short_dialogue_paragraphs_are_merged_not_dropped(tmp_path):
    lines = ['"Is he come?" said she.', '"He is here, and he is tired."', '"Then let him rest."',
             '"I will tell him so." She went out quickly, and the door closed behind her.',
             '"Good," said the old man to nobody in particular, and he sat down again by the fire to wait.']
    path = tmp_path / "dialogue.txt"
    more = ['"And the horses?" asked the boy.', '"Fed, and watered, and asleep."', '"All of them?"',
            '"Every one." He laughed at the question, and turned back to the fire.',
            '"Then we may go to bed ourselves," said his mother, and she took up the candle from the table.']
    path.write_text("\n\n".join(lines + more), "utf-8")
    report = run(CurateConfig(files=[str(path)], author="A", out=str(tmp_path / "c.txt")))
    assert report["words_out"] >= 0.7 * report["words_in"]


def test_token_budget_keeps_corpus_under_target(short_work, tmp_path):
    report = run(CurateConfig(files=[str(short_work)], author="Jane Austen", out=str(tmp_path / "c.txt"),
                              target_tokens=4000, block_words=400, cluster=False))
    assert report["dropped"]["over_budget"] > 0
    assert 3000 <= report["tokens_estimate"] <= 4000
    corpus = read_corpus(tmp_path / "c.txt")
    assert [s.index for s in corpus.sections] == list(range(len(corpus.sections)))


def test_docx_input_is_read_through_the_index_readers(tmp_path, short_work):
    import docx

    doc = docx.Document()
    for p in real_paragraphs(short_work, 4):
        doc.add_paragraph(p)
    path = tmp_path / "letters.docx"
    doc.save(path)
    report = run(CurateConfig(files=[str(path)], author="Jane Austen", out=str(tmp_path / "c.txt")))
    assert report["words_out"] > 200


def test_filters_on_their_own():
    assert looks_like_heading("CHAPTER XII")
    assert looks_like_heading("The Arrival")
    assert not looks_like_heading('"Well," said he')
    assert junk_ratio("Th3 qu1ck br0wn f0x") > 0.5
    assert junk_ratio("The quick brown fox jumps over the lazy dog.") == 0
    assert repeated_word_ratio("cats cats cats cats and dogs") > 0.5
