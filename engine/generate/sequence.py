"""One sequence being generated, shared by the single stream and the batch drivers.

A driver samples a token and hands it to `Sequence.add`; the sequence keeps the
tokens, their log-probs and the text, and answers with the text that is now
final, or with a `Rewind` (antislop). It decides when the sequence ends: end of
sequence, a stop string, the length limit. Text that could still turn into a
stop string or a listed phrase is held back, so nothing returned is ever taken
back. When a rewind lands inside text already returned (the space before a
phrase), the token written there again must begin with that text: the same
prefix constraint that token healing puts on the first token.
"""

from __future__ import annotations

from collections.abc import Sequence as Seq
from dataclasses import dataclass

import mlx.core as mx

from engine.generate.antislop import SlopGuard, normalise
from engine.generate.options import SamplingOptions
from engine.generate.prompt import Encoded
from engine.generate.stops import StopMatcher


@dataclass
class Response:
    """One step of `stream_generate`.

    `token` is the token just sampled; with antislop a later rewind may replace it,
    but `text` is never taken back.
    """

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
    rewinds: int = 0  # antislop rewinds taken

    @property
    def mean_logprob(self) -> float:
        return sum(self.logprobs) / len(self.logprobs) if self.logprobs else 0.0


@dataclass(frozen=True)
class Rewind:
    keep: int  # generated tokens kept; sampling resumes at this position


def fresh_detokenizer(tokenizer, primer: int | None = None):
    """A new streaming detokenizer (mlx-lm's wrapper hands out a fresh copy per access),
    optionally fed a primer token first."""
    d = tokenizer.detokenizer
    if primer is not None:
        d.add_token(primer)
    return d


class Sequence:
    def __init__(self, tokenizer, vocab, prompt: Encoded, options: SamplingOptions,
                 guard: SlopGuard | None = None):
        self.tokenizer, self.vocab, self.prompt, self.options = tokenizer, vocab, prompt, options
        self.eos = set(tokenizer.eos_token_ids)
        self.stops = StopMatcher((*options.stop, *prompt.stop))
        self.guard = guard
        self.tokens: list[int] = []
        self.logprobs: list[float] = []
        self.primer = ""
        self.primer = self._measure([])  # the anchor token's text, cut from every text
        self.detok = fresh_detokenizer(tokenizer, vocab.anchor)
        self.shown = ""  # the text returned so far
        self.finish: str | None = None
        # The token at position require[0] must begin with the text require[1].
        self.require: tuple[int, str] | None = (0, prompt.heal) if prompt.heal else None

    # -- what the driver calls ---------------------------------------------------

    def processors(self, extra: Seq = ()) -> list:
        """This sequence's logits processors: the prefix constraint, antislop's
        down-weights, the options' repetition penalty, then the caller's."""
        out = []
        if self.require or self.guard is not None:  # a rewind may owe shown text
            out.append(self.constrain)
        if self.guard is not None:
            out.append(self.guard.processor)
        return [*out, *self.options.make_logits_processors(), *extra]

    def add(self, token: int, logprobs: mx.array) -> str | Rewind:
        """Take a sampled token; return the text now final, or where to rewind to."""
        if token in self.eos:
            return self._settle(final=True, reason="stop")
        self.tokens.append(token)
        self.logprobs.append(logprobs[token].item())
        self.detok.add_token(token)
        final = len(self.tokens) >= self.options.max_tokens
        return self._settle(final, "length" if final else None)

    def close(self, reason: str) -> str:
        """End now (cancelled): return everything not yet returned, up to any stop string."""
        self.detok.finalize()
        text = self._text()
        stop_at = self.stops.find(text, len(self.shown))
        out = text[len(self.shown):stop_at]
        self.shown += out
        self.finish = self.finish or reason
        return out

    @property
    def text(self) -> str:
        return self.shown

    def completion(self, prompt_tokens: int, tps: float) -> Completion:
        return Completion(self.shown, list(self.tokens), list(self.logprobs),
                          self.finish or "length", prompt_tokens, tps, self.options,
                          self.guard.rewinds if self.guard else 0)

    # -- text ----------------------------------------------------------------------

    def _text(self, detok=None) -> str:
        """The generated text without the healed prefix (which the prompt already has)."""
        full = (detok or self.detok).text[len(self.primer):]
        heal = self.prompt.heal
        if full.startswith(heal):
            return full[len(heal):]
        return "" if heal.startswith(full) else full

    def _settle(self, final: bool, reason: str | None) -> str | Rewind:
        if final:
            self.detok.finalize()
        text = self._text()
        stop_at = self.stops.find(text, len(self.shown))
        if stop_at is not None:
            text, final, reason = text[:stop_at], True, "stop"
        low = None
        if self.guard is not None:
            low = normalise(text)
            while (hit := self.guard.find(low, final)) is not None:
                char, phrase = hit
                k = self._token_at(char)
                if char >= len(self.shown) and self.guard.rewind(char, phrase, k, self.tokens[k]):
                    self._truncate(k)
                    return Rewind(k)
                self.guard.accepted.add((char, phrase))
        if final:
            self.finish = reason
            hold = 0
        else:
            hold = self.stops.hold(text)
            if low is not None:
                hold = max(hold, self.guard.hold(low))
        out = text[len(self.shown):max(len(self.shown), len(text) - hold)]
        self.shown += out
        return out

    def _measure(self, tokens: list[int]) -> str:
        """The finalised text of `tokens` (after the anchor, which is cut off)."""
        d = fresh_detokenizer(self.tokenizer, self.vocab.anchor)
        for t in tokens:
            d.add_token(t)
        d.finalize()
        return d.text[len(self.primer):]

    def _token_at(self, char: int) -> int:
        """The index of the token that writes character `char` of the generated text."""
        target = len(self.prompt.heal) + char
        lo, hi = 0, len(self.tokens) - 1
        while lo < hi:
            mid = (lo + hi) // 2
            if len(self._measure(self.tokens[: mid + 1])) > target:
                hi = mid
            else:
                lo = mid + 1
        return lo

    def _truncate(self, k: int) -> None:
        """Keep the first k tokens; what was already shown past them must be written again."""
        del self.tokens[k:], self.logprobs[k:]
        self.detok = fresh_detokenizer(self.tokenizer, self.vocab.anchor)
        for t in self.tokens:
            self.detok.add_token(t)
        written = len(self._measure(self.tokens))
        owed = (self.prompt.heal + self.shown)[written:]
        self.require = (k, owed) if owed else None

    # -- the prefix constraint (token healing, and text shown before a rewind) ----------

    def constrain(self, tokens: mx.array, logits: mx.array) -> mx.array:
        """Logits processor: at position require[0], only tokens that begin with require[1]."""
        if self.require is None:
            return logits
        start, text = self.require
        if tokens.shape[-1] - len(self.prompt.ids) != start:
            return logits
        return logits + self.vocab.allowed_mask(text).astype(logits.dtype)
