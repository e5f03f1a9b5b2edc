"""Text encoders in MLX (no torch): all-MiniLM-L6-v2, multilingual-e5-small, and fine-tuning.

    from engine.encoders import load
    enc = load("multilingual-e5-small")
    vecs = enc.encode(["Привет", "Hello"])        # (2, 384) float32, unit rows
"""

from engine.encoders.encoder import (
    BUILTIN,
    E5_SMALL,
    MINILM,
    Encoder,
    load,
    load_folder,
    load_uncached,
)

__all__ = ["BUILTIN", "E5_SMALL", "MINILM", "Encoder", "load", "load_folder", "load_uncached"]
