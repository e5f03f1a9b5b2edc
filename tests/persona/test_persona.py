"""Personas over real indexed prose: exemplars with MMR, persona embedding, style score, cache, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from engine.index import IndexStore, sync
from engine.persona import (PersonaConditioning, PersonaData, PersonaStrengths, create_persona,
                            list_personas, mmr, persona_embedding, select_exemplars)
from engine.tasks import EXEMPLAR_HEADER


def _paragraphs(path: Path, n: int, skip: int = 0) -> list[str]:
    blocks = [" ".join(b.split()) for b in path.read_text(encoding="utf-8").split("\n\n")]
    return [b for b in blocks if 40 <= len(b.split()) <= 150][skip:skip + n]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, reference):
    """Two small 'users': 40 paragraphs of Austen (two files) and 30 of Twain."""
    root = tmp_path_factory.mktemp("persona-corpus")
    en = reference / "en"
    austen = _paragraphs(en / "austen" / "emma.txt", 40, skip=20)
    (root / "austen").mkdir()
    (root / "austen" / "a.txt").write_text("\n\n".join(austen[:20]), encoding="utf-8")
    (root / "austen" / "b.txt").write_text("\n\n".join(austen[20:]), encoding="utf-8")
    twain = sorted((en / "twain").glob("*.txt"))[0]
    (root / "twain").mkdir()
    (root / "twain" / "t.txt").write_text("\n\n".join(_paragraphs(twain, 30)), encoding="utf-8")
    return root


@pytest.fixture
def store(tmp_path, corpus):
    with IndexStore(tmp_path / "index.sqlite") as s:
        create_persona(s, "austen", [corpus / "austen"])
        s.add_folder(corpus / "twain")
        sync(s)
        yield s


def test_mmr_skips_a_duplicate_of_what_it_already_picked():
    vectors = np.array([[1, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]], dtype=np.float32)
    scores = np.array([1.0, 0.99, 0.6, 0.1])
    assert mmr(scores, vectors, 2, lam=0.7) == [0, 2]
    assert mmr(scores, vectors, 2, lam=1.0) == [0, 1]  # pure relevance takes the duplicate
    assert mmr(scores, vectors, 10) == sorted(mmr(scores, vectors, 10), key=lambda i: -1) and \
        len(mmr(scores, vectors, 10)) == 4


def test_exemplars_come_from_the_persona_are_relevant_and_distinct(store, corpus):
    data = PersonaData(store, list_personas(store)[0])
    assert len(data.ids) == 40
    target = data.texts[7]
    context = " ".join(target.split()[: len(target.split()) // 2])
    picked = select_exemplars(data, context, k=3)
    assert len(picked) == 3 and len(set(picked)) == 3
    assert picked[0] == target  # the rest of the paragraph the context came from
    austen = (corpus / "austen" / "a.txt").read_text() + (corpus / "austen" / "b.txt").read_text()
    assert all(p in " ".join(austen.split()) for p in picked)


def test_conditioning_formats_exemplars_through_the_tasks_module(store):
    cond = PersonaConditioning.open("austen", store=store, strengths=PersonaStrengths(exemplars=2, steering=0))
    block = cond.exemplar_block("Emma walked to Hartfield in the rain.")
    assert block.startswith(EXEMPLAR_HEADER) and block.count("<blockquote>") == 2
    assert cond.transforms() == ()
    assert cond.with_strengths(exemplars=0).exemplars("anything") == []


@pytest.fixture
def style_on(tmp_path, monkeypatch):
    """The shipped style-encoder weights, marked fit for the product (whatever the shipped
    metadata says), so the style paths run on the real encoder."""
    import shutil

    import engine.encoders.style as style_module

    folder = tmp_path / "style-encoder"
    shutil.copytree(style_module.STYLE_ENCODER, folder)
    info = json.loads((folder / "encoder.json").read_text())
    info["meta"]["product"] = True
    (folder / "encoder.json").write_text(json.dumps(info))
    monkeypatch.setattr(style_module, "STYLE_ENCODER", folder)
    return folder


def test_persona_embedding_attends_by_content_and_aggregates_style_vectors(store, style_on):
    from engine.embeddings import embed
    from engine.index.ingest import EMBED_MAX_TOKENS
    from engine.persona.exemplars import ATTENTION_TEMPERATURE

    data = PersonaData(store, list_personas(store)[0])
    assert data.style_unavailable is None
    context = data.texts[11]
    attended = persona_embedding(data, context)
    query = embed([context], name=data.embedder, max_tokens=EMBED_MAX_TOKENS)[0]
    logits = data.embeddings @ query / ATTENTION_TEMPERATURE
    weights = np.exp(logits - logits.max())
    expected = (weights / weights.sum()) @ data.style_embeddings
    np.testing.assert_allclose(attended, expected / np.linalg.norm(expected), atol=1e-5)
    assert attended.shape == data.style_centroid.shape
    assert abs(float(np.linalg.norm(attended)) - 1.0) < 1e-5
    np.testing.assert_allclose(persona_embedding(data, ""), persona_embedding(data, "  "))


def test_style_similarity_prefers_the_persona_author(store, reference):
    cond = PersonaConditioning.open("austen", store=store, strengths=PersonaStrengths(steering=0))
    en = reference / "en"
    austen = _paragraphs(en / "austen" / "persuasion.txt", 12, skip=10)
    others = _paragraphs(sorted((en / "melville").glob("*.txt"))[0], 12, skip=40)
    a = [cond.style_similarity(t).score for t in austen]
    b = [cond.style_similarity(t).score for t in others]
    assert all(0.0 <= s <= 1.0 for s in a + b)
    assert np.mean(a) > np.mean(b)


def test_style_vectors_are_stored_once_and_batched_scores_match_single_ones(store, reference,
                                                                           style_on):
    from engine.embeddings import STYLE_EMBEDDER, embedder_id

    events = []
    data = PersonaData(store, list_personas(store)[0], progress=events.append)
    assert data.style_embeddings.shape == (40, data.style_centroid.shape[0])
    style_events = [e for e in events if e.stage == "style"]
    assert style_events and style_events[-1].done == style_events[-1].total == 40
    ids, stored = store.embedding_matrix(embedder_id(STYLE_EMBEDDER), data.ids)
    assert len(ids) == 40 and np.allclose(stored, data.style_embeddings)
    again = []
    PersonaData(store, list_personas(store)[0], progress=again.append).style_embeddings
    assert not [e for e in again if e.stage == "style"]  # read back, not embedded again

    texts = _paragraphs(reference / "en" / "austen" / "persuasion.txt", 3, skip=30)
    cond = PersonaConditioning.open("austen", store=store, strengths=PersonaStrengths(steering=0))
    batched = cond.style_similarities(texts)
    assert [b.score for b in batched] == pytest.approx(
        [cond.style_similarity(t).score for t in texts], abs=1e-6)
    assert cond.style_similarities([]) == []


def test_steering_vectors_are_cached_and_recomputed_when_the_index_changes(store, corpus, tiny_lm, tmp_path):
    strengths = PersonaStrengths(exemplars=0, steering=1.5, layers=(1,))
    first = PersonaConditioning.open("austen", tiny_lm, strengths, store=store).transforms()[0]
    row = store.db.execute("SELECT fingerprint, created_at FROM persona_cache").fetchone()
    again = PersonaConditioning.open("austen", tiny_lm, strengths, store=store).transforms()[0]
    assert store.db.execute("SELECT fingerprint, created_at FROM persona_cache").fetchone() == row
    np.testing.assert_array_equal(again.vectors[1], first.vectors[1])
    assert again.cache_key == first.cache_key and first.strength == 1.5

    extra = corpus / "austen" / "c.txt"
    extra.write_text(" ".join(["The neighbourhood of Highbury was all astonishment."] * 6), encoding="utf-8")
    try:
        sync(store)
        changed = PersonaConditioning.open("austen", tiny_lm, strengths, store=store).transforms()[0]
    finally:
        extra.unlink()
    new_row = store.db.execute("SELECT fingerprint, created_at FROM persona_cache").fetchone()
    assert new_row[0] != row[0] and new_row[1] > row[1]
    assert changed.cache_key != first.cache_key
    assert not np.allclose(changed.vectors[1], first.vectors[1])


def test_persona_cli_create_list_show(corpus, capsys, tmp_path):
    from desktop.cli import main

    db = str(tmp_path / "cli.sqlite")
    assert main(["persona", "--db", db, "create", "mine", "--folder", str(corpus / "austen"), "--json"]) == 0
    created = json.loads(capsys.readouterr().out)
    assert created["documents"] == 2 and created["style_paragraphs"] == 40
    assert created["style"]["sent_len_mean"] > 5
    assert main(["persona", "--db", db, "list", "--json"]) == 0
    assert [p["name"] for p in json.loads(capsys.readouterr().out)] == ["mine"]
    assert main(["persona", "--db", db, "show", "nobody"]) == 1
    assert "no persona named 'nobody'" in capsys.readouterr().err


def test_without_the_style_encoder_style_falls_back_to_stylometry_and_says_why(
        store, reference, tmp_path, monkeypatch):
    """No style-encoder weights installed: nothing fails; "sounds like you" and typicality are
    the stylometric half alone, the persona embedding attends over content vectors, and one
    line says why."""
    import engine.encoders.style as style_module

    monkeypatch.setattr(style_module, "STYLE_ENCODER", tmp_path / "no-style-encoder")
    data = PersonaData(store, list_personas(store)[0])
    assert data.style_unavailable.startswith("style encoder missing: ")
    assert "\n" not in data.style_unavailable

    texts = _paragraphs(reference / "en" / "austen" / "persuasion.txt", 2, skip=30)
    cond = PersonaConditioning.open("austen", store=store, strengths=PersonaStrengths(steering=0))
    for s in cond.style_similarities(texts):
        assert s.note == data.style_unavailable
        assert s.score == s.stylometric and 0.0 < s.score <= 1.0 and np.isnan(s.style)

    z = np.abs((data.features - data.feature_mean) / data.feature_std).mean(axis=1)
    assert np.argmax(data.typicality) == np.argmin(z)  # closest to the mean, by stylometry
    attended = persona_embedding(data, data.texts[11])
    assert attended.shape == data.centroid.shape  # content space, not style space
    assert float(attended @ data.embeddings[11]) > float(data.centroid @ data.embeddings[11])
    assert select_exemplars(data, data.texts[3][:200], k=2)
