"""The shipped reference authors: attributed, intact, enough for the harness, and rebuildable."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

from tests.conftest import REFERENCE, REPO
from training.evaluation.judge import JudgeConfig, author_passages, split_works
from training.evaluation.reference import LANGS, reference_authors

MANIFEST = json.loads((REFERENCE / "manifest.json").read_text("utf-8"))
HELD_OUT_AUTHORS = {"conrad", "bronte_charlotte", "gorky"}  # final reporting only: never shipped


def test_every_file_is_listed_with_its_source_and_hash():
    files = sorted(str(p.relative_to(REFERENCE)) for p in REFERENCE.glob("*/*/*.txt"))
    assert files == sorted(r["path"] for r in MANIFEST)
    sources = (REFERENCE / "SOURCES.md").read_text("utf-8")
    for row in MANIFEST:
        body = (REFERENCE / row["path"]).read_bytes()
        assert hashlib.sha256(body).hexdigest() == row["sha256"], row["path"]
        assert row["source"].startswith("github:") and len(row["commit"]) == 40
        assert "public domain" in row["license"]
        assert f"`{row['path']}`" in sources
        assert 0 < row["words"] <= row["work_words"]


def test_the_authors_and_their_held_out_passages():
    config = JudgeConfig()
    names = set()
    for lang in LANGS:
        for name, folder in reference_authors(lang).items():
            names.add(name)
            split = split_works(folder, config)
            assert split.train and split.test, name
            # `killah eval style --author-dir NAME -n 20` has 20 held-out passages to restyle
            assert len(author_passages(split, "test", config)) >= 20, name
    assert len(names) == 17 and not names & HELD_OUT_AUTHORS


def test_make_sample_rebuilds_a_data_folder_and_says_what_is_missing(tmp_path):
    data = tmp_path / "data"
    rows = []
    for author, works in {"alpha": {"one": 6000, "two": 2000}, "beta": {"three": 4000}}.items():
        for work, words in works.items():
            path = data / "corpora" / "en" / author / f"{work}.txt"
            path.parent.mkdir(parents=True, exist_ok=True)
            paras = [f"Paragraph {i} of {work} by {author} goes on for a while here. " * 3
                     for i in range(words // 36)]
            path.write_text("\n\n".join(paras), "utf-8")
            rows.append({"path": f"corpora/en/{author}/{work}.txt", "title": work.title(),
                         "source": "github:example/texts", "src_path": f"{work}.txt",
                         "commit": "0" * 40, "license": "public domain"})
    (data / "corpora" / "ru").mkdir()
    (data / "MANIFEST.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), "utf-8")
    out = tmp_path / "out"
    script = REPO / "resources" / "reference" / "make_sample.py"
    run = [sys.executable, str(script), str(data), "--words", "2000", "--out", str(out)]
    proc = subprocess.run(run, capture_output=True, text=True, check=False, timeout=300)
    assert proc.returncode == 0, proc.stderr
    manifest = {r["path"]: r for r in json.loads((out / "manifest.json").read_text("utf-8"))}
    assert set(manifest) == {"en/alpha/one.txt", "en/alpha/two.txt", "en/beta/three.txt"}
    alpha = manifest["en/alpha/one.txt"]["words"] + manifest["en/alpha/two.txt"]["words"]
    assert 1800 <= alpha <= 2600  # about --words per author
    assert manifest["en/alpha/one.txt"]["words"] > 2 * manifest["en/alpha/two.txt"]["words"]
    assert "Two" in (out / "SOURCES.md").read_text("utf-8")
    first = (out / "en/alpha/one.txt").read_text("utf-8")
    again = subprocess.run(run, capture_output=True, text=True, check=False, timeout=300)
    assert again.returncode == 0 and (out / "en/alpha/one.txt").read_text("utf-8") == first

    missing = subprocess.run([sys.executable, str(script), str(tmp_path / "nowhere")],
                             capture_output=True, text=True, check=False, timeout=300)
    assert missing.returncode != 0
    said = (f"make_sample: {tmp_path / 'nowhere'} has no corpora/ and MANIFEST.jsonl "
            "(give the development data folder)")
    assert missing.stderr.strip().splitlines() == [said]
