"""Shared command-line manners: --json output, one-line errors, progress on stderr.

Every command that prints results also takes --json: then exactly one JSON
document goes to stdout, and progress bars and logs go to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Callable


def add_output_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--json", action="store_true", help="print one JSON document on stdout (logs go to stderr)"
    )


def emit(args: argparse.Namespace, data: Any, human: Callable[[Any], str] | None = None) -> None:
    """Print `data` as JSON (with --json) or as the human rendering."""
    if getattr(args, "json", False):
        json.dump(data, sys.stdout, ensure_ascii=False, indent=2, default=_default)
        sys.stdout.write("\n")
    else:
        text = human(data) if human else json.dumps(data, ensure_ascii=False, indent=2, default=_default)
        if text:
            print(text)
    sys.stdout.flush()


def _default(obj: Any) -> Any:
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if hasattr(obj, "__fspath__"):
        return str(obj)
    if hasattr(obj, "__dataclass_fields__"):
        import dataclasses

        return dataclasses.asdict(obj)
    raise TypeError(f"cannot serialise {type(obj).__name__}")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def progress_bar(total: int | None, desc: str, unit: str = "it"):
    """A tqdm bar on stderr (quiet when stderr is not a terminal and KILLAH_QUIET is set)."""
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, dynamic_ncols=True,
                disable=None if not _quiet() else True)


def _quiet() -> bool:
    import os

    return bool(os.environ.get("KILLAH_QUIET"))
