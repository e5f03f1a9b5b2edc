"""One sequence, token by token: `stream_generate`, and `generate` as a loop over it.

Tokens come from mlx-lm's `generate_step` (its asynchronous pipeline keeps the
stream as fast as plain mlx-lm); everything about the sequence itself (end of
sequence, stop strings, length, healing, antislop) is `Sequence`'s. An antislop
rewind closes the step iterator, rewinds the KV cache and starts a new one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence

import mlx.core as mx

from engine.generate import cache as kv
from engine.generate.antislop import PhraseList, SlopGuard, default_phrases
from engine.generate.options import CancelToken, SamplingOptions, Transform
from engine.generate.prompt import Encoded, prepare
from engine.generate.sequence import Completion, Response, Rewind
from engine.generate.sequence import Sequence as Seq
from engine.generate.vocab import vocab_for
from engine.tasks import Prompt


def new_sequence(lm, prompt: Encoded, options: SamplingOptions,
                 antislop: PhraseList | None = None) -> Seq:
    """A Sequence for `prompt`, with an antislop guard when asked for (by the options, an
    explicit phrase list, or the prompt's own phrases to avoid, which are never written)."""
    guard = None
    phrases = antislop or (default_phrases() if options.antislop else None)
    if prompt.avoid:
        never = PhraseList.from_pairs((p, 0.0) for p in prompt.avoid)
        phrases = never if phrases is None else phrases.union(never)
    if phrases is not None and phrases.factors:
        guard = SlopGuard(phrases, lm.tokenizer, len(prompt.ids),
                          max_rewinds=max(8, options.max_tokens // 4))
    return Seq(lm.tokenizer, vocab_for(lm), prompt, options, guard)


def with_context(processors: Sequence[Callable], context: list[int]) -> list[Callable]:
    """generate_step's processors see only the tokens fed to it; give them the whole context."""
    if not processors or not context:
        return list(processors)
    prefix = mx.array(context)
    return [lambda toks, logits, p=p: p(mx.concatenate([prefix, toks]), logits) for p in processors]


def _stream(lm, prompt, options=None, *, transforms=(), logits_processors=(), cancel=None,
            reuse_prompt_cache=True, overflow="error", antislop=None
            ) -> Iterator[tuple[Response, Seq]]:
    from mlx_lm.generate import generate_step

    options = options or SamplingOptions()
    enc = prepare(lm, prompt, options.max_tokens, overflow)
    ids = enc.ids
    with kv.session(lm, transforms, options.seed):
        tic = time.perf_counter()
        cache, reused = kv.prefill(lm, ids, kv.transform_key(transforms), reuse_prompt_cache)
        seq = new_sequence(lm, enc, options, antislop)
        snapshot = kv.copy_cache(cache) if seq.guard is not None else None
        sampler = options.make_sampler(options.seed, vocab_for(lm).mask)
        processors = seq.processors(logits_processors)
        feed = ids[-1:]
        n, prompt_tps, gen_tic = 0, 0.0, None

        def response(text: str, token, logprob) -> Response:
            tps = n / max(time.perf_counter() - (gen_tic or tic), 1e-9)
            return Response(text, token, logprob, seq.finish, len(ids), len(seq.tokens),
                            prompt_tps, tps, reused)

        while True:
            context = ids + seq.tokens
            steps = generate_step(
                mx.array(feed), lm.model,
                max_tokens=options.max_tokens - len(seq.tokens),
                sampler=sampler,
                logits_processors=with_context(processors, context[: len(context) - len(feed)]),
                prompt_cache=cache,
            )
            rewind = None
            for token, logprobs in steps:
                if gen_tic is None:
                    gen_tic = time.perf_counter()
                    prompt_tps = (len(ids) - reused) / max(gen_tic - tic, 1e-9)
                n += 1
                if cancel is not None and cancel.cancelled:
                    yield response(seq.close("cancelled"), None, None), seq
                    return
                out = seq.add(token, logprobs)
                if isinstance(out, Rewind):
                    rewind = out
                    break
                lp = seq.logprobs[-1] if token not in seq.eos else None
                yield response(out, token if lp is not None else None, lp), seq
                if seq.finish:
                    return
            steps.close()
            if rewind is None:  # the step iterator ran out first (cannot happen: max_tokens)
                yield response(seq.close("length"), None, None), seq
                return
            cache, feed = _rewound(lm, cache, snapshot, ids, seq.tokens)


def _rewound(lm, cache: list, snapshot: list, ids: list[int], kept: list[int]):
    """The cache and the tokens to feed so that sampling resumes after `kept`."""
    context = ids + kept
    if kv.trim_to(cache, len(context) - 1):
        return cache, context[-1:]
    return kv.copy_cache(snapshot), context[len(ids) - 1:]


def stream_generate(
    lm,
    prompt: str | Sequence[int] | Prompt,
    options: SamplingOptions | None = None,
    *,
    transforms: Sequence[Transform] = (),
    logits_processors: Sequence[Callable] = (),
    cancel: CancelToken | None = None,
    reuse_prompt_cache: bool = True,
    overflow: str = "error",
    antislop: PhraseList | None = None,
) -> Iterator[Response]:
    """Stream a generation token by token. The last Response has a finish_reason.

    Text prompts are token-healed (engine/generate/prompt.py); token-id prompts are
    used as given. `overflow="keep_tail"` keeps the end of a prompt too long for the
    model's context instead of refusing it. `antislop` is a phrase list to rewind on
    (default: antislop's list when options.antislop is set).
    """
    for r, _ in _stream(lm, prompt, options, transforms=transforms,
                        logits_processors=logits_processors, cancel=cancel,
                        reuse_prompt_cache=reuse_prompt_cache, overflow=overflow,
                        antislop=antislop):
        yield r


def generate(
    lm,
    prompt: str | Sequence[int] | Prompt,
    options: SamplingOptions | None = None,
    **kwargs,
) -> Completion:
    """Generate to the end and return the whole completion."""
    last, seq = None, None
    for last, seq in _stream(lm, prompt, options, **kwargs):
        pass
    return seq.completion(last.prompt_tokens, last.generation_tps)
