"""Killah stands on its own: nothing in the checkout points outside it.

The run-time half is the audit hook in tests/conftest.py (every file the test
process opens or lists); these are the static half: path constants in the code,
`parents[k]` climbs above the checkout, and links in the docs.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

import pytest

from tests.conftest import REPO, outside_the_checkout

CODE_DIRS = ("engine", "training", "desktop", "bench", "scripts", "resources", "tests")
_PARENTS = re.compile(r"__file__\)?(?:\.resolve\(\))?\.parents\[(\d+)\]")
_PARENT_CHAIN = re.compile(r"__file__\)?(?:\.resolve\(\))?((?:\.parent)+)\b")
_SIBLING = re.compile(r"""["'](?:\.\./)+shared|/\s*["']shared["']|\.\./shared""")


def _python_files() -> list[Path]:
    files = [REPO / "build_app.py"]
    for d in CODE_DIRS:
        files += sorted((REPO / d).rglob("*.py"))
    return [f for f in files if ".venv" not in f.parts and f.name != "test_standalone.py"]


def climbs_out(path: Path, source: str) -> list[str]:
    """`Path(__file__).parents[k]` / `.parent` chains that leave the checkout from `path`."""
    depth = len(path.relative_to(REPO).parts) - 1  # parents[depth] is the checkout's root
    out = []
    for m in _PARENTS.finditer(source):
        if int(m.group(1)) > depth:
            out.append(m.group(0))
    for m in _PARENT_CHAIN.finditer(source):
        if m.group(1).count(".parent") - 1 > depth:
            out.append(m.group(0))
    return out


def test_no_code_climbs_above_the_checkout():
    bad = {}
    for f in _python_files():
        source = f.read_text("utf-8")
        hits = climbs_out(f, source) + _SIBLING.findall(source)
        if hits:
            bad[str(f.relative_to(REPO))] = hits
    assert not bad, f"paths that leave the checkout: {bad}"


def test_the_climb_check_catches_what_it_should():
    runner = REPO / "training" / "evaluation" / "runner.py"
    assert climbs_out(runner, 'Path(__file__).resolve().parents[3] / "elsewhere"')
    assert not climbs_out(runner, "Path(__file__).resolve().parents[2] / 'resources'")
    assert climbs_out(REPO / "bench" / "x.py", "Path(__file__).resolve().parent.parent.parent")
    sibling = "shared"  # the development machine's folder beside the checkout
    assert _SIBLING.findall(f'CORPORA = ROOT / "{sibling}" / "data"')
    beside = frozenset({sibling, "other-clone"})
    assert outside_the_checkout(str(REPO.parent / sibling / "data" / "x.txt"), beside)
    assert outside_the_checkout(str(REPO / ".." / "other-clone" / "a.txt"), beside)
    assert not outside_the_checkout(str(REPO / "resources" / "reference"), beside)
    assert not outside_the_checkout(str(REPO.parent / "made-during-the-run" / "x"), beside)


def _modules() -> list[str]:
    names = []
    for pkg in ("engine", "training", "desktop"):
        mod = importlib.import_module(pkg)
        names.append(pkg)
        names += [m.name for m in pkgutil.walk_packages(mod.__path__, f"{pkg}.")]
    return names


def test_path_constants_of_every_module_stay_in_the_checkout():
    """Module-level Path (or absolute path string) constants point inside the checkout."""
    bad = {}
    for name in _modules():
        if name.endswith("__main__"):
            continue
        module = importlib.import_module(name)
        for attr, value in vars(module).items():
            is_path = isinstance(value, Path) or (isinstance(value, str) and value.startswith("/"))
            if is_path and outside_the_checkout(str(value)):
                bad[f"{name}.{attr}"] = str(value)
    assert not bad, bad


_LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def _docs() -> list[Path]:
    return [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]


@pytest.mark.parametrize("doc", _docs(), ids=lambda p: str(p.relative_to(REPO)))
def test_doc_links_stay_in_the_repository_and_resolve(doc):
    text = doc.read_text("utf-8")
    bad = []
    for target in _LINK.findall(text):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue  # a web address or an anchor
        path = (doc.parent / target.split("#")[0]).resolve()
        if not path.is_relative_to(REPO) or not path.exists():
            bad.append(target)
    assert not bad, f"{doc.name}: links outside the repository or to nothing: {bad}"


def test_docs_show_no_development_machine_paths():
    pattern = re.compile(r"/work/|\.\./shared|/home/\w+|/Users/\w+|/root/")
    bad = {str(d.relative_to(REPO)): pattern.findall(d.read_text("utf-8")) for d in _docs()}
    assert not {k: v for k, v in bad.items() if v}, bad
