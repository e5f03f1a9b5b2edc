"""The WQRM's reader: the bundled all-MiniLM-L6-v2 run in MLX, pooled per layer.

    features(text) = concat over layers l in LAYERS of
                     [mean_t h_l(t) ; max_t h_l(t) ; std_t h_l(t)]

where h_l(t) is the hidden state of token t after layer l (0 = the embeddings),
over the text's word pieces (at most MAX_TOKENS). The states are contextual, so the
order of the words changes them: a shuffled sentence, doubled words or a foreign
script give states unlike prose, and the max/std pooling keeps such outliers that a
mean would average away.

Only the first max(layers) layers are run, so a scorer that reads layer 3 costs
half of the full model.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

MAX_TOKENS = 384
_lock = threading.Lock()


def _model_dir() -> str:
    from engine.embeddings import embedder_path

    return embedder_path(None)


@lru_cache(maxsize=1)
def _load():
    import mlx.core as mx
    from mlx import nn
    from tokenizers import Tokenizer

    class Layer(nn.Module):
        def __init__(self, d: int, heads: int, ff: int, eps: float):
            super().__init__()
            self.heads = heads
            self.q, self.k, self.v, self.o = (nn.Linear(d, d) for _ in range(4))
            self.ln1, self.ln2 = nn.LayerNorm(d, eps=eps), nn.LayerNorm(d, eps=eps)
            self.f1, self.f2 = nn.Linear(d, ff), nn.Linear(ff, d)

        def __call__(self, x, mask):
            b, n, d = x.shape

            def split(t):
                return t.reshape(b, n, self.heads, d // self.heads).transpose(0, 2, 1, 3)

            a = mx.fast.scaled_dot_product_attention(
                split(self.q(x)), split(self.k(x)), split(self.v(x)),
                scale=1.0 / math.sqrt(d // self.heads), mask=mask,
            )
            x = self.ln1(x + self.o(a.transpose(0, 2, 1, 3).reshape(b, n, d)))
            return self.ln2(x + self.f2(nn.gelu(self.f1(x))))

    class Bert(nn.Module):
        def __init__(self, c: dict):
            super().__init__()
            d, eps = c["hidden_size"], c["layer_norm_eps"]
            self.we = nn.Embedding(c["vocab_size"], d)
            self.pe = nn.Embedding(c["max_position_embeddings"], d)
            self.te = nn.Embedding(c["type_vocab_size"], d)
            self.ln = nn.LayerNorm(d, eps=eps)
            self.layers = [
                Layer(d, c["num_attention_heads"], c["intermediate_size"], eps)
                for _ in range(c["num_hidden_layers"])
            ]

        def __call__(self, ids, attention, upto: int):
            n = ids.shape[1]
            x = self.ln(self.we(ids) + self.pe(mx.arange(n))[None] + self.te(mx.zeros_like(ids)))
            mask = mx.where(attention[:, None, None, :] > 0, 0.0, -1e9).astype(x.dtype)
            states = [x]
            for layer in self.layers[:upto]:
                x = layer(x, mask)
                states.append(x)
            return states

    names = {
        "embeddings.word_embeddings": "we", "embeddings.position_embeddings": "pe",
        "embeddings.token_type_embeddings": "te", "embeddings.LayerNorm": "ln",
        "encoder.layer.": "layers.", "attention.self.query": "q", "attention.self.key": "k",
        "attention.self.value": "v", "attention.output.dense": "o",
        "attention.output.LayerNorm": "ln1", "intermediate.dense": "f1",
        "output.dense": "f2", "output.LayerNorm": "ln2",
    }
    folder = _model_dir()
    with open(f"{folder}/config.json", encoding="utf-8") as f:
        model = Bert(json.load(f))
    weights = []
    for key, value in mx.load(f"{folder}/model.safetensors").items():
        if key.startswith("pooler") or key.endswith("position_ids"):
            continue
        for old, new in names.items():
            key = key.replace(old, new)
        weights.append((key, value))
    model.load_weights(weights)
    model.eval()
    tokenizer = Tokenizer.from_file(f"{folder}/tokenizer.json")
    tokenizer.enable_truncation(MAX_TOKENS)
    tokenizer.no_padding()
    return model, tokenizer


def pooled(texts: Sequence[str], layers: Sequence[int], batch_tokens: int = 4096) -> np.ndarray:
    """(n, 3 * 384 * len(layers)) float32: mean, max and std of each layer's token states."""
    import mlx.core as mx

    model, tokenizer = _load()
    encs = tokenizer.encode_batch(list(texts))
    upto = max(layers)
    out: list[np.ndarray | None] = [None] * len(encs)
    order = sorted(range(len(encs)), key=lambda i: len(encs[i].ids))
    with _lock:
        start = 0
        while start < len(order):
            longest = len(encs[order[min(len(order) - 1, start)]].ids)
            size = max(1, batch_tokens // max(1, longest))
            idx = order[start : start + size]
            longest = max(len(encs[i].ids) for i in idx)
            ids = np.zeros((len(idx), longest), dtype=np.int32)
            att = np.zeros((len(idx), longest), dtype=np.float32)
            for r, i in enumerate(idx):
                ids[r, : len(encs[i].ids)] = encs[i].ids
                att[r, : len(encs[i].ids)] = 1.0
            states = model(mx.array(ids), mx.array(att), upto)
            m = mx.array(att)[:, :, None]
            count = mx.sum(m, axis=1)
            parts = []
            for layer in layers:
                h = states[layer]
                mean = mx.sum(h * m, axis=1) / count
                var = mx.sum(((h - mean[:, None, :]) * m) ** 2, axis=1) / count
                parts += [mean, mx.max(mx.where(m > 0, h, -1e4), axis=1), mx.sqrt(var + 1e-6)]
            rows = np.array(mx.concatenate(parts, axis=1), dtype=np.float32)
            for r, i in enumerate(idx):
                out[i] = rows[r]
            start += len(idx)
    return np.stack(out) if out else np.zeros((0, 3 * 384 * len(layers)), dtype=np.float32)
