"""KV caches: the reusable prompt cache, prefill, copies, rewinds, and one call's session.

The prompt cache is keyed by the active transforms, because a cache computed
under one adapter or steering vector is wrong under another.

Rewinding (antislop) trims the cache when every layer can be trimmed. Gemma 3's
local layers keep a rotating window (512 tokens in the 270M model); once a
sequence is longer than the window their oldest entries are overwritten and
cannot be trimmed back, so the cache is restored from a snapshot taken after the
prompt and the kept tokens are fed again.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

import mlx.core as mx

# Snapshot a little before the end of the prompt: typing at the end of a document
# often re-tokenises the last word, and sliding-window caches cannot be trimmed.
CACHE_SLACK_TOKENS = 16


def copy_cache(cache: list) -> list:
    """An independent copy of a KV cache (mlx arrays are rebound, never shared)."""
    out = []
    for c in cache:
        n = type(c).__new__(type(c))
        for k, v in c.__dict__.items():
            n.__dict__[k] = mx.array(v) if isinstance(v, mx.array) else v
        out.append(n)
    return out


@dataclass
class PromptCache:
    """The KV cache of the last prompt (all but its final token), to reuse its prefix."""

    key: tuple = ()
    tokens: list[int] = field(default_factory=list)
    cache: list | None = None
    thread: object = None  # MLX arrays belong to the stream of the thread that made them


_local = threading.local()


def _thread_token() -> object:
    """This thread's own token (thread ids are reused once a thread ends; tokens are not)."""
    token = getattr(_local, "token", None)
    if token is None:
        token = _local.token = object()
    return token


def prefill(lm, ids: list[int], key: tuple, reuse: bool) -> tuple[list, int]:
    """A KV cache holding ids[:-1], reusing the longest cached prefix. Returns (cache, reused)."""
    from mlx_lm.models.cache import can_trim_prompt_cache, make_prompt_cache, trim_prompt_cache

    model = lm.model
    target = ids[:-1]
    stored: PromptCache | None = lm.prompt_cache if reuse else None
    cache, start = None, 0
    if (stored is not None and stored.cache is not None and stored.key == key
            and stored.thread is _thread_token()):
        common = 0
        for a, b in zip(stored.tokens, target):
            if a != b:
                break
            common += 1
        extra = len(stored.tokens) - common
        if common and extra == 0:
            cache, start = copy_cache(stored.cache), common
        elif common and can_trim_prompt_cache(stored.cache):
            cache = copy_cache(stored.cache)
            trim_prompt_cache(cache, extra)
            start = common
    if cache is None:
        cache = make_prompt_cache(model)
    cut = max(start, len(target) - CACHE_SLACK_TOKENS) if reuse else len(target)
    feed(model, cache, target[start:cut])
    if reuse:
        lm.prompt_cache = PromptCache(key=key, tokens=list(target[:cut]), cache=copy_cache(cache),
                                      thread=_thread_token())
    feed(model, cache, target[cut:])
    return cache, start


def feed(model, cache: list, tokens: list[int], step: int = 512) -> None:
    for i in range(0, len(tokens), step):
        model(mx.array(tokens[i : i + step])[None], cache=cache)
        mx.eval([c.state for c in cache])


def trim_to(cache: list, length: int) -> bool:
    """Trim a cache back to `length` tokens in place; False when it cannot be trimmed."""
    from mlx_lm.models.cache import can_trim_prompt_cache, trim_prompt_cache

    extra = cache[0].offset - length
    if extra < 0 or (extra and not can_trim_prompt_cache(cache)):
        return False
    if extra:
        trim_prompt_cache(cache, extra)
    return True


@contextlib.contextmanager
def applied(model, transforms: Sequence):
    undos = []
    try:
        for t in transforms:
            undos.append(t.apply(model))
        yield
    finally:
        for undo in reversed(undos):
            undo()


@contextlib.contextmanager
def session(lm, transforms: Sequence, seed: int | None):
    """One generation call: the model to itself, the transforms applied, MLX's global
    generator seeded (the samplers have their own key streams; transforms may not)."""
    with lm.lock, applied(lm.model, transforms):
        if seed is not None:
            mx.random.seed(seed)
        yield


def transform_key(transforms: Sequence) -> tuple:
    return tuple(getattr(t, "cache_key", None) or id(t) for t in transforms)
