"""The one generator every task uses, in layers (as mlx-lm's generate.py):

    stream_generate   -> an iterator of `Response` (text delta, token, log-prob, finish_reason)
    generate          -> a `Completion`, a loop over stream_generate
    generate_candidates -> N `Completion`s for one prompt, decoded together as one batch
    generate_batch    -> one `Completion` for each of several prompts, as one batch

Sampling (temperature, top-p, min-p, top-k) and repetition control come from
mlx-lm's `make_sampler` / `make_logits_processors`. Stop strings, cancellation
from another thread and prompt-cache reuse are added here.

Adapters and persona steering plug in as `transforms`: objects with
`apply(model) -> undo` that change the model for the duration of one call
(wrap a layer, set LoRA scales) and return a function that restores it. The
prompt cache is keyed by the active transforms, because a cache computed under
one adapter or steering vector is wrong under another.
"""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass, field, fields, replace
from typing import Any, Callable, Iterator, Protocol, Sequence

import mlx.core as mx

from engine.tasks import Prompt


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

    def __post_init__(self):
        if self.max_tokens < 1:
            raise ValueError(f"max_tokens must be >= 1, got {self.max_tokens}")
        if self.temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {self.temperature}")
        if not 0 <= self.min_p < 1 or not 0 < self.top_p <= 1:
            raise ValueError(f"min_p must be in [0, 1) and top_p in (0, 1], got {self.min_p}, {self.top_p}")
        object.__setattr__(self, "stop", tuple(self.stop))

    def replace(self, **changes) -> "SamplingOptions":
        return replace(self, **changes)

    @classmethod
    def from_dict(cls, d: dict) -> "SamplingOptions":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})

    def make_sampler(self):
        from mlx_lm.sample_utils import make_sampler

        return make_sampler(
            temp=self.temperature, top_p=self.top_p if self.top_p < 1 else 0.0,
            min_p=self.min_p, top_k=self.top_k,
        )

    def make_logits_processors(self) -> list:
        from mlx_lm.sample_utils import make_logits_processors

        if self.repetition_penalty == 1.0:
            return []
        return make_logits_processors(
            repetition_penalty=self.repetition_penalty,
            repetition_context_size=self.repetition_context_size,
        )


class Transform(Protocol):
    """A change to the model for one generation call (adapter stack, steering...)."""

    def apply(self, model) -> Callable[[], None]: ...


class CancelToken:
    """Set from any thread; the generator stops at the next token and returns what it has."""

    def __init__(self):
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()


@dataclass
class Response:
    """One step of `stream_generate`."""

    text: str  # the new text since the last Response (may be "")
    token: int | None
    logprob: float | None
    finish_reason: str | None = None  # None, "length", "stop" or "cancelled"
    prompt_tokens: int = 0
    generation_tokens: int = 0
    prompt_tps: float = 0.0
    generation_tps: float = 0.0
    cached_tokens: int = 0  # prompt tokens served from the prompt cache


@dataclass
class Completion:
    text: str
    tokens: list[int]
    logprobs: list[float]  # log-probability of each sampled token
    finish_reason: str
    prompt_tokens: int = 0
    generation_tps: float = 0.0
    options: SamplingOptions | None = None

    @property
    def mean_logprob(self) -> float:
        return sum(self.logprobs) / len(self.logprobs) if self.logprobs else 0.0


# -- prompt handling -----------------------------------------------------------


def encode(lm, prompt: str | Sequence[int] | Prompt) -> tuple[list[int], tuple[str, ...]]:
    """Token ids and stop strings for a prompt (plain text: never a chat template)."""
    stop: tuple[str, ...] = ()
    if isinstance(prompt, Prompt):
        stop, prompt = prompt.stop, prompt.text
    if isinstance(prompt, str):
        tokenizer = lm.tokenizer
        ids = tokenizer.encode(prompt)
        bos = getattr(tokenizer, "bos_token_id", None)
        if bos is not None and (not ids or ids[0] != bos):
            ids = [bos, *ids]
        return list(ids), stop
    ids = [int(t) for t in prompt]
    return ids, stop


