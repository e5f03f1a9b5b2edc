"""Style steering in the residual stream.

vector[L] = mean hidden state after decoder layer L over the persona's
paragraphs  -  the same mean over a neutral reference set. Means are taken over
tokens (the BOS position excluded: its state is huge and content-free), then
over texts. During generation `SteeringTransform` wraps layer L so that its
output gets `strength * vector[L]` added; strength 0 leaves the model untouched.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import mlx.core as mx
import mlx.nn as nn
import numpy as np

DEFAULT_STRENGTH = 2.0  # with the mixed-author reference, tuned on Dickens with the style harness: docs/persona.md
MAX_TOKENS = 128
BATCH = 8


def decoder_layers(model) -> list:
    """The list of decoder blocks of an mlx-lm model (gemma3: language_model.model.layers)."""
    for path in ("layers", "language_model.model.layers", "model.layers"):
        obj = model
        try:
            for part in path.split("."):
                obj = getattr(obj, part)
        except AttributeError:
            continue
        if isinstance(obj, list) and obj:
            return obj
    raise TypeError(f"cannot find the decoder layers of {type(model).__name__}")


def default_layers(model) -> tuple[int, ...]:
    """One layer a little before the middle (layer 8 of Gemma 3 270M's 18)."""
    n = len(decoder_layers(model))
    return (max(0, min(n - 1, round(n * 0.45))),)


class _Capture(nn.Module):
    def __init__(self, inner, sink: list):
        super().__init__()
        self.inner = inner
        self._sink = sink

    def __call__(self, x, *args, **kwargs):
        out = self.inner(x, *args, **kwargs)
        self._sink.append(out)
        return out


class _Steered(nn.Module):
    def __init__(self, inner, delta: mx.array):
        super().__init__()
        self.inner = inner
        self.delta = delta

    def __call__(self, x, *args, **kwargs):
        out = self.inner(x, *args, **kwargs)
        return out + self.delta.astype(out.dtype)


def _wrap(model, index: int, make: Callable) -> Callable[[], None]:
    layers = decoder_layers(model)
    original = layers[index]
    layers[index] = make(original)

    def undo() -> None:
        layers[index] = original

    return undo


def mean_hidden_states(lm, texts: Sequence[str], layers: Sequence[int],
                       max_tokens: int = MAX_TOKENS) -> dict[int, np.ndarray]:
    """Per layer: the mean over texts of the mean over tokens (BOS excluded) of the layer's output."""
    tokenizer = lm.tokenizer
    encoded = [tokenizer.encode(t)[:max_tokens] for t in texts if t.strip()]
    encoded = [ids for ids in encoded if len(ids) >= 2]
    if not encoded:
        raise ValueError("no text to compute hidden states from")
    pad = getattr(tokenizer, "pad_token_id", None) or 0
    sums = {layer: None for layer in layers}
    sinks = {layer: [] for layer in layers}
    with lm.lock:
        undos = [_wrap(lm.model, layer, lambda inner, s=sinks[layer]: _Capture(inner, s))
                 for layer in layers]
        try:
            for start in range(0, len(encoded), BATCH):
                batch = encoded[start : start + BATCH]
                width = max(len(ids) for ids in batch)
                tokens = mx.array([ids + [pad] * (width - len(ids)) for ids in batch])
                # right padding: a causal model's states at real positions are unaffected
                mask = np.zeros((len(batch), width, 1), dtype=np.float32)
                for row, ids in enumerate(batch):
                    mask[row, 1 : len(ids)] = 1.0 / (len(ids) - 1)
                for layer in layers:
                    sinks[layer].clear()
                lm.model(tokens)
                for layer in layers:
                    hidden = sinks[layer][0].astype(mx.float32)
                    per_text = (hidden * mx.array(mask)).sum(axis=1)  # (batch, d)
                    total = per_text.sum(axis=0)
                    mx.eval(total)
                    sums[layer] = total if sums[layer] is None else sums[layer] + total
        finally:
            for undo in reversed(undos):
                undo()
    return {layer: np.array(sums[layer]) / len(encoded) for layer in layers}


def steering_vectors(lm, persona_texts: Sequence[str], neutral_texts: Sequence[str],
                     layers: Sequence[int]) -> dict[int, np.ndarray]:
    persona = mean_hidden_states(lm, persona_texts, layers)
    neutral = mean_hidden_states(lm, neutral_texts, layers)
    return {layer: (persona[layer] - neutral[layer]).astype(np.float32) for layer in layers}


@dataclass(frozen=True, eq=False)
class SteeringTransform:
    """A generator transform: adds strength * vector[L] to the output of each decoder layer L."""

    vectors: dict[int, np.ndarray] = field(hash=False)
    strength: float = DEFAULT_STRENGTH
    key: str = ""

    @property
    def cache_key(self) -> tuple:
        return ("steer", self.key, tuple(sorted(self.vectors)), float(self.strength))

    def apply(self, model) -> Callable[[], None]:
        if self.strength == 0 or not self.vectors:
            return lambda: None
        undos = []
        try:
            for layer, vector in sorted(self.vectors.items()):
                delta = mx.array(np.asarray(vector, dtype=np.float32) * float(self.strength))
                undos.append(_wrap(model, layer, lambda inner, d=delta: _Steered(inner, d)))
        except BaseException:
            for undo in reversed(undos):
                undo()
            raise

        def undo_all() -> None:
            for undo in reversed(undos):
                undo()

        return undo_all

    def scaled(self, strength: float) -> "SteeringTransform":
        return SteeringTransform(self.vectors, strength, self.key)


def pack(vectors: dict[int, np.ndarray], meta: dict) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, layers=np.array(sorted(vectors)), **{f"L{k}": v for k, v in vectors.items()},
             created=np.array(time.time()), **{k: np.array(v) for k, v in meta.items()})
    return buf.getvalue()


def unpack(data: bytes, hidden_size: int | None = None) -> dict[int, np.ndarray] | None:
    """The vectors of a cache entry, or None when it is damaged (not an npz, not 1-D vectors of
    one length, of `hidden_size` when given, or not finite): then they are computed again.
    Never unpickles (np.load's allow_pickle stays False)."""
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            vectors = {int(k): npz[f"L{int(k)}"].astype(np.float32) for k in npz["layers"]}
    except Exception:  # noqa: BLE001 - a damaged cache entry is a cache miss
        return None
    sizes = {v.shape for v in vectors.values()}
    if not vectors or len(sizes) != 1 or len(next(iter(sizes))) != 1:
        return None
    if hidden_size is not None and next(iter(sizes))[0] != hidden_size:
        return None
    if not all(np.isfinite(v).all() for v in vectors.values()):
        return None
    return vectors
