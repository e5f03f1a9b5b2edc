"""The `killah` command line: exact JSON output, --help everywhere, docs coverage."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from desktop.cli import COMMANDS, main

REPO = Path(__file__).resolve().parents[2]


def run(args, **env):
    full_env = dict(os.environ, **env)
    return subprocess.run(
        [sys.executable, "-m", "desktop.cli", *args], capture_output=True, text=True,
        env=full_env, timeout=600,
    )


def test_no_arguments_prints_usage(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    for name in COMMANDS:
        assert f"  {name}" in out


def test_unknown_command_is_refused(capsys):
    assert main(["frobnicate"]) == 2
    assert "unknown command 'frobnicate'" in capsys.readouterr().err


def test_every_command_is_documented_in_the_readme():
    readme = (REPO / "README.md").read_text()
    missing = [name for name in COMMANDS if f"killah {name}" not in readme]
    assert not missing, f"README does not mention: {missing}"


@pytest.mark.parametrize("name", ["models", "generate", "continue", "rephrase"])
def test_engine_commands_have_help(name):
    proc = run([name, "--help"])
    assert proc.returncode == 0, proc.stderr
    assert "usage: killah " + name in proc.stdout


def test_generate_json_on_tiny_model(tiny_model_dir):
    proc = run(["generate", "--prompt", "The quick brown fox", "--model", str(tiny_model_dir),
                "--temperature", "0", "--max-tokens", "7", "--json"])
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["generation_tokens"] == 7
    assert data["finish_reason"] == "length"
    assert isinstance(data["text"], str)


def test_generate_text_matches_library(tiny_model_dir, tiny_lm):
    from engine.generate import SamplingOptions, generate

    expected = generate(tiny_lm, "The quick brown fox",
                        SamplingOptions(temperature=0, max_tokens=7)).text
    proc = run(["generate", "--prompt", "The quick brown fox", "--model", str(tiny_model_dir),
                "--temperature", "0", "--max-tokens", "7", "--json"])
    assert json.loads(proc.stdout)["text"] == expected


def test_rephrase_json_gives_n_candidates(tiny_model_dir):
    proc = run(["rephrase", "A cold wind blew.", "-n", "3", "--model", str(tiny_model_dir),
                "--max-tokens", "5", "--seed", "1", "--json"])
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["original"] == "A cold wind blew."
    assert len(data["candidates"]) == 3


def test_continue_missing_file_is_one_line(tmp_path, tiny_model_dir):
    proc = run(["continue", "--file", str(tmp_path / "nope.txt"), "--model", str(tiny_model_dir)])
    assert proc.returncode == 1
    assert proc.stderr.strip().endswith("nope.txt: no such file")


def test_models_where_json():
    proc = run(["models", "where", "--json"])
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert Path(data["models_dir"]).is_dir()


def test_continue_reads_the_note_the_app_keeps_for_the_file_or_memory(tmp_path, tiny_model_dir):
    """The document's memory reaches `killah continue` as it reaches ghost text."""
    from engine import memory

    story = tmp_path / "story.md"
    story.write_text("The keeper climbed the stairs", encoding="utf-8")
    note = tmp_path / "note.txt"
    note.write_text("Characters: Mara Voss, keeper of the Stroma light.", encoding="utf-8")

    def prompt_tokens(*extra):
        proc = run(["continue", "--file", str(story), "--model", str(tiny_model_dir),
                    "--max-tokens", "2", "--temperature", "0", "--json", *extra])
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)["prompt_tokens"]

    plain = prompt_tokens()
    with_file = prompt_tokens("--memory", str(note))
    assert with_file > plain
    memory.save(story, note.read_text(encoding="utf-8"))
    assert prompt_tokens() == with_file  # the app's note for this document, by default
