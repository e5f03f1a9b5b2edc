"""Every durable write: crash-safe, and faithful to the file it replaces.

`write_bytes` (and `write_text`, `write_json` over it) is the one way Killah writes
a file, whether the user's document or its own state:

- a new or singly-linked file is written to a temporary sibling, fsynced, then
  renamed over the target, so a crash leaves the old contents or the new, never
  a mix;
- a symlink is followed: its target gets the new contents and the link stays;
- an existing file keeps its permission bits (and its owner, where allowed);
- a file with other hard links is rewritten in place, after a backup copy beside
  it (removed once the new contents are on disk), so every link sees the change;
- a file with no write permission bits (0444) is refused with `ReadOnlyFile`
  unless the caller passes `overwrite_readonly=True` (the user said yes); its
  mode stays read-only;
- new files get 0666 minus the umask, like any editor's.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from engine.errors import KillahError


class ReadOnlyFile(KillahError):
    """The target has no write permission bits: the user made it read-only."""

    def __init__(self, path: Path, mode: int):
        super().__init__(f"{path} is read-only (mode {stat.S_IMODE(mode):04o}): not overwritten")
        self.path = path


def write_bytes(path: str | os.PathLike, data: bytes, *, overwrite_readonly: bool = False) -> Path:
    """Replace the contents of `path` with `data` (see the module notes); returns the file
    actually written (the symlink's target for a symlink)."""
    path = Path(path)
    if path.is_symlink():
        target = Path(os.path.realpath(path))
    else:
        target = path
        target.parent.mkdir(parents=True, exist_ok=True)
    try:
        st = os.stat(target)
    except FileNotFoundError:
        st = None
    if st is not None:
        if not stat.S_ISREG(st.st_mode):
            raise KillahError(f"cannot write {path}: not a regular file")
        if not st.st_mode & 0o222 and not overwrite_readonly:
            raise ReadOnlyFile(path, st.st_mode)
        if st.st_mode & 0o222 and not os.access(target, os.W_OK):
            raise KillahError(f"cannot write {path}: permission denied")
        if st.st_nlink > 1:
            _rewrite_in_place(target, data)
            return target
    _replace(target, data, st)
    return target


def _sibling(target: Path, tag: str) -> Path:
    return target.with_name(f".{target.name[:100]}.{tag}")


def _replace(target: Path, data: bytes, st: os.stat_result | None) -> None:
    tmp = _sibling(target, f"{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666 if st is None else 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            if st is not None:
                with contextlib.suppress(OSError):  # only root or the owner may give it away
                    os.fchown(f.fileno(), st.st_uid, st.st_gid)
                os.fchmod(f.fileno(), stat.S_IMODE(st.st_mode))
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(target.parent)


def _rewrite_in_place(target: Path, data: bytes) -> None:
    """Keep the inode (hard links share it): back the old contents up beside it, rewrite it,
    fsync, drop the backup. A crash midway leaves the backup to recover from."""
    backup = _sibling(target, "killah-backup")
    shutil.copyfile(target, backup)
    with open(backup, "rb") as f:
        os.fsync(f.fileno())
    with open(target, "r+b") as f:
        f.write(data)
        f.truncate()
        f.flush()
        os.fsync(f.fileno())
    backup.unlink()
    _fsync_dir(target.parent)


@contextlib.contextmanager
def writing(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary sibling path for a library that writes the file itself (safetensors).

    On success the file gets the old file's mode (0666 minus the umask when new), is
    fsynced and renamed over `path`; on any error it is removed and `path` is left as it
    was. For Killah's own state (run folders), so no symlink, hard link or read-only case
    applies. The temporary name keeps `path`'s suffix: mx.save_safetensors adds its own
    to any other.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.stem[:100]}.{secrets.token_hex(4)}.tmp{target.suffix}")
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))  # the umask applies
    try:
        yield tmp  # the writer truncates it, keeping that mode
        with contextlib.suppress(FileNotFoundError):
            os.chmod(tmp, stat.S_IMODE(os.stat(target).st_mode))
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(target.parent)


def write_text(path: str | os.PathLike, text: str, *, overwrite_readonly: bool = False) -> Path:
    return write_bytes(path, text.encode("utf-8"), overwrite_readonly=overwrite_readonly)


def write_json(path: str | os.PathLike, obj: Any) -> Path:
    return write_text(path, json.dumps(obj, indent=2, ensure_ascii=False) + "\n")


@contextlib.contextmanager
def staging_dir(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary folder beside `target`; on success it replaces `target` in one rename.

    On any error the temporary folder is removed and `target` is left as it was.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent))
    try:
        yield tmp
        if target.exists():
            old = target.with_name(f".{target.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(target, old)
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
        _fsync_dir(target.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
