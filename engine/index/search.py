"""Search the index: FTS5 text search, and cosine search over the stored vectors.

`nearest` is the one function that does vector search; at personal scale a
numpy matrix product is enough, and a faster index can replace it there alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from engine.index.ingest import EMBED_MAX_TOKENS
from engine.index.store import IndexStore


@dataclass(frozen=True)
class Hit:
    paragraph_id: int
    score: float
    text: str
    path: str
    order: int


def nearest(matrix: np.ndarray, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Row indices and cosine scores of the k rows of `matrix` closest to `query`, best first.

    Rows and query must be L2-normalised (engine.embeddings.embed returns them so).
    """
    if matrix.shape[0] == 0 or k <= 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    scores = matrix @ np.asarray(query, dtype=np.float32).reshape(-1)
    k = min(k, scores.shape[0])
    top = np.argpartition(-scores, k - 1)[:k]
    top = top[np.argsort(-scores[top], kind="stable")]
    return top, scores[top]


MAX_QUERY_TERMS = 32  # distinct words ANDed in one text search; FTS5 time grows with each
MAX_QUERY_CHARS = 4000  # of a query, for either search
MAX_K = 1000


def bounded_k(k: int) -> int:
    """`k` clamped to 0..MAX_K (SQLite LIMIT and numpy both take it)."""
    return max(0, min(int(k), MAX_K))


def _fts_query(query: str) -> str:
    """User words -> an FTS5 query that ANDs quoted terms (no syntax errors from user input).

    Repeated words count once, and only the first MAX_QUERY_TERMS distinct words are used:
    a query of one word typed 2,000 times is the query of that word.
    """
    terms = re.findall(r"\w+", query[:MAX_QUERY_CHARS], flags=re.UNICODE)
    distinct = list(dict.fromkeys(t.lower() for t in terms))[:MAX_QUERY_TERMS]
    return " ".join(f'"{t}"' for t in distinct)


def _locate(store: IndexStore, paragraph_id: int) -> tuple[str, int]:
    row = store.db.execute(
        "SELECT d.path, r.ord FROM paragraph_refs r JOIN documents d ON d.id = r.document_id "
        "WHERE r.paragraph_id = ? ORDER BY d.path, r.ord LIMIT 1", [paragraph_id]).fetchone()
    return (row[0], row[1]) if row else ("", -1)


def text_search(store: IndexStore, query: str, k: int = 10) -> list[Hit]:
    """FTS5 search over paragraph text, ranked by bm25 (higher score = better)."""
    fts = _fts_query(query)
    if not fts:
        return []
    rows = store.db.execute(
        "SELECT p.id, p.text, -bm25(paragraphs_fts) AS score FROM paragraphs_fts "
        "JOIN paragraphs p ON p.id = paragraphs_fts.rowid WHERE paragraphs_fts MATCH ? "
        "ORDER BY score DESC LIMIT ?", [fts, bounded_k(k)]).fetchall()
    return [Hit(pid, float(score), text, *_locate(store, pid)) for pid, text, score in rows]


def semantic_search(store: IndexStore, query: str, k: int = 10,
                    embedder: str | None = None) -> list[Hit]:
    """The k paragraphs whose embeddings are closest to the query's (cosine)."""
    from engine.embeddings import embed, embedder_id

    ids, matrix = store.embedding_matrix(embedder_id(embedder))
    if len(ids) == 0 or not query.strip():
        return []
    vector = embed([query[:MAX_QUERY_CHARS]], name=embedder, max_tokens=EMBED_MAX_TOKENS)[0]
    rows, scores = nearest(matrix, vector, bounded_k(k))
    texts = store.paragraph_texts(ids[rows])
    return [Hit(int(ids[r]), float(s), texts[int(ids[r])], *_locate(store, int(ids[r])))
            for r, s in zip(rows, scores)]
