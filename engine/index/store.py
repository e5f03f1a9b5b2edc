"""The index database: one SQLite file, opened through sqlite-utils.

Tables
  folders         the folders the user chose, with their opt-out glob patterns
  documents       one row per file: path, sha256, mtime, size, format, language,
                  status ("ok" | "error"), error, paragraph count
  paragraphs      each distinct paragraph text once (exact key = sha1 of the
                  normalised text); near-duplicates link to the stored one
  paragraph_refs  (document, order) -> paragraph, with the similarity of the link
  features        stylometric features per paragraph (engine.index.features)
  embeddings      float32 vectors per (paragraph, embedder)
  minhash_bands   LSH band keys for near-duplicate lookup
  personas, persona_cache   named personas and their cached vectors (engine.persona)
  paragraphs_fts  FTS5 over paragraphs.text, kept in step by triggers
  read_attempts   files being read right now (a row left behind = a read that never ended)

Paths are stored as text: a file name that is not valid UTF-8 is stored with its
undecodable bytes backslash-escaped (engine.index.ingest.display_path).

Schema changes go through `Migrations("killah-index")` (recorded in
_sqlite_migrations). Each document is written in one transaction, so a killed
process leaves every document either fully indexed or untouched.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Self

import numpy as np
from sqlite_utils import Database

try:
    from sqlite_migrate import Migrations
except ImportError:  # sqlite-utils >= 4 ships the same class
    from sqlite_utils import Migrations

from engine import paths
from engine.errors import KillahError
from engine.index import dedup
from engine.index.features import FEATURES

migrations = Migrations("killah-index")


@migrations()
def m001_initial(db: Database) -> None:
    db["folders"].create(
        {"id": int, "path": str, "excludes": str, "added_at": float}, pk="id", not_null={"path"}
    )
    db["folders"].create_index(["path"], unique=True)
    db["documents"].create(
        {
            "id": int, "path": str, "folder_id": int, "sha256": str, "mtime_ns": int,
            "size": int, "format": str, "language": str, "status": str, "error": str,
            "paragraphs": int, "indexed_at": float,
        },
        pk="id",
        not_null={"path"},
    )
    db["documents"].create_index(["path"], unique=True)
    db["documents"].create_index(["folder_id"])
    db["documents"].create_index(["sha256"])
    db["paragraphs"].create(
        {"id": int, "hash": str, "text": str, "words": int, "language": str}, pk="id"
    )
    db["paragraphs"].create_index(["hash"], unique=True)
    db["paragraph_refs"].create(
        {"document_id": int, "ord": int, "paragraph_id": int, "similarity": float},
        pk=("document_id", "ord"),
    )
    db["paragraph_refs"].create_index(["paragraph_id"])
    db["features"].create({"paragraph_id": int, **{name: float for name in FEATURES}},
                          pk="paragraph_id")
    db["embeddings"].create(
        {"paragraph_id": int, "model": str, "dim": int, "vector": bytes},
        pk=("model", "paragraph_id"),
    )
    db["minhash_bands"].create({"key": int, "paragraph_id": int})
    db["minhash_bands"].create_index(["key"])
    db["minhash_bands"].create_index(["paragraph_id"])
    db["paragraphs"].enable_fts(["text"], create_triggers=True, tokenize="unicode61")


@migrations()
def m002_personas(db: Database) -> None:
    db["personas"].create(
        {"name": str, "folders": str, "created_at": float, "settings": str}, pk="name"
    )
    db["persona_cache"].create(
        {"persona": str, "model": str, "kind": str, "fingerprint": str, "data": bytes,
         "created_at": float},
        pk=("persona", "model", "kind"),
    )


@migrations()
def m003_read_attempts(db: Database) -> None:
    """`reason` says which kind of refusal an error row is; `read_attempts` holds a row while a
    file is being read, so a file whose reading never finished (hung, or took the process
    down) is known on the next sync."""
    db["documents"].add_column("reason", str)
    db["read_attempts"].create(
        {"path": str, "size": int, "mtime_ns": int, "attempts": int, "started_at": float},
        pk="path")


@dataclass(frozen=True)
class Folder:
    id: int
    path: str
    excludes: tuple[str, ...]


class IndexStore:
    """The index database. Open one per thread; writes go through `db.atomic()`."""

    def __init__(self, path: str | Path | None = None):
        """Open (or create) the index at `path`, or the per-user one when None.

        Only the per-user location gets its folders created; an explicit path must be in
        an existing folder. A file that is not a Killah index raises KillahError.
        """
        if path is None:
            self.path = paths.index_path()
        else:
            self.path = Path(path).expanduser()
            if not self.path.parent.is_dir():
                raise KillahError(f"cannot open index {self.path}: the folder "
                                  f"{self.path.parent} does not exist")
            if self.path.exists() and not self.path.is_file():
                raise KillahError(f"cannot open index {self.path}: not a file")
        try:
            self.db = Database(sqlite3.connect(str(self.path), timeout=30,
                                               check_same_thread=False))
            tables = set(self.db.table_names())  # "file is not a database" shows here
            if tables and not tables & {"documents", "_sqlite_migrations"}:
                raise sqlite3.DatabaseError("no documents table")  # someone else's database
            # Several processes may open the index at once (app, CLI): schema set-up is
            # serialised by a lock file, since SQLite returns "locked" at once on lock
            # upgrades in WAL mode.
            with open(self.path.with_name(self.path.name + ".lock"), "a") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                try:
                    self.db.execute("PRAGMA journal_mode=WAL")
                    migrations.apply(self.db)
                finally:
                    fcntl.flock(lock, fcntl.LOCK_UN)
            self.db.execute("PRAGMA synchronous=NORMAL")
        except (sqlite3.Error, OSError) as e:
            raise KillahError(f"cannot open index {self.path}: {_db_reason(e)}") from None

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- folders ---------------------------------------------------------------
    def add_folder(self, path: str | Path, excludes: Sequence[str] = ()) -> Folder:
        """Remember `path` (absolute) with its opt-out patterns (merged with any stored ones)."""
        path = str(Path(path).expanduser().resolve())
        existing = self.folder(path)
        merged = tuple(dict.fromkeys((*(existing.excludes if existing else ()), *excludes)))
        with self.db.atomic():
            if existing is None:
                self.db["folders"].insert(
                    {"path": path, "excludes": json.dumps(list(merged)), "added_at": time.time()})
            else:
                self.db["folders"].update(existing.id, {"excludes": json.dumps(list(merged))})
        return self.folder(path)

    def folder(self, path: str | Path) -> Folder | None:
        rows = list(self.db["folders"].rows_where("path = ?", [str(path)]))
        return _folder(rows[0]) if rows else None

    def folders(self) -> list[Folder]:
        return [_folder(r) for r in self.db["folders"].rows_where(order_by="id")]

    def remove_folder(self, path: str | Path) -> None:
        folder = self.folder(str(Path(path).expanduser().resolve()))
        if folder is None:
            return
        ids = [r["id"] for r in self.db["documents"].rows_where("folder_id = ?", [folder.id])]
        for doc_id in ids:
            with self.db.atomic():
                self.delete_document(doc_id)
        with self.db.atomic():
            self.db["folders"].delete(folder.id)

    # -- documents -------------------------------------------------------------
    def documents_in(self, folder_id: int) -> dict[str, dict]:
        return {r["path"]: r for r in self.db["documents"].rows_where("folder_id = ?", [folder_id])}

    def delete_document(self, doc_id: int) -> None:
        """Remove a document and any paragraph no other document still uses (inside a
        transaction)."""
        old = [r[0] for r in self.db.execute(
            "SELECT paragraph_id FROM paragraph_refs WHERE document_id = ?", [doc_id])]
        self.db.execute("DELETE FROM paragraph_refs WHERE document_id = ?", [doc_id])
        self.db.execute("DELETE FROM documents WHERE id = ?", [doc_id])
        self._collect_garbage(old)

    def _collect_garbage(self, paragraph_ids: Iterable[int]) -> None:
        ids = sorted(set(paragraph_ids))
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            orphans = [r[0] for r in self.db.execute(
                f"SELECT id FROM paragraphs WHERE id IN ({marks}) AND NOT EXISTS "
                "(SELECT 1 FROM paragraph_refs r WHERE r.paragraph_id = paragraphs.id)", chunk)]
            if not orphans:
                continue
            marks = ",".join("?" * len(orphans))
            for table in ("features", "embeddings", "minhash_bands"):
                self.db.execute(f"DELETE FROM {table} WHERE paragraph_id IN ({marks})", orphans)
            self.db.execute(f"DELETE FROM paragraphs WHERE id IN ({marks})", orphans)

    def write_document(self, record: dict, paragraphs: Sequence[str],
                       features: Sequence[dict], languages: Sequence[str],
                       words: Sequence[int]) -> int:
        """Replace the document at record["path"] with these paragraphs, in one transaction."""
        with self.db.atomic():
            old = self.db.execute("SELECT id FROM documents WHERE path = ?",
                                  [record["path"]]).fetchone()
            if old:
                self.delete_document(old[0])
            doc_id = self.db["documents"].insert(record).last_pk
            refs = []
            for order, (text, feats, lang, n_words) in enumerate(
                    zip(paragraphs, features, languages, words)):
                pid, similarity = self._paragraph_id(text, feats, lang, n_words)
                refs.append({"document_id": doc_id, "ord": order, "paragraph_id": pid,
                             "similarity": similarity})
            self.db["paragraph_refs"].insert_all(refs, batch_size=500)
            self.db.execute("DELETE FROM read_attempts WHERE path = ?", [record["path"]])
        return doc_id

    def _paragraph_id(self, text: str, feats: dict, lang: str, n_words: int) -> tuple[int, float]:
        key = dedup.exact_key(text)
        row = self.db.execute("SELECT id FROM paragraphs WHERE hash = ?", [key]).fetchone()
        if row:
            return row[0], 1.0
        bands = dedup.band_keys(text) if n_words >= dedup.MIN_NEAR_DUP_WORDS else []
        if bands:
            marks = ",".join("?" * len(bands))
            candidates = self.db.execute(
                f"SELECT DISTINCT p.id, p.text FROM minhash_bands b JOIN paragraphs p "
                f"ON p.id = b.paragraph_id WHERE b.key IN ({marks}) LIMIT 20", bands).fetchall()
            best = max(((dedup.jaccard(text, t), pid) for pid, t in candidates), default=None)
            if best and best[0] >= dedup.NEAR_DUP_JACCARD:
                return best[1], best[0]
        cursor = self.db.execute(
            "INSERT INTO paragraphs (hash, text, words, language) VALUES (?, ?, ?, ?)",
            [key, text, n_words, lang])
        pid = cursor.lastrowid
        self.db.execute(
            f"INSERT INTO features (paragraph_id, {', '.join(FEATURES)}) "
            f"VALUES (?, {', '.join('?' * len(FEATURES))})",
            [pid, *(feats[name] for name in FEATURES)])
        if bands:
            self.db.conn.executemany("INSERT INTO minhash_bands (key, paragraph_id) VALUES (?, ?)",
                                [(b, pid) for b in bands])
        return pid, 1.0

    def write_error(self, record: dict) -> None:
        """Record a file that could not be read (its old paragraphs, if any, are dropped)."""
        with self.db.atomic():
            old = self.db.execute("SELECT id FROM documents WHERE path = ?",
                                  [record["path"]]).fetchone()
            if old:
                self.delete_document(old[0])
            self.db["documents"].insert(record)
            self.db.execute("DELETE FROM read_attempts WHERE path = ?", [record["path"]])

    def update_document(self, doc_id: int, **fields) -> None:
        with self.db.atomic():
            self.db["documents"].update(doc_id, fields)
            self.db.execute("DELETE FROM read_attempts WHERE path = ?",
                            [fields.get("path") or self._path_of(doc_id)])

    def _path_of(self, doc_id: int) -> str | None:
        row = self.db.execute("SELECT path FROM documents WHERE id = ?", [doc_id]).fetchone()
        return row[0] if row else None

    # -- reads in progress -------------------------------------------------------
    def begin_read(self, path: str, size: int, mtime_ns: int) -> int:
        """Note that `path` is being read; returns how many earlier reads of this same version
        (size and mtime) never finished."""
        with self.db.atomic():
            row = self.db.execute("SELECT size, mtime_ns, attempts FROM read_attempts "
                                  "WHERE path = ?", [path]).fetchone()
            earlier = row[2] if row and (row[0], row[1]) == (size, mtime_ns) else 0
            self.db.execute("INSERT OR REPLACE INTO read_attempts VALUES (?, ?, ?, ?, ?)",
                            [path, size, mtime_ns, earlier + 1, time.time()])
        return earlier

    def end_read(self, path: str) -> None:
        """Forget a read that ended without a record (cancelled, or the file turned out
        unchanged)."""
        with self.db.atomic():
            self.db.execute("DELETE FROM read_attempts WHERE path = ?", [path])

    # -- embeddings ------------------------------------------------------------
    def paragraphs_without_embedding(self, model: str, limit: int | None = None
                                     ) -> list[tuple[int, str]]:
        sql = ("SELECT p.id, p.text FROM paragraphs p LEFT JOIN embeddings e "
               "ON e.paragraph_id = p.id AND e.model = ? WHERE e.paragraph_id IS NULL "
               "ORDER BY p.id")
        if limit:
            sql += f" LIMIT {int(limit)}"
        return [(r[0], r[1]) for r in self.db.execute(sql, [model])]

    def count_without_embedding(self, model: str) -> int:
        return self.db.execute(
            "SELECT count(*) FROM paragraphs p LEFT JOIN embeddings e ON e.paragraph_id = p.id "
            "AND e.model = ? WHERE e.paragraph_id IS NULL", [model]).fetchone()[0]

    def add_embeddings(self, model: str, ids: Sequence[int], vectors: np.ndarray) -> None:
        vectors = np.asarray(vectors, dtype=np.float32)
        with self.db.atomic():
            self.db.conn.executemany(
                "INSERT OR REPLACE INTO embeddings (paragraph_id, model, dim, vector) "
                "VALUES (?, ?, ?, ?)",
                [(int(i), model, vectors.shape[1], v.tobytes()) for i, v in zip(ids, vectors)])

    def embedding_matrix(self, model: str, paragraph_ids: Sequence[int] | None = None
                         ) -> tuple[np.ndarray, np.ndarray]:
        """(ids, (n, d) float32 matrix) of the stored vectors of `model`, optionally a subset."""
        if paragraph_ids is None:
            rows = self.db.execute(
                "SELECT paragraph_id, vector FROM embeddings WHERE model = ? ORDER BY paragraph_id",
                [model]).fetchall()
        else:
            # in a transaction of its own: the temp table's DELETE/INSERT would otherwise open
            # one implicitly that nothing commits, and every later db.atomic() would nest in it
            # as a savepoint, holding the write lock and never committing (the persona cache)
            with self.db.atomic():
                self.db.execute("CREATE TEMP TABLE IF NOT EXISTS _want (id INTEGER PRIMARY KEY)")
                self.db.execute("DELETE FROM _want")
                self.db.conn.executemany("INSERT OR IGNORE INTO _want VALUES (?)",
                                         [(int(i),) for i in paragraph_ids])
                rows = self.db.execute(
                    "SELECT e.paragraph_id, e.vector FROM embeddings e "
                    "JOIN _want w ON w.id = e.paragraph_id "
                    "WHERE e.model = ? ORDER BY e.paragraph_id", [model]).fetchall()
        rows = self._valid_vectors(model, rows)
        if not rows:
            return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32)
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        matrix = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32)
        matrix = matrix.reshape(len(rows), -1)
        return ids, matrix

    def _valid_vectors(self, model: str, rows: list) -> list:
        """Rows whose vector has the common length and only finite values. Any other row is a
        damaged cache entry: it is deleted, so the next sync embeds that paragraph again."""
        if not rows:
            return rows
        lengths = [len(r[1]) if isinstance(r[1], bytes) else -1 for r in rows]
        common = max(set(lengths), key=lengths.count)
        good, bad = [], []
        for r, n in zip(rows, lengths):
            ok = n == common and n > 0 and n % 4 == 0 and bool(
                np.isfinite(np.frombuffer(r[1], dtype=np.float32)).all())
            (good if ok else bad).append(r)
        if bad:
            with self.db.atomic():
                self.db.conn.executemany(
                    "DELETE FROM embeddings WHERE model = ? AND paragraph_id = ?",
                    [(model, r[0]) for r in bad])
        return good

    # -- reading -----------------------------------------------------------------
    def paragraph_texts(self, ids: Sequence[int]) -> dict[int, str]:
        out: dict[int, str] = {}
        ids = [int(i) for i in ids]
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            out.update(self.db.execute(f"SELECT id, text FROM paragraphs WHERE id IN ({marks})",
                                       chunk))
        return out

    def status(self) -> dict:
        def one(sql: str, args=()) -> int:
            return self.db.execute(sql, args).fetchone()[0]

        by_format = {r[0]: r[1] for r in self.db.execute(
            "SELECT format, count(*) FROM documents WHERE status = 'ok' GROUP BY format")}
        return {
            "path": str(self.path),
            "folders": [{"path": f.path, "excludes": list(f.excludes)} for f in self.folders()],
            "documents": one("SELECT count(*) FROM documents WHERE status = 'ok'"),
            "errors": one("SELECT count(*) FROM documents WHERE status = 'error'"),
            "paragraphs": one("SELECT count(*) FROM paragraphs"),
            "paragraph_refs": one("SELECT count(*) FROM paragraph_refs"),
            "embeddings": {r[0]: r[1] for r in self.db.execute(
                "SELECT model, count(*) FROM embeddings GROUP BY model")},
            "formats": by_format,
        }

    def errors(self) -> list[dict]:
        return [{"path": r["path"], "error": r["error"], "kind": r["reason"] or "unreadable"}
                for r in self.db["documents"].rows_where("status = 'error'", order_by="path")]

    def fingerprint(self, folder_ids: Sequence[int]) -> str:
        """Changes whenever a document in these folders is added, changed or removed."""
        if not folder_ids:
            return "empty"
        marks = ",".join("?" * len(folder_ids))
        row = self.db.execute(
            f"SELECT count(*), coalesce(sum(id), 0), coalesce(max(id), 0) FROM documents "
            f"WHERE status = 'ok' AND folder_id IN ({marks})",
            list(folder_ids)).fetchone()
        return hashlib.sha1(repr(tuple(row)).encode()).hexdigest()


def _db_reason(e: Exception) -> str:
    text = str(e) if isinstance(e, sqlite3.Error) else (e.strerror or str(e))
    if "not a database" in text or "no documents table" in text or "malformed" in text:
        return "not a Killah index database (a damaged or foreign file)"
    return " ".join(text.split())[:200]


def _folder(row: dict) -> Folder:
    try:
        excludes = json.loads(row["excludes"] or "[]")
    except ValueError:
        excludes = []
    if not isinstance(excludes, list):
        excludes = []
    return Folder(row["id"], row["path"], tuple(str(p) for p in excludes))
