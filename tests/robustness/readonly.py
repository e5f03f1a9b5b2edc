"""A folder made read-only for real, whoever runs the tests.

As a normal user, `chmod 0555` does it. These tests often run as root, and root
ignores permission bits, so then the folder is made immutable (`chattr +i`:
no entry can be created, renamed or removed in it, even by root) or, where the
filesystem has no such flag, bind-mounted read-only over itself. When none of
these is possible the test is skipped, saying why.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest


def _run(*cmd: str) -> bool:
    return shutil.which(cmd[0]) is not None and subprocess.run(
        cmd, capture_output=True).returncode == 0


def _really_read_only(folder: Path) -> bool:
    probe = folder / ".probe"
    try:
        probe.write_bytes(b"x")
    except OSError:
        return True
    probe.unlink()
    return False


@contextlib.contextmanager
def read_only_folder(folder: Path):
    """Make `folder` read-only for the duration of the block; yields how it was done."""
    folder = Path(folder)
    if os.geteuid() != 0:
        mode = folder.stat().st_mode
        folder.chmod(0o555)
        try:
            yield "chmod 0555"
        finally:
            folder.chmod(mode)
        return
    if _run("chattr", "+i", str(folder)):
        try:
            if _really_read_only(folder):
                yield "chattr +i (root ignores permission bits)"
                return
        finally:
            _run("chattr", "-i", str(folder))
    if _run("mount", "--bind", str(folder), str(folder)):
        try:
            if _run("mount", "-o", "remount,bind,ro", str(folder)) and _really_read_only(folder):
                yield "read-only bind mount (root ignores permission bits)"
                return
        finally:
            _run("umount", str(folder))
    pytest.skip("running as root, and neither chattr +i nor a read-only bind mount is possible")
