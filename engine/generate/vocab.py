"""What the generator knows about a tokenizer's vocabulary, worked out once per tokenizer.

- `banned`: tokens that must never be written: the tokenizer's special tokens
  except end-of-sequence (<bos>, <pad>, <mask>, <start_of_turn>, <unusedN>...)
  and its added non-whitespace tokens (Gemma's <start_of_image>, <em>, <td>...).
  A 270M base model samples them now and then, and they are never prose.
- `texts`: every token's text as it reads after other text (SentencePiece's
  leading space kept), for token healing: which tokens start with a given text.
"""

from __future__ import annotations

import bisect
import threading
import weakref
from functools import lru_cache

import mlx.core as mx
import numpy as np

_VOCABS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def vocab_for(lm) -> Vocab:
    """The Vocab of a loaded model's tokenizer (one per tokenizer, kept while it lives)."""
    tokenizer = lm.tokenizer
    with _LOCK:
        v = _VOCABS.get(tokenizer)
        if v is None:
            size = int(lm.config.get("vocab_size") or len(tokenizer))
            v = _VOCABS[tokenizer] = Vocab(tokenizer, size)
        return v


def banned_ids(tokenizer, size: int) -> list[int]:
    """Special and added non-whitespace tokens, minus EOS; plus ids past the tokenizer's end."""
    hf = getattr(tokenizer, "_tokenizer", tokenizer)
    ids = set(getattr(hf, "all_special_ids", ()))
    for i, added in getattr(hf, "added_tokens_decoder", {}).items():
        content = getattr(added, "content", str(added))
        if content.strip():
            ids.add(int(i))
    ids -= set(tokenizer.eos_token_ids)
    ids.update(range(len(tokenizer), size))
    return sorted(i for i in ids if 0 <= i < size)


class Vocab:
    def __init__(self, tokenizer, size: int):
        self.tokenizer = tokenizer
        self.size = size
        self.banned = banned_ids(tokenizer, size)
        self.banned_set = frozenset(self.banned)
        self._lock = threading.Lock()
        hf = getattr(tokenizer, "_tokenizer", tokenizer)
        # A plain one-letter token decoded before a sequence's own, so that no
        # detokenizer drops the first token's leading space (BPE ones do).
        self.anchor = int(hf.encode("a", add_special_tokens=False)[-1])
        self._texts: list[str] | None = None
        self._sorted: tuple[list[str], list[int]] | None = None
        self.mask = self._mask_of(self.banned, allowed=False)
        self.allowed_mask = lru_cache(maxsize=64)(self._allowed_mask)

    def _mask_of(self, ids, allowed: bool) -> mx.array:
        """(size,) float32: 0 where a token may be drawn, -inf where not."""
        m = np.full(self.size, -np.inf if allowed else 0.0, dtype=np.float32)
        m[np.asarray(list(ids), dtype=np.int64)] = 0.0 if allowed else -np.inf
        return mx.array(m)

    @property
    def texts(self) -> list[str]:
        """Each token's text after other text ("\ufffd" marks a partial UTF-8 byte token)."""
        with self._lock:
            if self._texts is None:
                self._texts = _token_texts(self.tokenizer, self.size, self.anchor)
            return self._texts

    def _index(self) -> tuple[list[str], list[int]]:
        texts = self.texts
        with self._lock:
            if self._sorted is None:
                order = sorted(
                    (i for i in range(len(texts)) if i not in self.banned_set and texts[i]),
                    key=texts.__getitem__,
                )
                self._sorted = ([texts[i] for i in order], order)
            return self._sorted

    def starting_with(self, prefix: str) -> list[int]:
        """Tokens whose text starts with `prefix` (never a banned one)."""
        keys, ids = self._index()
        out = []
        for j in range(bisect.bisect_left(keys, prefix), len(keys)):
            if not keys[j].startswith(prefix):
                break
            out.append(ids[j])
        return out

    def _allowed_mask(self, prefix: str) -> mx.array:
        """The mask allowing only tokens whose text starts with `prefix`.

        Shorter tokens that only begin `prefix` (a bare " " before "rich") are not
        allowed: they are the off-distribution path healing exists to avoid, and the
        healed token itself always qualifies.
        """
        return self._mask_of(self.starting_with(prefix), allowed=True)


def _token_texts(tokenizer, size: int, anchor: int) -> list[str]:
    """Every token's text: from mlx-lm's SentencePiece detokenizer table when there is one
    (its bytes with "▁" as a space: 0.1 s for Gemma's 262k tokens), else by decoding each
    token after a fixed one-letter anchor (1.7 s), so decoders that strip a leading space
    keep it. Both give the same table for Gemma (tests/engine/test_generate_real.py)."""
    from mlx_lm.tokenizer_utils import SPMStreamingDetokenizer

    table = getattr(tokenizer, "_detokenizer", None)
    if isinstance(table, SPMStreamingDetokenizer) and len(table.tokenmap) == len(tokenizer):
        texts = [b.replace(b"\xe2\x96\x81", b" ").decode("utf-8", "replace")
                 for b in table.tokenmap]
        return texts + ["\ufffd"] * (size - len(texts))
    return _decoded_texts(tokenizer, size, anchor)


def _decoded_texts(tokenizer, size: int, anchor: int) -> list[str]:
    hf = getattr(tokenizer, "_tokenizer", tokenizer)
    n = len(tokenizer)
    pairs = [[anchor, i] for i in range(n)]
    backend = getattr(hf, "backend_tokenizer", None)
    if backend is not None:
        decoded = backend.decode_batch(pairs, skip_special_tokens=False)
    else:
        decoded = [hf.decode(p) for p in pairs]
    head = hf.decode([anchor])
    texts = [d[len(head):] if d.startswith(head) else "\ufffd" for d in decoded]
    return texts + ["\ufffd"] * (size - n)
