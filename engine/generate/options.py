"""What one generation is asked for (`SamplingOptions`) and the sampler built from it.

Samplers are mlx-lm's filters (top-p, min-p, top-k, in mlx-lm's order) with two
changes: each sequence draws from its own random key stream, so per-candidate
seeds mean something in a batch, and a mask keeps tokens that must never be
written (special and markup tokens) out of every draw. The key stream splits
exactly as MLX's global generator does, so a seeded stream samples the same
tokens as `mx.random.seed(s)` + mlx-lm's `make_sampler`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from typing import Protocol

import mlx.core as mx

from engine.progress import CancelToken  # noqa: F401 - re-exported: the one cancel token

Sampler = Callable[[mx.array], mx.array]


@dataclass(frozen=True)
class SamplingOptions:
    temperature: float = field(default=0.8, metadata={"help": "randomness; 0 = greedy"})
    top_p: float = field(default=1.0, metadata={"help": "nucleus sampling mass (1 = off)"})
    min_p: float = field(
        default=0.05,
        metadata={"help": "drop tokens below min_p x the top token's probability (0 = off)"},
    )
    top_k: int = field(default=0, metadata={"help": "keep only the k most likely tokens (0 = off)"})
    repetition_penalty: float = field(
        default=1.1, metadata={"help": "penalty for recently used tokens (1 = off)"}
    )
    repetition_context_size: int = field(
        default=64, metadata={"help": "how many recent tokens the repetition penalty sees"}
    )
    max_tokens: int = field(default=200, metadata={"help": "the most tokens to generate"})
    seed: int | None = field(default=None, metadata={"help": "random seed for reproducible output"})
    stop: tuple[str, ...] = field(default=(), metadata={"help": "strings that end the generation"})
    antislop: bool = field(
        default=False,
        metadata={"help": "when a stock phrase from the antislop list is written, go back "
                          "and write something else"},
    )

    def __post_init__(self):
        if self.max_tokens < 1:
            raise ValueError(f"max_tokens must be >= 1, got {self.max_tokens}")
        if self.temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {self.temperature}")
        if not 0 <= self.min_p < 1 or not 0 < self.top_p <= 1:
            raise ValueError(
                f"min_p must be in [0, 1) and top_p in (0, 1], got {self.min_p}, {self.top_p}"
            )
        if self.top_k < 0:
            raise ValueError(f"top_k must be >= 0, got {self.top_k}")
        object.__setattr__(self, "stop", tuple(self.stop))

    def replace(self, **changes) -> SamplingOptions:
        return replace(self, **changes)

    @classmethod
    def from_dict(cls, d: dict) -> SamplingOptions:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})

    def make_sampler(self, seed: int | None = None, mask: mx.array | None = None) -> Sampler:
        """A sampler over log-probabilities (shape (1, vocab)) with its own key stream.

        `seed` starts the stream (None: drawn from MLX's global generator); `mask` is
        added to the log-probabilities first (-inf for tokens never to be drawn).
        """
        from mlx_lm.sample_utils import apply_min_p, apply_top_k, apply_top_p

        if self.temperature == 0:
            return _greedy(mask)
        filters = []
        if self.top_p < 1.0:
            filters.append(lambda x: apply_top_p(x, self.top_p))
        if self.min_p > 0.0:
            filters.append(lambda x: apply_min_p(x, self.min_p))
        if self.top_k > 0:
            filters.append(lambda x: apply_top_k(x, self.top_k))
        if seed is None:
            seed = int(mx.random.randint(0, 2**31 - 1, ()).item())
        key = mx.random.key(seed)
        inv_temp = 1.0 / self.temperature

        def sampler(logprobs: mx.array) -> mx.array:
            nonlocal key
            if mask is not None:
                logprobs = logprobs + mask
            for f in filters:
                logprobs = f(logprobs)
            pair = mx.random.split(key)
            key = pair[0]
            return mx.random.categorical(logprobs * inv_temp, key=pair[1])

        return sampler

    def make_logits_processors(self) -> list:
        from mlx_lm.sample_utils import make_logits_processors

        if self.repetition_penalty == 1.0:
            return []
        return make_logits_processors(
            repetition_penalty=self.repetition_penalty,
            repetition_context_size=self.repetition_context_size,
        )


def _greedy(mask: mx.array | None) -> Sampler:
    if mask is None:
        return lambda logprobs: mx.argmax(logprobs, axis=-1)
    return lambda logprobs: mx.argmax(logprobs + mask, axis=-1)


def per_sequence(options, n: int) -> list[SamplingOptions]:
    """One SamplingOptions per sequence: one for all, or exactly n of them."""
    if options is None:
        return [SamplingOptions()] * n
    if isinstance(options, SamplingOptions):
        return [options] * n
    options = list(options)
    if len(options) != n:
        raise ValueError(f"got {len(options)} SamplingOptions for {n} candidates")
    return options


class Transform(Protocol):
    """A change to the model for one generation call (adapter stack, steering...)."""

    def apply(self, model) -> Callable[[], None]: ...
