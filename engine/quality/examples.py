"""What the WQRM trains and is checked on, and the cached encoder features of it.

Three kinds of examples:
- LAMP judgements (engine.quality.data): pairs and 1-10 scores, split by source group;
- published prose: passages of the corpus authors, each clean and broken in a few
  of the ways of engine.quality.degrade (long passages and 1-2 sentence snippets);
- a report set: the same for held-out authors (never used to fit or select).

`FeatureCache` keeps the encoder features of every text in chunk files under one
folder, so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.atomic import write_bytes
from engine.quality import degrade, encoder
from engine.quality.metrics import sentences

# The pooled states of the embeddings and the first four layers are cached; the scorer
# picks the layers it reads. Layers 5-6 are not: on the 2-core box the encoder's cost
# grows with the layers run, and the speed target leaves no room for all six.
CACHED_LAYERS: tuple[int, ...] = (0, 1, 2, 3, 4)
FEATURE_VERSION = "minilm-l6-pooled-l0-4"
POOL_DIM = 3 * 384


@dataclass(frozen=True)
class Passage:
    text: str
    author: str
    kind: str  # "clean" or a degradation kind
    origin: int  # index of the clean passage it came from
    short: bool


def corpus_examples(
    folder: Path,
    foreign_folder: Path,
    n: int,
    seed: int,
    kinds_per_passage: int = 2,
    snippets: int = 1,
) -> list[Passage]:
    """Clean passages of `folder` and broken versions; kinds rotate so each gets a fair share.

    Every passage also yields up to `snippets` short snippets (one or two of its
    sentences), each clean and broken one way, because a short broken line must score
    low too.
    """
    kinds = list(degrade.KINDS)
    foreign = [p for _, p in degrade.passages(foreign_folder, 60, seed)]
    out: list[Passage] = []
    for i, (author, text) in enumerate(degrade.passages(folder, n, seed)):
        out.append(Passage(text, author, "clean", i, False))
        for j in range(kinds_per_passage):
            kind = kinds[(i + j * 2) % len(kinds)]
            out.append(
                Passage(
                    degrade.degrade(text, kind, seed * 100_003 + i, foreign), author, kind, i, False
                )
            )
        sents = sentences(text)
        starts = [0, *range(2, len(sents), 2)][:snippets]
        for s, start in enumerate(starts):
            snippet = " ".join(sents[start : start + 1 + (i + s) % 2])
            if len(snippet.split()) < 6:
                continue
            out.append(Passage(snippet, author, "clean", i, True))
            kind = kinds[(i * 3 + 1 + 2 * s) % len(kinds)]
            salt = seed * 7 + i if s == 0 else seed * 7919 + i * 31 + s
            out.append(
                Passage(degrade.degrade(snippet, kind, salt, foreign), author, kind, i, True)
            )
    return out


def text_key(text: str) -> str:
    return hashlib.sha256(f"{FEATURE_VERSION}\n{text}".encode()).hexdigest()[:32]


class FeatureCache:
    """text -> pooled encoder features of CACHED_LAYERS (float16), in chunk files."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.rows: dict[str, np.ndarray] = {}
        for f in sorted(self.folder.glob("chunk-*.npz")):
            with np.load(f) as z:
                for k, v in zip(z["keys"], z["features"]):
                    self.rows[str(k)] = v

    def fill(
        self, texts: Sequence[str], chunk: int = 64, callback: Callable[[dict], None] | None = None
    ) -> None:
        todo = [t for t in dict.fromkeys(texts) if text_key(t) not in self.rows]
        for start in range(0, len(todo), chunk):
            part = todo[start : start + chunk]
            feats = encoder.pooled(part, CACHED_LAYERS).astype(np.float16)
            keys = np.array([text_key(t) for t in part])
            name = hashlib.sha256("".join(keys).encode()).hexdigest()[:16]
            buf = _npz_bytes(keys=keys, features=feats)
            write_bytes(self.folder / f"chunk-{name}.npz", buf)
            self.rows.update(zip(keys.tolist(), feats))
            if callback:
                callback({"stage": "features", "done": start + len(part), "total": len(todo)})

    def matrix(self, texts: Sequence[str], layers: Sequence[int]) -> np.ndarray:
        cols = np.concatenate(
            [np.arange(POOL_DIM) + CACHED_LAYERS.index(layer) * POOL_DIM for layer in layers]
        )
        return np.stack([self.rows[text_key(t)][cols] for t in texts]).astype(np.float32)


def _npz_bytes(**arrays) -> bytes:
    import io

    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()