class _StopMatcher:
    """Finds stop strings in streamed text, holding back what could start one."""

    def __init__(self, stops: Sequence[str]):
        self.stops = tuple(s for s in stops if s)
        self.text = ""
        self.emitted = 0

    def feed(self, delta: str) -> tuple[str, bool]:
        """Add `delta`; return (text safe to emit now, whether a stop string was hit)."""
        self.text += delta
        if not self.stops:
            out, self.emitted = self.text[self.emitted:], len(self.text)
            return out, False
        hits = [i for s in self.stops if (i := self.text.find(s, max(0, self.emitted - len(s)))) >= 0]
        if hits:
            end = min(hits)
            out = self.text[self.emitted:end]
            self.text, self.emitted = self.text[:end], end
            return out, True
        hold = 0
        for s in self.stops:
            for k in range(min(len(s) - 1, len(self.text)), 0, -1):
                if self.text.endswith(s[:k]):
                    hold = max(hold, k)
                    break
        safe = len(self.text) - hold
        out = self.text[self.emitted:safe] if safe > self.emitted else ""
        self.emitted = max(self.emitted, safe)
        return out, False

    def flush(self) -> str:
        out, self.emitted = self.text[self.emitted:], len(self.text)
        return out


# -- prompt cache --------------------------------------------------------------


def _copy_cache(cache: list) -> list:
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


def _prefill(lm, ids: list[int], key: tuple, reuse: bool) -> tuple[list, int]:
    """A KV cache holding ids[:-1], reusing the longest cached prefix. Returns (cache, reused)."""
    from mlx_lm.models.cache import can_trim_prompt_cache, make_prompt_cache, trim_prompt_cache

    model = lm.model
    target = ids[:-1]
    stored: PromptCache | None = lm.prompt_cache if reuse else None
    cache, start = None, 0
    if stored is not None and stored.cache is not None and stored.key == key:
        common = 0
        for a, b in zip(stored.tokens, target):
            if a != b:
                break
            common += 1
        extra = len(stored.tokens) - common
        if common and extra == 0:
            cache, start = _copy_cache(stored.cache), common
        elif common and can_trim_prompt_cache(stored.cache):
            cache = _copy_cache(stored.cache)
            trim_prompt_cache(cache, extra)
            start = common
    if cache is None:
        cache = make_prompt_cache(model)
    # Snapshot a little before the end: typing at the end of a document often
    # re-tokenises the last word, and sliding-window caches cannot be trimmed.
    cut = max(start, len(target) - CACHE_SLACK_TOKENS)
    _feed(model, cache, target[start:cut])
    if reuse:
        lm.prompt_cache = PromptCache(key=key, tokens=list(target[:cut]), cache=_copy_cache(cache))
    _feed(model, cache, target[cut:])
    return cache, start


CACHE_SLACK_TOKENS = 16


def _feed(model, cache: list, tokens: list[int], step: int = 512) -> None:
    for i in range(0, len(tokens), step):
        model(mx.array(tokens[i : i + step])[None], cache=cache)
        mx.eval([c.state for c in cache])


@contextlib.contextmanager
def _applied(model, transforms: Sequence[Transform]):
    undos = []
    try:
        for t in transforms:
            undos.append(t.apply(model))
        yield
    finally:
        for undo in reversed(undos):
            undo()


@contextlib.contextmanager
def _session(lm, transforms: Sequence[Transform], seed: int | None):
    """One generation call: the model to itself, the transforms applied, the random stream seeded."""
    with lm.lock, _applied(lm.model, transforms):
        if seed is not None:
            mx.random.seed(seed)
        yield


def _transform_key(transforms: Sequence[Transform]) -> tuple:
    return tuple(getattr(t, "cache_key", None) or id(t) for t in transforms)


# -- the generator -------------------------------------------------------------


