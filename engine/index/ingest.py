"""Bring the index in step with the chosen folders: incremental, resumable, cancellable.

A sync walks every stored folder (never entering opted-out sub-folders, never
opening opted-out files, skipping hidden entries and symlinks), then:
  - skips a file whose size and mtime are unchanged (no read at all), whatever was
    recorded for it: indexed, or refused with its reason;
  - refuses, without opening them, files that are not regular files (FIFOs,
    sockets, devices) and files over their format's size limit;
  - re-reads a file only when its sha256 changed (a touched file just gets its
    new mtime);
  - notices moved files (a new path with the sha256 of a vanished one) and
    deleted files;
  - guards each file: whatever goes wrong while reading it is recorded against
    that file as one line with a kind (engine.index.limits), and the sync goes on;
  - notes each read before it starts, so a file whose reading never finished
    twice (it hung, or took the process down) is recorded as "hung" and not
    tried again until it changes;
  - writes each document in its own transaction, so after a kill the next sync
    resumes with the files not yet written;
  - then embeds the paragraphs that have no vector yet, in committed batches.
Progress goes to an engine.progress callback (stages scan, read, embed, done; info:
paragraphs, rate, eta_seconds); an engine.progress CancelToken is checked between
documents and inside long reads.
"""

from __future__ import annotations

import contextlib
import fnmatch
import hashlib
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from engine.index import readers
from engine.index.features import guess_language, paragraph_features
from engine.index.limits import (
    READ_SECONDS,
    Budget,
    Cancelled,
    ReadError,
    check_regular,
    check_size,
    read_regular,
)
from engine.index.store import Folder, IndexStore
from engine.progress import CancelToken, ProgressCallback, report_progress
from engine.text import word_count

# A file whose reading was begun this many times and never finished is recorded as hung.
HUNG_AFTER_ATTEMPTS = 2


@dataclass
class SyncReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    touched: int = 0
    moved: int = 0
    deleted: int = 0
    paragraphs: int = 0
    embedded: int = 0
    read_files: list[str] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    cancelled: bool = False

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items()}


# Paragraphs and queries are embedded from their first 128 tokens (see engine.embeddings.embed).
EMBED_MAX_TOKENS = 128


def is_excluded(rel: str, patterns: Sequence[str]) -> bool:
    """True if the folder-relative posix path `rel`, or any of its parents, matches a pattern.

    Patterns are globs matched against the relative path and against each name
    in it ("private", "drafts/*", "*.md", "notes/2019").
    """
    parts = rel.split("/")
    for pattern in patterns:
        pattern = pattern.strip().rstrip("/")
        if not pattern:
            continue
        for depth in range(1, len(parts) + 1):
            prefix = "/".join(parts[:depth])
            if (fnmatch.fnmatchcase(prefix, pattern)
                    or fnmatch.fnmatchcase(parts[depth - 1], pattern)):
                return True
    return False


def walk_folder(folder: Folder) -> Iterator[Path]:
    """Supported files under `folder`, pruning opted-out and hidden sub-folders before entering
    them."""
    root = Path(folder.path)
    excludes = [_relative_pattern(p, root) for p in folder.excludes]
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        rel_dir = os.path.relpath(dirpath, root)
        rel_dir = "" if rel_dir == "." else rel_dir.replace(os.sep, "/")
        dirnames[:] = sorted(
            d for d in dirnames
            if not d.startswith(".") and not is_excluded(_join(rel_dir, d), excludes)
            and not os.path.islink(os.path.join(dirpath, d))
        )
        for name in sorted(filenames):
            rel = _join(rel_dir, name)
            full = Path(dirpath) / name
            if (name.startswith(".") or readers.format_of(name) is None
                    or is_excluded(rel, excludes)):
                continue
            if full.is_symlink():
                continue
            yield full  # not necessarily a regular file: sync checks, and never opens the rest


def _join(a: str, b: str) -> str:
    return f"{a}/{b}" if a else b


def _relative_pattern(pattern: str, root: Path) -> str:
    expanded = os.path.expanduser(pattern)
    if os.path.isabs(expanded):
        try:
            return Path(expanded).resolve().relative_to(root).as_posix()
        except ValueError:
            return pattern
    return pattern


