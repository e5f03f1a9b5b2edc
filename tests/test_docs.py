"""Every `killah` command and option is documented (sqlite-utils' test_docs manner).

docs/cli.md is written from the parsers (`python -m desktop.cli_reference`) and must be
current; every command must also be named in a guide (README.md or another docs/ page).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from desktop import cli_reference

REPO = Path(__file__).resolve().parents[1]
REFERENCE = REPO / "docs" / "cli.md"


@pytest.fixture(scope="module")
def commands():
    return list(cli_reference.parsers())


def _guides() -> str:
    pages = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
    return "\n".join(p.read_text("utf-8") for p in pages if p != REFERENCE).replace("\\|", "|")


def _mentioned(text: str) -> set[str]:
    """'killah index add|sync' in a guide names both sub-commands."""
    out = set()
    for command, subs in re.findall(r"killah ([a-z]+)(?: ([a-z]+(?:\|[a-z]+)*))?", text):
        out.add(f"killah {command}")
        out.update(f"killah {command} {s}" for s in subs.split("|") if s)
    return out


def test_the_command_reference_is_current():
    assert REFERENCE.read_text("utf-8") == cli_reference.reference(), (
        "docs/cli.md is stale: run `python -m desktop.cli_reference > docs/cli.md`")


def test_every_command_is_named_in_a_guide(commands):
    mentioned = _mentioned(_guides())
    missing = [name for name, _ in commands if name not in mentioned]
    assert not missing, f"commands no guide mentions: {missing}"


def test_every_option_is_in_the_reference_with_its_help(commands):
    reference = REFERENCE.read_text("utf-8")
    for name, parser in commands:
        section = reference.split(f"\n## {name}\n", 1)[1].split("\n## ", 1)[0]
        for action in cli_reference.options(parser):
            for flag in action.option_strings:
                assert f"`{flag}`" in section, f"{name}: {flag} is not in docs/cli.md"
            assert action.help or action.option_strings in (["--json"],), (
                f"{name}: {action.option_strings or action.dest} has no help text")
