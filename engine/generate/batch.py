"""Several sequences decoded as one batch by mlx-lm's BatchGenerator.

    generate_candidates -> N `Completion`s for one prompt (one shared prefill)
    generate_batch      -> one `Completion` for each of several prompts

Each row is a `Sequence` (the same per-sequence state as the single stream) with
its own sampler and random key stream: candidate i of one prompt samples with
seed + i (so candidate 0 is exactly `generate(..., seed)` and equal seeds still
give distinct candidates), and each prompt of a batch with its own options'
seed (so its text does not depend on what else is in the batch).

An antislop rewind takes one row out of the batch, rewinds its KV cache (trim,
or the shared prompt snapshot and the kept tokens fed again) and puts it back;
the other rows keep decoding.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from engine.errors import TooManyCandidates
from engine.generate import cache as kv
from engine.generate.antislop import PhraseList
from engine.generate.options import CancelToken, SamplingOptions, Transform, per_sequence
from engine.generate.prompt import prepare
from engine.generate.sequence import Completion, Rewind
from engine.generate.sequence import Sequence as Seq
from engine.generate.stream import new_sequence
from engine.generate.vocab import vocab_for
from engine.tasks import Prompt

# Every candidate holds its own copy of the prompt's KV cache and a vocabulary-wide
# row of logits per step: 64 is far past what reranking needs and keeps memory bounded.
MAX_CANDIDATES = 64
# generate_batch decodes at most this many prompts at once; the rest wait their turn.
MAX_BATCH = 32


@dataclass
class _Row:
    index: int
    seq: Seq
    ids: list[int]
    sampler: Callable
    processors: list
    snapshot: list | None  # the KV cache of ids[:-1], when one is shared


def generate_candidates(
    lm,
    prompt: str | Sequence[int] | Prompt,
    n: int = 4,
    options: SamplingOptions | Sequence[SamplingOptions] | None = None,
    *,
    transforms: Sequence[Transform] = (),
    logits_processors: Sequence[Callable] = (),
    cancel: CancelToken | None = None,
    on_token: Callable[[int, str], None] | None = None,
    reuse_prompt_cache: bool = True,
    overflow: str = "error",
    antislop: PhraseList | None = None,
) -> list[Completion]:
    """N candidates for one prompt, decoded together as one batch.

    The prompt is processed once and its KV cache shared by every candidate.
    `options` may be one SamplingOptions for all, or one per candidate (e.g.
    different min-p values); each candidate's options are honoured, seeds
    included. `on_token(i, text)` streams each candidate's text. Cancellation
    returns what each candidate has so far.
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    if n > MAX_CANDIDATES:
        raise TooManyCandidates(
            f"{n:,} candidates asked for; Killah generates at most {MAX_CANDIDATES} at once "
            "(each one holds its own copy of the prompt in memory)"
        )
    opts = per_sequence(options, n)
    enc = prepare(lm, prompt, max(o.max_tokens for o in opts), overflow)
    mask = vocab_for(lm).mask
    with kv.session(lm, transforms, opts[0].seed):
        cache, _ = kv.prefill(lm, enc.ids, kv.transform_key(transforms), reuse_prompt_cache)
        rows = []
        for i, o in enumerate(opts):
            seq = new_sequence(lm, enc, o, antislop)
            seed = None if o.seed is None else o.seed + i
            rows.append(_Row(i, seq, enc.ids, o.make_sampler(seed, mask),
                             seq.processors(logits_processors), cache))
        elapsed = _decode(lm, rows, cancel, on_token)
    return [r.seq.completion(len(enc.ids), len(r.seq.tokens) / max(elapsed, 1e-9)) for r in rows]


