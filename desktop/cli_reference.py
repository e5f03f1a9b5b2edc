"""docs/cli.md: every `killah` command and option, written from the parsers themselves.

    python -m desktop.cli_reference > docs/cli.md

tests/test_docs.py checks that docs/cli.md is current and that every command and
option also appears in README.md or docs/ (sqlite-utils' test_docs manner). Most
commands build their parser inside their `main(argv)`; `parsers()` calls each one
with `--help` while capturing the parser at its `parse_args`, so nothing runs.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import sys
from collections.abc import Iterator
from unittest import mock

from desktop.cli import COMMANDS


class _Captured(Exception):
    def __init__(self, parser: argparse.ArgumentParser) -> None:
        self.parser = parser


def _capture(entry, argv: list[str]) -> argparse.ArgumentParser:
    def parse_args(self, args=None, namespace=None):
        raise _Captured(self)

    with mock.patch.object(argparse.ArgumentParser, "parse_args", parse_args):
        try:
            entry(argv)
        except _Captured as c:
            return c.parser
    raise RuntimeError(f"{entry.__module__}.{entry.__name__} parsed no arguments")


def _walk(name: str, parser: argparse.ArgumentParser,
          ) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield name, parser
        return
    for sub, child in subs[0].choices.items():
        yield from _walk(f"{name} {sub}", child)


def parsers() -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """("killah index add", its parser) for every command and sub-command."""
    for name, (module, func, _) in COMMANDS.items():
        if name == "train":
            from training.cli import STAGES, build_parser

            for stage in [*STAGES, "all"]:
                yield f"killah train {stage}", build_parser(stage)
            continue
        entry = getattr(importlib.import_module(module), func)
        yield from _walk(f"killah {name}", _capture(entry, []))


def options(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [a for a in parser._actions if not isinstance(a, argparse._HelpAction)]


def _names(action: argparse.Action) -> str:
    if action.option_strings:
        names = ", ".join(f"`{s}`" for s in action.option_strings)
        if action.nargs != 0 and not isinstance(action, argparse.BooleanOptionalAction):
            names += f" {action.metavar or action.dest.upper()}"
        return names
    return f"`{action.metavar or action.dest}` (positional)"


def reference() -> str:
    lines = ["# `killah` command reference", "",
             "Written by `python -m desktop.cli_reference > docs/cli.md` from the parsers; "
             "tests/test_docs.py keeps it current. The guides (README.md and the other docs) "
             "say what each command is for.", ""]
    for name, parser in parsers():
        lines += [f"## {name}", ""]
        if parser.description:
            lines += [" ".join(parser.description.split()), ""]
        lines += ["| option | |", "|---|---|"]
        for action in options(parser):
            help_ = " ".join((action.help or "").split()).replace("|", "\\|")
            lines.append(f"| {_names(action)} | {help_} |")
        lines.append("")
    return "\n".join(lines)


def main() -> int:
    with contextlib.redirect_stderr(sys.stderr):
        sys.stdout.write(reference())
    return 0


if __name__ == "__main__":
    sys.exit(main())
