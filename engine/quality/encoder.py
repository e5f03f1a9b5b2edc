"""The WQRM's reader: the bundled all-MiniLM-L6-v2 (engine.encoders, MLX), pooled per layer.

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

from collections.abc import Sequence

import numpy as np

MAX_TOKENS = 384


def pooled(texts: Sequence[str], layers: Sequence[int], batch_tokens: int = 4096) -> np.ndarray:
    """(n, 3 * 384 * len(layers)) float32: mean, max and std of each layer's token states."""
    import mlx.core as mx

    from engine.encoders.encoder import MINILM, load

    enc = load(MINILM)
    dim = enc.dim
    texts = list(texts)
    if not texts:
        return np.zeros((0, 3 * dim * len(layers)), dtype=np.float32)
    pieces = enc.tokenizer.encode_batch(texts, add_special_tokens=False)
    ids = [[enc.bos, *p.ids[: MAX_TOKENS - 2], enc.eos] for p in pieces]
    upto = max(layers)
    out: list[np.ndarray | None] = [None] * len(ids)
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    with enc.lock:
        start = 0
        while start < len(order):
            size = max(1, batch_tokens // len(ids[order[start]]))
            idx = order[start : start + size]
            tokens, mask = enc.batch([ids[i] for i in idx])
            x = enc.model.embeddings(tokens)
            bias = (
                None
                if mask.all().item()
                else ((1.0 - mask.astype(x.dtype)) * -1e9)[:, None, None, :]
            )
            states = [x]
            for layer in enc.model.layers[:upto]:
                x = layer(x, bias)
                states.append(x)
            m = mask.astype(mx.float32)[:, :, None]
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
    return np.stack(out)
