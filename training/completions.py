"""Prompt -> completion training records: the loss on the completion only, cheaply.

A task adapter (training/tasks: rewrite) learns to answer a prompt, not to write the
prompt: records are {"prompt": ..., "completion": ...} in train.jsonl, tokenized as
inference sees them (the prompt as engine.generate encodes it, BOS included; then the
completion's own tokens, which carry their leading space), and the loss counts the
completion's tokens only. mlx-lm's CompletionsDataset would put the pair through a chat
template, which a base model has no use for.

`completion_loss` is mlx-lm's default loss with the mask, except that the output layer
(Gemma's 262k-word vocabulary: most of a 270M model's compute) runs only from the
batch's first completion token on, not over the prompts, and that the mask ends at the
record's last token (mlx-lm's also counts the padding token after it).
"""

from __future__ import annotations

PROMPT_KEY, COMPLETION_KEY = "prompt", "completion"


def is_completion_data(records: list[dict]) -> bool:
    return bool(records) and PROMPT_KEY in records[0] and COMPLETION_KEY in records[0]


class CompletionData:
    """mlx-lm's dataset protocol (process / __getitem__ / __len__): (tokens, offset) per
    record, where `offset` is the index of the completion's first token."""

    def __init__(self, records: list[dict], lm):
        self._records = records
        self._lm = lm

    def process(self, record: dict) -> tuple[list[int], int]:
        from engine.generate import encode

        prompt, _ = encode(self._lm, record[PROMPT_KEY])
        answer = self._lm.tokenizer.encode(record[COMPLETION_KEY], add_special_tokens=False)
        return list(prompt) + list(answer), len(prompt)

    def __getitem__(self, idx: int) -> dict:
        return self._records[idx]

    def __len__(self) -> int:
        return len(self._records)


def _output_layer(model):
    inner = model.model
    if getattr(model, "tie_word_embeddings", False) or not hasattr(model, "lm_head"):
        return inner, inner.embed_tokens.as_linear
    return inner, model.lm_head


def with_start(batches):
    """mlx-lm batches (tokens, lengths) -> (tokens, lengths, skip): `skip` is an empty-valued
    array whose length is where the loss starts (the batch's first completion position).

    The trainer compiles its step, and a compiled function cannot read a value to slice
    by; it can read a shape, and retraces when one changes.
    """
    import mlx.core as mx
    import numpy as np

    for tokens, lengths in batches:
        start = max(0, int(np.array(lengths)[:, 0].min()) - 1)
        yield tokens, lengths, mx.zeros((start,), dtype=mx.int8)


def completion_loss(model, batch, lengths, skip):
    """Mean cross-entropy over the completion tokens; `lengths` rows are (offset, length),
    and the output layer runs from position len(skip) on (with_start)."""
    import mlx.core as mx
    import mlx.nn as nn

    inputs, targets = batch[:, :-1], batch[:, 1:]
    inner, head = _output_layer(model)
    start = skip.shape[0]
    logits = head(inner(inputs)[:, start:])
    steps = mx.arange(start + 1, targets.shape[1] + 1)
    mask = mx.logical_and(steps >= lengths[:, 0:1], steps < lengths[:, 1:])
    ce = nn.losses.cross_entropy(logits, targets[:, start:]) * mask
    ntoks = mask.sum()
    return ce.astype(mx.float32).sum() / ntoks, ntoks
