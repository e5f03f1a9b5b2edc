"""Named personas: a set of indexed folders, stored in the index database.

A persona's prose is every paragraph of the documents in its folders with
between MIN_WORDS and MAX_WORDS words (headings, one-line dialogue and giant
blocks are not style samples). `PersonaData` loads those paragraphs once with
their stylometric features and embeddings.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from engine.errors import KillahError
from engine.index.features import FEATURES
from engine.index.ingest import embed_missing, sync
from engine.index.store import IndexStore
from engine.progress import CancelToken, ProgressCallback

MIN_WORDS = 25
MAX_WORDS = 300
STYLE_BATCH = 64  # paragraphs per committed batch of style vectors


@dataclass(frozen=True)
class Persona:
    name: str
    folders: tuple[str, ...]
    created_at: float = 0.0

    def as_dict(self) -> dict:
        return {"name": self.name, "folders": list(self.folders), "created_at": self.created_at}


def create_persona(store: IndexStore, name: str, folders: Sequence[str | Path],
                   excludes: Sequence[str] = ()) -> Persona:
    """Create (or replace) persona `name` over `folders`, adding them to the index if needed."""
    name = name.strip()
    if not name:
        raise KillahError("a persona needs a name")
    resolved = []
    for folder in folders:
        path = Path(folder).expanduser()
        if not path.is_dir():
            raise KillahError(f"cannot use {folder} for persona {name!r}: not a folder")
        resolved.append(store.add_folder(path, excludes).path)
    if not resolved:
        raise KillahError(f"persona {name!r} needs at least one folder")
    with store.db.atomic():
        store.db["personas"].upsert(
            {"name": name, "folders": json.dumps(resolved), "created_at": time.time(),
             "settings": "{}"}, pk="name")
    return get_persona(store, name)


def get_persona(store: IndexStore, name: str) -> Persona:
    rows = list(store.db["personas"].rows_where("name = ?", [name]))
    if not rows:
        known = ", ".join(p.name for p in list_personas(store)) or "none yet"
        raise KillahError(f"no persona named {name!r} (known: {known})")
    row = rows[0]
    return Persona(row["name"], tuple(json.loads(row["folders"])), row["created_at"] or 0.0)


def list_personas(store: IndexStore) -> list[Persona]:
    return [Persona(r["name"], tuple(json.loads(r["folders"])), r["created_at"] or 0.0)
            for r in store.db["personas"].rows_where(order_by="name")]


def delete_persona(store: IndexStore, name: str) -> None:
    with store.db.atomic():
        store.db.execute("DELETE FROM personas WHERE name = ?", [name])
        store.db.execute("DELETE FROM persona_cache WHERE persona = ?", [name])


def folder_ids(store: IndexStore, persona: Persona) -> list[int]:
    ids = []
    for path in persona.folders:
        folder = store.folder(path)
        if folder is not None:
            ids.append(folder.id)
    return ids


def fingerprint(store: IndexStore, persona: Persona) -> str:
    """Changes whenever a document of the persona is added, edited, moved away or deleted."""
    return store.fingerprint(folder_ids(store, persona)) + ":" + ",".join(persona.folders)


def build_persona_from_folder(
    path: str | Path,
    name: str | None = None,
    excludes: Sequence[str] = (),
    store: IndexStore | None = None,
    embedder: str | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> Persona:
    """Index `path` (incrementally) and make it a persona named `name` (default: the folder name)."""
    store = store or IndexStore()
    persona = create_persona(store, name or Path(path).expanduser().resolve().name, [path], excludes)
    folders = [store.folder(p) for p in persona.folders]
    sync(store, progress=progress, cancel=cancel, embedder=embedder, folders=folders)
    return persona


class PersonaData:
    """The persona's style paragraphs, features (n, F) and unit embeddings (n, d), loaded once."""

    def __init__(self, store: IndexStore, persona: Persona, embedder: str | None = None,
                 progress: ProgressCallback | None = None):
        from engine.embeddings import embedder_id

        self.store, self.persona, self.embedder = store, persona, embedder
        self.progress = progress
        self.fingerprint = fingerprint(store, persona)
        ids = folder_ids(store, persona)
        if not ids:
            raise KillahError(f"persona {persona.name!r}: none of its folders is indexed")
        marks = ",".join("?" * len(ids))
        rows = store.db.execute(
            f"SELECT DISTINCT p.id, p.text, {', '.join('f.' + n for n in FEATURES)} "
            "FROM paragraphs p JOIN paragraph_refs r ON r.paragraph_id = p.id "
            "JOIN documents d ON d.id = r.document_id JOIN features f ON f.paragraph_id = p.id "
            f"WHERE d.status = 'ok' AND d.folder_id IN ({marks}) AND p.words BETWEEN ? AND ? "
            "ORDER BY p.id", [*ids, MIN_WORDS, MAX_WORDS]).fetchall()
        if not rows:
            raise KillahError(
                f"persona {persona.name!r} has no paragraphs of {MIN_WORDS}-{MAX_WORDS} words: "
                "index some prose first (killah index sync)")
        self.ids = np.array([r[0] for r in rows], dtype=np.int64)
        self.texts = [r[1] for r in rows]
        self.features = np.array([r[2:] for r in rows], dtype=np.float64)
        model = embedder_id(embedder)
        if store.count_without_embedding(model):
            embed_missing(store, embedder, progress=progress)
        emb_ids, matrix = store.embedding_matrix(model, self.ids)
        if len(emb_ids) != len(self.ids):
            raise KillahError(f"persona {persona.name!r}: embeddings missing; run killah index sync")
        self.embeddings = matrix  # same order: both sorted by paragraph id

    @cached_property
    def style_unavailable(self) -> str | None:
        """Why style vectors cannot be had (the style encoder is not installed), or None.

        Without them, typicality and "sounds like you" fall back to stylometry alone and
        the persona embedding to content vectors; callers show this line to say so.
        """
        from engine.encoders.style import unavailable

        return unavailable()

    @cached_property
    def style_embeddings(self) -> np.ndarray:
        """Unit style vectors (style encoder) of the paragraphs, stored in the index once.

        The first call embeds the persona's paragraphs in committed batches (progress stage
        "style"); later calls, and other processes, read them back from the index.
        """
        from engine.embeddings import STYLE_EMBEDDER, embed, embedder_id
        from engine.progress import report_progress

        model = embedder_id(STYLE_EMBEDDER)
        have, _ = self.store.embedding_matrix(model, self.ids)
        missing = np.setdiff1d(self.ids, have)
        for start in range(0, len(missing), STYLE_BATCH):
            chunk = missing[start : start + STYLE_BATCH]
            texts = [self.texts[i] for i in np.searchsorted(self.ids, chunk)]
            self.store.add_embeddings(model, chunk, embed(texts, name=STYLE_EMBEDDER))
            report_progress(self.progress, "style", start + len(chunk), len(missing),
                            "paragraph")
        ids, matrix = self.store.embedding_matrix(model, self.ids)
        if len(ids) != len(self.ids):
            raise KillahError(f"persona {self.persona.name!r}: style vectors missing")
        return matrix

    @cached_property
    def style_centroid(self) -> np.ndarray:
        c = self.style_embeddings.mean(axis=0)
        return (c / (np.linalg.norm(c) + 1e-12)).astype(np.float32)

    @cached_property
    def feature_mean(self) -> np.ndarray:
        return self.features.mean(axis=0)

    @cached_property
    def feature_std(self) -> np.ndarray:
        return self.features.std(axis=0) + 1e-6

    @cached_property
    def centroid(self) -> np.ndarray:
        c = self.embeddings.mean(axis=0)
        return (c / (np.linalg.norm(c) + 1e-12)).astype(np.float32)

    @cached_property
    def typicality(self) -> np.ndarray:
        """How characteristic each paragraph is of the persona's style, in [0, 1] (rank-based).

        Half stylometric (closeness of its features to the persona's mean, in standard
        deviations), half the style encoder (cosine to the persona's style centroid); what
        a paragraph is about does not enter. Stylometric only without the style encoder.
        """
        z = np.abs((self.features - self.feature_mean) / self.feature_std).mean(axis=1)
        if self.style_unavailable:
            return _ranks(-z)
        return 0.5 * _ranks(-z) + 0.5 * _ranks(self.style_embeddings @ self.style_centroid)


def _ranks(values: np.ndarray) -> np.ndarray:
    if len(values) < 2:
        return np.ones(len(values))
    order = np.argsort(np.argsort(values, kind="stable"), kind="stable")
    return order / (len(values) - 1)

