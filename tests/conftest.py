"""Shared fixtures.

Every test gets a fresh KILLAH_HOME in a temporary folder. Converted models are
shared across the whole run in .killah-test-home/models (KILLAH_MODELS_DIR), so
the real bundled models are converted once per run (once per clean clone on CI).

Real text comes from the repository: the shipped reference authors
(resources/reference) and small fixtures under tests/fixtures. An audit hook
watches every file the test process opens or lists: a path beside the checkout
(under its parent folder, e.g. a sibling data folder) fails the test that touched it, and the
run (see tests/test_standalone.py for the static checks).
"""

from __future__ import annotations

import os
import site
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
REFERENCE = REPO / "resources" / "reference"
SHARED_MODELS = Path(os.environ.get("KILLAH_TEST_MODELS", REPO / ".killah-test-home" / "models"))

os.environ.setdefault("KILLAH_MODELS_DIR", str(SHARED_MODELS))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("KILLAH_QUIET", "1")


@pytest.fixture(autouse=True)
def killah_home(tmp_path, monkeypatch) -> Path:
    home = tmp_path / "killah-home"
    monkeypatch.setenv("KILLAH_HOME", str(home))
    return home


# ------------------------------------------------------------ nothing beside the checkout

_WATCHED = {"open", "os.listdir", "os.scandir", "os.chdir", "shutil.copyfile", "shutil.copytree"}
OUTSIDE_READS: list[str] = []  # "event path" for every watched access beside the checkout
_REPORTED = [0]


def _allowed_roots() -> tuple[str, ...]:
    """Places a test run may use: Python, the shared model cache, pytest's temp root, the
    temp folder (unless the checkout itself lives in it: then only what this run creates)."""
    import getpass

    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, str(SHARED_MODELS),
             *site.getsitepackages(), site.getusersitepackages(),
             os.path.join(tempfile.gettempdir(), f"pytest-of-{getpass.getuser()}")}
    if not str(REPO).startswith(os.path.realpath(tempfile.gettempdir()) + os.sep):
        roots.add(tempfile.gettempdir())
    return tuple(os.path.realpath(r) + os.sep for r in roots if r)


_PARENT = str(REPO.parent) + os.sep
_REPO = str(REPO) + os.sep
_ALLOWED = _allowed_roots()
# What sat beside the checkout when the run began (a data folder, other clones...): never read.
# Folders made during the run (tempfile.mkdtemp beside a checkout in /tmp) are the run's own.
_SIBLINGS = frozenset(n for n in os.listdir(REPO.parent)
                      if n != REPO.name and not n.startswith("."))


def outside_the_checkout(path: str, siblings: frozenset[str] = _SIBLINGS) -> bool:
    """Beside the checkout (under its parent, in something that was there before the run)."""
    for p in {os.path.abspath(path), os.path.realpath(path)}:
        q = p + os.sep
        if not q.startswith(_PARENT) or q.startswith((_REPO, *_ALLOWED)):
            continue
        if p[len(_PARENT):].split(os.sep)[0] in siblings:
            return True
    return False


def _audit(event: str, args: tuple) -> None:
    if event not in _WATCHED or not args:
        return
    path = args[0]
    if isinstance(path, int) or path is None:
        return
    try:
        path = os.fsdecode(os.fspath(path))
    except TypeError:
        return
    if outside_the_checkout(path):
        OUTSIDE_READS.append(f"{event} {path}")


sys.addaudithook(_audit)


@pytest.fixture(autouse=True)
def _nothing_read_beside_the_checkout():
    """Fails the test (at teardown) for every read since the last report: its own, and those of
    the wider-scoped fixtures set up for it."""
    yield
    new = OUTSIDE_READS[_REPORTED[0]:]
    _REPORTED[0] = len(OUTSIDE_READS)
    if new:
        pytest.fail(f"read outside the checkout {REPO}: {new[:5]}", pytrace=False)


def pytest_sessionfinish(session, exitstatus):
    if OUTSIDE_READS:
        sys.stderr.write(f"\nread outside the checkout {REPO}:\n  "
                         + "\n  ".join(sorted(set(OUTSIDE_READS))[:20]) + "\n")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


# ------------------------------------------------------------ real text, from the repository


@pytest.fixture(scope="session")
def reference() -> Path:
    """The shipped reference authors: resources/reference/{en,ru}/<author>/<work>.txt."""
    return REFERENCE


@pytest.fixture(scope="session")
def lamp_dir() -> Path:
    """A small verbatim sample of the LAMP quality data (tests/fixtures/lamp, BSD-3-Clause)."""
    return FIXTURES / "lamp"


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A random-weight Gemma-3-shaped model saved as a real MLX model folder."""
    from tests.tiny_model import make_tiny_model

    return make_tiny_model(tmp_path_factory.mktemp("tiny-model"))


@pytest.fixture(scope="session")
def tiny_lm(tiny_model_dir):
    from engine.models import load_model

    return load_model(str(tiny_model_dir))


@pytest.fixture(scope="session")
def real_lm():
    """The real bundled Gemma 3 270M base, converted once per run and shared."""
    from engine.models import load_model

    return load_model(None)