def stream_generate(
    lm,
    prompt: str | Sequence[int] | Prompt,
    options: SamplingOptions | None = None,
    *,
    transforms: Sequence[Transform] = (),
    logits_processors: Sequence[Callable] = (),
    cancel: CancelToken | None = None,
    reuse_prompt_cache: bool = True,
) -> Iterator[Response]:
    """Stream a generation token by token. The last Response has a finish_reason."""
    from mlx_lm.generate import generate_step

    options = options or SamplingOptions()
    ids, prompt_stops = encode(lm, prompt)
    if not ids:
        raise ValueError("the prompt is empty")
    stops = _StopMatcher((*options.stop, *prompt_stops))
    eos = set(lm.tokenizer.eos_token_ids)
    processors = [*options.make_logits_processors(), *logits_processors]
    with _session(lm, transforms, options.seed):
        tic = time.perf_counter()
        cache, reused = _prefill(lm, ids, _transform_key(transforms), reuse_prompt_cache)
        detok = _fresh_detok(lm.tokenizer)
        steps = generate_step(
            mx.array(ids[-1:]),
            lm.model,
            max_tokens=options.max_tokens,
            sampler=options.make_sampler(),
            logits_processors=_with_context(processors, ids[:-1]),
            prompt_cache=cache,
        )
        n, prompt_tps, gen_tic = 0, 0.0, None
        finish = None
        for token, logprobs in steps:
            if n == 0:
                gen_tic = time.perf_counter()
                prompt_tps = (len(ids) - reused) / max(gen_tic - tic, 1e-9)
            n += 1
            if cancel is not None and cancel.cancelled:
                finish = "cancelled"
                break
            if token in eos:
                finish = "stop"
                break
            logprob = logprobs[token].item()
            detok.add_token(token)
            if n >= options.max_tokens:
                detok.finalize()
            text, hit = stops.feed(detok.last_segment)
            finish = "stop" if hit else ("length" if n >= options.max_tokens else None)
            if finish == "length":
                text += stops.flush()
            gen_tps = n / max(time.perf_counter() - gen_tic, 1e-9)
            yield Response(text, token, logprob, finish, len(ids), n, prompt_tps, gen_tps, reused)
            if finish:
                return
        detok.finalize()
        text, hit = stops.feed(detok.last_segment)
        tail = "" if hit else stops.flush()
        gen_tps = n / max(time.perf_counter() - (gen_tic or tic), 1e-9)
        yield Response(
            text + tail, None, None, finish or "length", len(ids), n, prompt_tps, gen_tps, reused
        )


def _with_context(processors: Sequence[Callable], context: list[int]) -> list[Callable]:
    """mlx-lm's processors see only the tokens fed to generate_step; give them the whole prompt."""
    if not processors or not context:
        return list(processors)
    prefix = mx.array(context)
    return [lambda toks, logits, p=p: p(mx.concatenate([prefix, toks]), logits) for p in processors]


