"""Every failure of the `killah` command is one line on stderr and a non-zero exit, at once.

Each case runs the real command in a fresh process (python -m desktop.cli), with real
closed file descriptors, pipes and files.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def killah(*args: str, close: tuple[int, ...] = (), stdin=None, stdout=subprocess.PIPE,
           home: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "KILLAH_HOME": str(home), "KILLAH_QUIET": "1"}

    def close_fds() -> None:
        for fd in close:
            os.close(fd)

    return subprocess.run([sys.executable, "-m", "desktop.cli", *args], env=env, cwd=REPO,
                          stdin=stdin, stdout=stdout, stderr=subprocess.PIPE, text=True,
                          preexec_fn=close_fds if close else None, timeout=timeout)


def one_line_error(proc, prefix: str, fragment: str) -> None:
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 1, proc.stderr
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert lines[0].startswith(prefix) and fragment in lines[0], lines[0]


@pytest.mark.parametrize("command, what", [
    (("score", "-"), "text to score"),
    (("generate", "--prompt", "-", "--model", "unused"), "prompt"),
    (("rephrase", "-", "--model", "unused"), "text to rephrase"),
    (("continue", "--file", "-", "--model", "unused"), "text to continue"),
])
def test_dash_arguments_with_stdin_closed(command, what, tmp_path):
    proc = killah(*command, close=(0,), home=tmp_path)
    one_line_error(proc, f"killah {command[0]}: error:",
                   f"cannot read the {what} from standard input: it is closed")


def test_dash_arguments_with_empty_stdin(tmp_path):
    proc = killah("generate", "--prompt", "-", "--model", "unused", stdin=subprocess.DEVNULL,
                  home=tmp_path)
    one_line_error(proc, "killah generate: error:", "the prompt is empty")


def test_index_files_that_are_not_an_index(tmp_path):
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"\x00garbage" * 1000)
    one_line_error(killah("index", "--db", str(junk), "status", home=tmp_path),
                   "killah index: error:", "not a Killah index database")
    foreign = tmp_path / "notes.sqlite"
    with sqlite3.connect(foreign) as con:
        con.execute("CREATE TABLE notes (x)")
    one_line_error(killah("index", "--db", str(foreign), "search", "x", home=tmp_path),
                   "killah index: error:", "not a Killah index database")
    proc = killah("index", "--db", str(tmp_path / "missing" / "dir" / "x.sqlite"), "status",
                  home=tmp_path)
    one_line_error(proc, "killah index: error:", "does not exist")
    assert not (tmp_path / "missing").exists()


def test_k_overflow_is_a_usage_error(tmp_path):
    proc = killah("index", "search", "-k", str(10**30), "word", home=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].endswith("is out of range (1 to 1000)")


def test_rephrase_n_is_bounded_before_any_model_loads(tmp_path):
    start = time.monotonic()
    proc = killah("rephrase", "a cold wind", "-n", "1000", "--model", "unused", home=tmp_path)
    assert proc.returncode == 2 and "out of range (1 to 64)" in proc.stderr
    assert time.monotonic() - start < 60


def test_stdout_closed(tmp_path):
    proc = killah("index", "status", close=(1,), stdout=None, home=tmp_path)
    one_line_error(proc, "killah index: error:", "standard output is closed")


def test_broken_pipe(tmp_path):
    read_end, write_end = os.pipe()
    os.close(read_end)  # nobody will read: the first write fails with EPIPE
    try:
        proc = killah("index", "status", "--json", stdout=write_end, home=tmp_path)
    finally:
        os.close(write_end)
    one_line_error(proc, "killah index: error:", "broken pipe")


def test_persona_create_on_a_missing_folder_fails(tmp_path):
    proc = killah("persona", "create", "mine", "--folder", str(tmp_path / "nonexistent"),
                  home=tmp_path)
    one_line_error(proc, "killah persona: error:", "not a folder")


def test_eval_style_refuses_a_missing_adapter_at_once(tmp_path):
    """Regression (issue 17.9): it ran for five minutes and exited 0."""
    start = time.monotonic()
    proc = killah("eval", "style", "--author-dir", str(tmp_path),
                  "--conditions", "base,lora:/nonexistent", home=tmp_path)
    assert time.monotonic() - start < 60
    one_line_error(proc, "killah eval style: error:", "lora:/nonexistent: no adapter folder")


def test_a_folder_given_as_the_index_file(tmp_path):
    proc = killah("index", "--db", str(tmp_path), "status", home=tmp_path)
    one_line_error(proc, "killah index: error:", "not a file")


def test_anything_unexpected_still_reaches_the_user_as_one_line(capsys, monkeypatch):
    """The last line of defence in run_guarded: a bug is one line, the traceback on request."""
    from engine.clikit import run_guarded

    def buggy(argv):
        return {}["missing"]

    assert run_guarded("killah x", buggy, []) == 1
    err = capsys.readouterr().err
    assert err == ("killah x: internal error: KeyError: 'missing' "
                   "(set KILLAH_DEBUG=1 for the traceback)\n")
    monkeypatch.setenv("KILLAH_DEBUG", "1")
    assert run_guarded("killah x", buggy, []) == 1
    assert "Traceback" in capsys.readouterr().err


def test_a_prompt_past_the_context_is_one_line(tmp_path, tiny_model_dir):
    """Regression (issue 17.6): a 200k-character prompt ran on with no warning."""
    prompt = tmp_path / "long.txt"
    prompt.write_text("word " * 40_000)
    with open(prompt) as stdin:
        proc = killah("generate", "--prompt", "-", "--model", str(tiny_model_dir),
                      "--max-tokens", "4", stdin=stdin, home=tmp_path)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr  # progress lines, then:
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("killah generate: error: the prompt is 160,001 tokens"), last