def display_path(path: str | os.PathLike) -> str:
    """The path as text that SQLite and JSON accept: bytes of a file name that are not valid
    UTF-8 (surrogate-escaped by Python) come out backslash-escaped, e.g. 'caf\\xe9.txt'."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


class Watchdog:
    """Marks the file being read as hung in the database once it overruns its time budget
    by `grace` seconds, from a thread of its own: if the read never returns (stuck in a
    library that never reaches a check), the next sync still skips that file.
    (It cannot help while a library holds the GIL; then the file is skipped after
    HUNG_AFTER_ATTEMPTS unfinished reads.)"""

    def __init__(self, db_path: Path, seconds: float, grace: float = 30.0):
        self.db_path, self.limit = db_path, seconds + grace
        self.current: tuple[str, float] | None = None
        self.marked: list[str] = []
        self._wake = threading.Event()
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="index-watchdog", daemon=True)
        self._thread.start()

    def reading(self, key: str | None) -> None:
        self.current = (key, time.monotonic() + self.limit) if key is not None else None
        self._wake.set()

    def stop(self) -> None:
        self._stop = True
        self._wake.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop:
            current = self.current
            wait = None if current is None else max(0.0, current[1] - time.monotonic())
            self._wake.wait(wait)
            self._wake.clear()
            current = self.current
            if self._stop or current is None or time.monotonic() < current[1]:
                continue
            self._mark(current[0])
            self.current = None

    def _mark(self, key: str) -> None:
        try:
            with contextlib.closing(sqlite3.connect(str(self.db_path), timeout=10)) as db, db:
                db.execute("UPDATE read_attempts SET attempts = max(attempts, ?) WHERE path = ?",
                           [HUNG_AFTER_ATTEMPTS, key])
            self.marked.append(key)
        except sqlite3.Error:
            pass  # best effort: the attempt count still catches it after two unfinished reads


def sync(
    store: IndexStore,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    embed: bool = True,
    embedder: str | None = None,
    folders: Sequence[Folder] | None = None,
) -> SyncReport:
    """Bring the index in step with the stored folders (or just `folders`)."""
    report = SyncReport()
    start = time.monotonic()
    cancel = cancel or CancelToken()
    folders = list(store.folders() if folders is None else folders)
    plan: list[tuple[Folder, Path, os.stat_result]] = []
    seen: set[str] = set()
    for folder in folders:
        if not Path(folder.path).is_dir():
            report.errors.append({"path": folder.path, "error": "folder not found",
                                  "kind": "unreadable"})
            continue
        try:
            for path in walk_folder(folder):
                key = display_path(path)
                if key in seen:  # nested folders: the first one owns the file
                    continue
                seen.add(key)
                try:
                    plan.append((folder, path, os.lstat(path)))
                except OSError as e:
                    report.errors.append({"path": key, "error": f"cannot stat: {e.strerror}",
                                          "kind": "unreadable"})
                if cancel.cancelled:
                    break
        except OSError as e:
            report.errors.append({"path": folder.path, "error": f"cannot list: {e.strerror}",
                                  "kind": "unreadable"})
    report_progress(progress, "scan", 0, len(plan), "file")

    stored: dict[str, dict] = {}
    for folder in folders:
        stored.update(store.documents_in(folder.id))
    vanished = {p: row for p, row in stored.items() if p not in seen}
    vanished_by_sha = {row["sha256"]: row for row in vanished.values() if row["sha256"]}

    read_start = time.monotonic()
    watchdog = Watchdog(store.path, READ_SECONDS)
    try:
        for done, (folder, path, st) in enumerate(plan):
            if cancel.cancelled:
                report.cancelled = True
                break
            watchdog.reading(display_path(path))
            try:
                _sync_file(store, folder, path, st, stored.get(display_path(path)), vanished,
                           vanished_by_sha, report, Budget(READ_SECONDS, cancel))
            except Cancelled:
                report.cancelled = True
                break
            finally:
                watchdog.reading(None)
            if progress:
                elapsed = time.monotonic() - read_start
                rate = (done + 1) / elapsed if elapsed > 0 else 0.0
                eta = (len(plan) - done - 1) / rate if rate > 0 else None
                report_progress(progress, "read", done + 1, len(plan), "file",
                                display_path(path), paragraphs=report.paragraphs, rate=rate,
                                eta_seconds=eta)
    finally:
        watchdog.stop()

    if not report.cancelled and not cancel.cancelled:
        for row in vanished.values():
            with store.db.atomic():
                store.delete_document(row["id"])
            report.deleted += 1
        if embed:
            embed_missing(store, embedder, progress=progress, cancel=cancel, report=report)
    else:
        report.cancelled = True
    report.seconds = time.monotonic() - start
    report_progress(progress, "done", len(plan), len(plan), "file",
                    paragraphs=report.paragraphs, rate=0.0, eta_seconds=0.0)
    return report


def _sync_file(store, folder, path, st, row, vanished, vanished_by_sha, report, budget) -> None:
    """One file, guarded: any failure while reading it is recorded against it, not raised.

    Store failures (sqlite3.Error) and cancellation still stop the sync.
    """
    key = display_path(path)
    if row is not None and row["size"] == st.st_size and row["mtime_ns"] == st.st_mtime_ns:
        report.unchanged += 1
        return
    fmt = readers.format_of(path)

    def refuse(e: ReadError, sha: str | None = None) -> None:
        store.write_error(_record(folder, key, st, sha, "error", fmt=fmt, error=str(e),
                                  reason=e.kind))
        report.errors.append({"path": key, "error": str(e), "kind": e.kind})

    try:
        check_regular(st)
        check_size(st.st_size, fmt)
    except ReadError as e:
        refuse(e)
        return
    earlier = store.begin_read(key, st.st_size, st.st_mtime_ns)
    if earlier >= HUNG_AFTER_ATTEMPTS:
        refuse(ReadError(f"hung: reading it never finished in {earlier} earlier syncs; "
                         "tried again when the file changes", "hung"))
        return
    sha = None
    try:
        data = read_regular(path, fmt, budget)
        sha = hashlib.sha256(data).hexdigest()
        if row is not None and row["sha256"] == sha:
            store.update_document(row["id"], mtime_ns=st.st_mtime_ns, size=st.st_size)
            report.touched += 1
            return
        if row is None and sha in vanished_by_sha:
            moved = vanished_by_sha.pop(sha)
            vanished.pop(moved["path"], None)
            store.update_document(moved["id"], path=key, folder_id=folder.id,
                                  mtime_ns=st.st_mtime_ns, size=st.st_size)
            report.moved += 1
            return
        report.read_files.append(key)
        document = readers.read_bytes(data, fmt, budget)
        del data
        paragraphs = document.paragraphs
        languages, features, words = [], [], []
        for i, p in enumerate(paragraphs):
            lang = guess_language(p)
            languages.append(lang)
            features.append(paragraph_features(p, lang))
            words.append(word_count(p))
            if i % 256 == 255:
                budget.check()
    except (Cancelled, sqlite3.Error):
        store.end_read(key)
        raise
    except ReadError as e:
        refuse(e, sha)
        return
    except Exception as e:  # noqa: BLE001 - the per-file guard: one bad file never stops a sync
        refuse(ReadError(f"unexpected {type(e).__name__} while reading: "
                         f"{' '.join(str(e).split())[:200]}"), sha)
        return
    doc_language = max(set(languages), key=lambda lang: sum(
        w for w, l2 in zip(words, languages) if l2 == lang))
    record = _record(folder, key, st, sha, "ok", fmt=document.format, language=doc_language,
                     paragraphs=len(paragraphs))
    store.write_document(record, paragraphs, features, languages, words)
    report.paragraphs += len(paragraphs)
    if row is None:
        report.added += 1
    else:
        report.updated += 1


def _record(folder, key, st, sha, status, fmt=None, language=None, paragraphs=0, error=None,
            reason=None) -> dict:
    return {
        "path": key, "folder_id": folder.id, "sha256": sha, "mtime_ns": st.st_mtime_ns,
        "size": st.st_size, "format": fmt or readers.format_of(key), "language": language,
        "status": status, "error": error, "reason": reason, "paragraphs": paragraphs,
        "indexed_at": time.time(),
    }


def embed_missing(
    store: IndexStore,
    embedder: str | None = None,
    batch_size: int = 256,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    report: SyncReport | None = None,
) -> int:
    """Embed every paragraph without a vector for `embedder`; each batch is committed."""
    from engine.embeddings import embed, embedder_id

    cancel = cancel or CancelToken()
    model = embedder_id(embedder)
    total = store.count_without_embedding(model)
    done = 0
    start = time.monotonic()
    while total:
        if cancel.cancelled:
            if report is not None:
                report.cancelled = True
            break
        batch = store.paragraphs_without_embedding(model, limit=batch_size)
        if not batch:
            break
        ids, texts = zip(*batch)
        store.add_embeddings(model, ids, embed(list(texts), name=embedder,
                                                        max_tokens=EMBED_MAX_TOKENS))
        done += len(batch)
        if progress:
            elapsed = time.monotonic() - start
            rate = done / elapsed if elapsed > 0 else 0.0
            eta = (total - done) / rate if rate > 0 else None
            report_progress(progress, "embed", done, total, "paragraph",
                            paragraphs=done, rate=rate, eta_seconds=eta)
    if report is not None:
        report.embedded += done
    return done
