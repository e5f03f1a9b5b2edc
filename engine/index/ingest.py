"""Bring the index in step with the chosen folders: incremental, resumable, cancellable.

A sync walks every stored folder (never entering opted-out sub-folders, never
opening opted-out files, skipping hidden entries and symlinks), then:
  - skips a file whose size and mtime are unchanged (no read at all);
  - re-reads a file only when its sha256 changed (a touched file just gets its
    new mtime);
  - notices moved files (a new path with the sha256 of a vanished one) and
    deleted files;
  - writes each document in its own transaction, so after a kill the next sync
    resumes with the files not yet written;
  - then embeds the paragraphs that have no vector yet, in committed batches.
Progress goes to a callback; a threading.Event cancels between documents.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Sequence

from engine.index import readers
from engine.index.features import guess_language, paragraph_features, word_count
from engine.index.store import Folder, IndexStore


@dataclass(frozen=True)
class IndexProgress:
    phase: str  # "scan" | "read" | "embed" | "done"
    files_done: int
    files_total: int
    paragraphs: int
    rate: float  # files/s while reading, paragraphs/s while embedding
    eta_s: float | None
    current: str = ""


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


ProgressFn = Callable[[IndexProgress], None]

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
            if fnmatch.fnmatchcase(prefix, pattern) or fnmatch.fnmatchcase(parts[depth - 1], pattern):
                return True
    return False


def walk_folder(folder: Folder) -> Iterator[Path]:
    """Supported files under `folder`, pruning opted-out and hidden sub-folders before entering them."""
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
            if name.startswith(".") or readers.format_of(name) is None or is_excluded(rel, excludes):
                continue
            if full.is_symlink():
                continue
            yield full


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


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def sync(
    store: IndexStore,
    progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
    embed: bool = True,
    embedder: str | None = None,
    folders: Sequence[Folder] | None = None,
) -> SyncReport:
    """Bring the index in step with the stored folders (or just `folders`)."""
    report = SyncReport()
    start = time.monotonic()
    cancel = cancel or threading.Event()
    folders = list(store.folders() if folders is None else folders)
    plan: list[tuple[Folder, Path, os.stat_result]] = []
    seen: set[str] = set()
    for folder in folders:
        if not Path(folder.path).is_dir():
            report.errors.append({"path": folder.path, "error": "folder not found"})
            continue
        for path in walk_folder(folder):
            key = str(path)
            if key in seen:  # nested folders: the first one owns the file
                continue
            seen.add(key)
            try:
                plan.append((folder, path, path.stat()))
            except OSError as e:
                report.errors.append({"path": key, "error": f"cannot stat: {e.strerror}"})
    if progress:
        progress(IndexProgress("scan", 0, len(plan), 0, 0.0, None))

    stored: dict[str, dict] = {}
    for folder in folders:
        stored.update(store.documents_in(folder.id))
    vanished = {p: row for p, row in stored.items() if p not in seen}
    vanished_by_sha = {row["sha256"]: row for row in vanished.values() if row["sha256"]}

    read_start = time.monotonic()
    for done, (folder, path, st) in enumerate(plan):
        if cancel.is_set():
            report.cancelled = True
            break
        _sync_file(store, folder, path, st, stored.get(str(path)), vanished, vanished_by_sha, report)
        if progress:
            elapsed = time.monotonic() - read_start
            rate = (done + 1) / elapsed if elapsed > 0 else 0.0
            eta = (len(plan) - done - 1) / rate if rate > 0 else None
            progress(IndexProgress("read", done + 1, len(plan), report.paragraphs, rate, eta, str(path)))

    if not report.cancelled:
        for row in vanished.values():
            with store.db.atomic():
                store.delete_document(row["id"])
            report.deleted += 1
        if embed:
            embed_missing(store, embedder, progress=progress, cancel=cancel, report=report)
    report.seconds = time.monotonic() - start
    if progress:
        progress(IndexProgress("done", len(plan), len(plan), report.paragraphs, 0.0, 0.0))
    return report


def _sync_file(store, folder, path, st, row, vanished, vanished_by_sha, report) -> None:
    key = str(path)
    if row is not None and row["size"] == st.st_size and row["mtime_ns"] == st.st_mtime_ns:
        report.unchanged += 1
        return
    try:
        sha = sha256_of(path)
    except OSError as e:
        store.write_error(_record(folder, path, st, None, "error", error=f"cannot open: {e.strerror}"))
        report.errors.append({"path": key, "error": f"cannot open: {e.strerror}"})
        return
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
    try:
        document = readers.read_document(path)
    except readers.ReadError as e:
        store.write_error(_record(folder, path, st, sha, "error", error=str(e)))
        report.errors.append({"path": key, "error": str(e)})
        return
    paragraphs = document.paragraphs
    languages = [guess_language(p) for p in paragraphs]
    features = [paragraph_features(p, lang) for p, lang in zip(paragraphs, languages)]
    words = [word_count(p) for p in paragraphs]
    doc_language = max(set(languages), key=lambda lang: sum(
        w for w, l2 in zip(words, languages) if l2 == lang))
    record = _record(folder, path, st, sha, "ok", fmt=document.format, language=doc_language,
                     paragraphs=len(paragraphs))
    store.write_document(record, paragraphs, features, languages, words)
    report.paragraphs += len(paragraphs)
    if row is None:
        report.added += 1
    else:
        report.updated += 1


def _record(folder, path, st, sha, status, fmt=None, language=None, paragraphs=0, error=None) -> dict:
    return {
        "path": str(path), "folder_id": folder.id, "sha256": sha, "mtime_ns": st.st_mtime_ns,
        "size": st.st_size, "format": fmt or readers.format_of(path), "language": language,
        "status": status, "error": error, "paragraphs": paragraphs, "indexed_at": time.time(),
    }


def embed_missing(
    store: IndexStore,
    embedder: str | None = None,
    batch_size: int = 256,
    progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
    report: SyncReport | None = None,
) -> int:
    """Embed every paragraph without a vector for `embedder`; each batch is committed."""
    from engine.embeddings import embed, embedder_id

    model = embedder_id(embedder)
    total = store.count_without_embedding(model)
    done = 0
    start = time.monotonic()
    while total:
        if cancel is not None and cancel.is_set():
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
            progress(IndexProgress("embed", done, total, done, rate, eta))
    if report is not None:
        report.embedded += done
    return done