def generate_batch(
    lm,
    prompts: Sequence[str | Sequence[int] | Prompt],
    options: SamplingOptions | Sequence[SamplingOptions] | None = None,
    *,
    transforms: Sequence[Transform] = (),
    logits_processors: Sequence[Callable] = (),
    cancel: CancelToken | None = None,
    on_token: Callable[[int, str], None] | None = None,
    overflow: str = "error",
    antislop: PhraseList | None = None,
) -> list[Completion]:
    """One completion for each of several different prompts, decoded together as one batch.

    The throughput path for bulk work (evaluation, dataset building): on a
    bandwidth-bound CPU or GPU a batch of 8 costs little more per step than one.
    Prompts are prefilled together by mlx-lm's BatchGenerator, at most MAX_BATCH
    at a time. Each prompt samples with its own options' seed, so its completion
    is the one `generate` gives for it alone. No prompt cache (each prompt is new).
    """
    if not prompts:
        return []
    opts = per_sequence(options, len(prompts))
    encoded = [prepare(lm, p, o.max_tokens, overflow) for p, o in zip(prompts, opts)]
    mask = vocab_for(lm).mask
    with kv.session(lm, transforms, opts[0].seed):
        rows = []
        for i, (enc, o) in enumerate(zip(encoded, opts)):
            seq = new_sequence(lm, enc, o, antislop)
            rows.append(_Row(i, seq, enc.ids, o.make_sampler(o.seed, mask),
                             seq.processors(logits_processors), None))
        elapsed = _decode(lm, rows, cancel, on_token)
    return [r.seq.completion(len(r.ids), len(r.seq.tokens) / max(elapsed, 1e-9)) for r in rows]


def _decode(lm, rows: list[_Row], cancel: CancelToken | None, on_token) -> float:
    """Drive a BatchGenerator until every row's sequence has finished; returns seconds."""
    from mlx_lm.generate import BatchGenerator

    size = min(len(rows), MAX_BATCH if rows[0].snapshot is None else MAX_CANDIDATES)
    gen = BatchGenerator(lm.model, stop_tokens=[[t] for t in lm.tokenizer.eos_token_ids],
                         completion_batch_size=size, prefill_batch_size=size)
    tic = time.perf_counter()
    try:
        live = {}
        for row in rows:
            cut = len(row.ids) - 1 if row.snapshot is not None else 0
            live[_insert(gen, row, row.ids[:cut], row.ids[cut:], row.snapshot)] = row
        while live:
            if cancel is not None and cancel.cancelled:
                for row in live.values():
                    _emit(on_token, row, row.seq.close("cancelled"))
                break
            responses = gen.next_generated()
            if not responses:
                break
            for r in responses:
                row = live.get(r.uid)
                if row is None:
                    continue
                out = row.seq.add(r.token, r.logprobs)
                if isinstance(out, Rewind):
                    del live[r.uid]
                    live[_rewind(gen, row, r)] = row
                    continue
                _emit(on_token, row, out)
                if row.seq.finish:
                    del live[r.uid]
                    if r.finish_reason is None:
                        gen.remove([r.uid])
    finally:
        gen.close()
    return time.perf_counter() - tic


def _emit(on_token, row: _Row, text: str) -> None:
    if text and on_token is not None:
        on_token(row.index, text)


def _insert(gen, row: _Row, context: list[int], feed: list[int], cache: list | None) -> int:
    """Put a row into the batch: `cache` holds `context`, `feed` is decoded from there."""
    (uid,) = gen.insert(
        [feed],
        max_tokens=[row.seq.options.max_tokens - len(row.seq.tokens)],
        caches=[kv.copy_cache(cache)] if cache is not None else None,
        all_tokens=[list(context)],
        samplers=[row.sampler],
        logits_processors=[row.processors],
    )
    return uid


def _rewind(gen, row: _Row, response) -> int:
    """Take a row out, rewind its cache to the kept tokens and put it back; its new uid."""
    if response.finish_reason is None:
        cache = gen.remove([response.uid], return_prompt_caches=True)[response.uid][0]
    else:
        cache = response.prompt_cache
    context = row.ids + row.seq.tokens
    if cache is not None and kv.trim_to(cache, len(context) - 1):
        return _insert(gen, row, context[:-1], context[-1:], cache)
    if row.snapshot is not None:
        cut = len(row.ids) - 1
        return _insert(gen, row, context[:cut], context[cut:], row.snapshot)
    return _insert(gen, row, [], context, None)