def generate(
    lm,
    prompt: str | Sequence[int] | Prompt,
    options: SamplingOptions | None = None,
    **kwargs,
) -> Completion:
    """Generate to the end and return the whole completion."""
    parts, tokens, logprobs = [], [], []
    last = None
    for r in stream_generate(lm, prompt, options, **kwargs):
        parts.append(r.text)
        if r.token is not None:
            tokens.append(r.token)
            logprobs.append(r.logprob)
        last = r
    return Completion(
        "".join(parts), tokens, logprobs, last.finish_reason, last.prompt_tokens,
        last.generation_tps, options,
    )


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
) -> list[Completion]:
    """N candidates for one prompt, decoded together as one batch.

    The prompt is processed once and its KV cache shared by every candidate.
    `options` may be one SamplingOptions for all, or one per candidate (e.g.
    different min-p values). `on_token(i, text)` streams each candidate's text.
    Cancellation returns what each candidate has so far.
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    opts = _per_candidate(options, n)
    ids, prompt_stops = encode(lm, prompt)
    if not ids:
        raise ValueError("the prompt is empty")
    tokenizer = lm.tokenizer
    eos = set(tokenizer.eos_token_ids)
    with _session(lm, transforms, opts[0].seed):
        cache, _ = _prefill(lm, ids, _transform_key(transforms), reuse_prompt_cache)
        gen = _batch_generator(lm, n, eos)
        try:
            uids = gen.insert(
                [ids[-1:]] * n,
                max_tokens=[o.max_tokens for o in opts],
                caches=[_copy_cache(cache) for _ in range(n)],
                all_tokens=[list(ids[:-1]) for _ in range(n)],
                samplers=[o.make_sampler() for o in opts],
                logits_processors=[[*o.make_logits_processors(), *logits_processors] for o in opts],
            )
            states, elapsed = _decode(gen, uids, [(*o.stop, *prompt_stops) for o in opts],
                                      tokenizer, eos, cancel, on_token)
        finally:
            gen.close()
    return _completions(states, opts, [len(ids)] * n, elapsed)


def generate_batch(
    lm,
    prompts: Sequence[str | Sequence[int] | Prompt],
    options: SamplingOptions | Sequence[SamplingOptions] | None = None,
    *,
    transforms: Sequence[Transform] = (),
    cancel: CancelToken | None = None,
    on_token: Callable[[int, str], None] | None = None,
) -> list[Completion]:
    """One completion for each of several different prompts, decoded together as one batch.

    The throughput path for bulk work (evaluation, dataset building): on a
    bandwidth-bound CPU or GPU a batch of 8 costs little more per step than
    one. Prompts are prefilled together by mlx-lm's BatchGenerator. The
    random stream is seeded once, from the first prompt's options, so a
    batch's output depends on its composition: same prompts, same seed, same
    text. No prompt cache (each prompt is new).
    """
    if not prompts:
        return []
    n = len(prompts)
    opts = _per_candidate(options, n)
    encoded = [encode(lm, p) for p in prompts]
    if any(not ids for ids, _ in encoded):
        raise ValueError("a prompt is empty")
    tokenizer = lm.tokenizer
    eos = set(tokenizer.eos_token_ids)
    with _session(lm, transforms, opts[0].seed):
        gen = _batch_generator(lm, n, eos)
        try:
            uids = gen.insert(
                [ids for ids, _ in encoded],
                max_tokens=[o.max_tokens for o in opts],
                samplers=[o.make_sampler() for o in opts],
                logits_processors=[o.make_logits_processors() for o in opts],
            )
            states, elapsed = _decode(gen, uids, [(*o.stop, *s) for o, (_, s) in zip(opts, encoded)],
                                      tokenizer, eos, cancel, on_token)
        finally:
            gen.close()
    return _completions(states, opts, [len(ids) for ids, _ in encoded], elapsed)


def _batch_generator(lm, n: int, eos: set[int]):
    from mlx_lm.generate import BatchGenerator

    return BatchGenerator(lm.model, stop_tokens=[[t] for t in eos],
                          completion_batch_size=n, prefill_batch_size=n)


def _completions(states: Sequence["_CandidateState"], opts: Sequence[SamplingOptions],
                 prompt_tokens: Sequence[int], elapsed: float) -> list[Completion]:
    return [
        Completion(s.text(), s.tokens, s.logprobs, s.finish or "length", p,
                   len(s.tokens) / max(elapsed, 1e-9), o)
        for s, o, p in zip(states, opts, prompt_tokens)
    ]


def _decode(gen, uids: list[int], stops: Sequence[Sequence[str]], tokenizer, eos: set[int],
            cancel: CancelToken | None, on_token) -> tuple[list["_CandidateState"], float]:
    """Drive a BatchGenerator to the end: per-sequence detokenising, stop strings, cancel."""
    state = {uid: _CandidateState(tokenizer, s) for uid, s in zip(uids, stops)}
    order = {uid: i for i, uid in enumerate(uids)}
    tic = time.perf_counter()
    while any(s.finish is None for s in state.values()):
        if cancel is not None and cancel.cancelled:
            for s in state.values():
                s.finish = s.finish or "cancelled"
            break
        responses = gen.next_generated()
        if not responses:
            break
        for r in responses:
            s = state[r.uid]
            if s.finish is not None:
                continue
            delta = s.add(r.token, r.logprobs, eos, r.finish_reason)
            if s.finish == "stop" and r.finish_reason is None:
                gen.remove([r.uid])
            if delta and on_token:
                on_token(order[r.uid], delta)
    return [state[u] for u in uids], time.perf_counter() - tic


def _per_candidate(options, n: int) -> list[SamplingOptions]:
    if options is None:
        return [SamplingOptions()] * n
    if isinstance(options, SamplingOptions):
        return [options] * n
    options = list(options)
    if len(options) != n:
        raise ValueError(f"got {len(options)} SamplingOptions for {n} candidates")
    return options


class _CandidateState:
    def __init__(self, tokenizer, stops: Sequence[str]):
        self.detok = _fresh_detok(tokenizer)
        self.stops = _StopMatcher(stops)
        self.parts: list[str] = []
        self.tokens: list[int] = []
        self.logprobs: list[float] = []
        self.finish: str | None = None

    def add(self, token: int, logprobs: mx.array, eos: set[int], finish_reason: str | None) -> str:
        if token in eos:
            self.finish = "stop"
            self.detok.finalize()
            delta, _ = self.stops.feed(self.detok.last_segment)
            delta += self.stops.flush()
            self.parts.append(delta)
            return delta
        self.tokens.append(token)
        self.logprobs.append(logprobs[token].item())
        self.detok.add_token(token)
        if finish_reason is not None:
            self.detok.finalize()
        delta, hit = self.stops.feed(self.detok.last_segment)
        if hit:
            self.finish = "stop"
        elif finish_reason is not None:
            self.finish = "length"
            delta += self.stops.flush()
        self.parts.append(delta)
        return delta

    def text(self) -> str:
        return "".join(self.parts)


def _fresh_detok(tokenizer):
    """A new streaming detokenizer (mlx-lm's wrapper hands out a fresh copy per access)."""
    return tokenizer.detokenizer
