"""Shared command-line manners: --json output, one-line errors, progress on stderr.

Every command that prints results also takes --json: then exactly one JSON
document goes to stdout, and progress bars and logs go to stderr.

`run_guarded` is the one top-level error path: whatever a command raises reaches
the user as one line on stderr and a non-zero exit status (KillahError: its
message; a closed or broken standard stream; an OS error; anything else as an
internal error, with the traceback only when KILLAH_DEBUG is set).
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import sys
from collections.abc import Callable
from typing import Any

from engine.errors import KillahError

MAX_INPUT_BYTES = 20 * 1024 * 1024  # text read from stdin or a file by a command


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
        text = (human(data) if human
                else json.dumps(data, ensure_ascii=False, indent=2, default=_default))
        if text:
            print(text)
    sys.stdout.flush()


def one_line(text: Any) -> str:
    """`text` with control characters (a newline in a file name...) escaped, for one-line output."""
    text = str(text)
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


def bounded_int(low: int, high: int) -> Callable[[str], int]:
    """An argparse `type` for an integer in low..high, refused with a one-line usage error."""

    def parse(value: str) -> int:
        try:
            n = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
        if not low <= n <= high:
            raise argparse.ArgumentTypeError(f"{n} is out of range ({low} to {high})")
        return n

    parse.__name__ = "integer"
    return parse


def read_input(source: str, what: str = "input") -> str:
    """Text from a file, or from standard input when `source` is '-', as UTF-8 (a BOM is
    dropped), at most MAX_INPUT_BYTES; every failure is a KillahError naming `what`."""
    if source == "-":
        if sys.stdin is None or isinstance(sys.stdin, _Closed):
            raise KillahError(f"cannot read the {what} from standard input: it is closed")
        stream = getattr(sys.stdin, "buffer", None)
        try:
            if stream is not None:
                data = stream.read(MAX_INPUT_BYTES + 1)
            else:  # a text stream standing in for stdin
                data = sys.stdin.read(MAX_INPUT_BYTES + 1).encode("utf-8")
        except (OSError, ValueError) as e:
            raise KillahError(f"cannot read the {what} from standard input: "
                              f"{getattr(e, 'strerror', None) or e}") from None
        name = "standard input"
    else:
        from pathlib import Path

        path = Path(source).expanduser()
        try:
            if not path.is_file():
                raise KillahError(f"{source}: no such file" if not path.exists()
                                  else f"{source}: not a regular file")
            with open(path, "rb") as f:
                data = f.read(MAX_INPUT_BYTES + 1)
        except OSError as e:
            raise KillahError(f"cannot read {source}: {e.strerror or e}") from None
        name = source
    if len(data) > MAX_INPUT_BYTES:
        raise KillahError(f"the {what} in {name} is over {MAX_INPUT_BYTES // 2**20} MiB")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise KillahError(f"the {what} in {name} is not UTF-8 text "
                          f"({e.reason} at byte {e.start})") from None


class _Closed:
    """Stands in for a standard stream whose file descriptor was closed (sys.std* is None)."""

    def __init__(self, name: str):
        self.name = name

    def _fail(self, *_a, **_k):
        raise KillahError(f"standard {self.name} is closed")

    write = read = readline = _fail
    buffer = None

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


def run_guarded(prog: str, entry: Callable[[list[str]], int | None], argv: list[str]) -> int:
    """Run a command's `main(argv)`; every failure becomes one line on stderr and an exit code."""
    for name in ("stdin", "stdout"):
        if getattr(sys, name) is None:
            setattr(sys, name, _Closed({"stdin": "input", "stdout": "output"}[name]))
    try:
        code = int(entry(argv) or 0)
        sys.stdout.flush()  # a broken pipe shows here, not at interpreter exit
        return code
    except KillahError as e:
        return _fail(prog, f"error: {one_line(e)}", 1)
    except KeyboardInterrupt:
        return _fail(prog, "interrupted", 130)
    except BrokenPipeError:
        _silence_stdout()
        return _fail(prog, "error: the output was closed before everything was written "
                           "(broken pipe)", 1)
    except MemoryError:
        return _fail(prog, "error: out of memory", 1)
    except OSError as e:
        if e.errno == errno.EBADF:
            return _fail(prog, "error: a standard stream is closed", 1)
        where = f": {e.filename}" if getattr(e, "filename", None) else ""
        return _fail(prog, f"error: {e.strerror or e}{where}", 1)
    except Exception as e:  # noqa: BLE001 - the last line of defence
        if os.environ.get("KILLAH_DEBUG"):
            import traceback

            traceback.print_exc()
        return _fail(prog, f"internal error: {type(e).__name__}: {one_line(e)[:300]} "
                           "(set KILLAH_DEBUG=1 for the traceback)", 1)


def _fail(prog: str, message: str, code: int) -> int:
    try:
        print(f"{prog}: {message}", file=sys.stderr, flush=True)
    except (OSError, ValueError, AttributeError):  # stderr closed too: the exit code speaks
        pass
    return code


def _silence_stdout() -> None:
    """After a broken pipe, point stdout at /dev/null so the interpreter's last flush is quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


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


def log_progress(p) -> None:
    """An engine.progress callback that logs each event's message (or stage) as one line."""
    count = f" {p.done}/{p.total}" if p.done is not None and p.total else ""
    log(f"{p.message or p.stage}{count}")


def progress_bar(total: int | None, desc: str, unit: str = "it"):
    """A tqdm bar on stderr (quiet when stderr is not a terminal and KILLAH_QUIET is set)."""
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, dynamic_ncols=True,
                disable=None if not _quiet() else True)


def _quiet() -> bool:
    import os

    return bool(os.environ.get("KILLAH_QUIET"))
