"""From a prompt to token ids: encoding, token healing and the context limit.

Token healing. A prompt that ends inside what the model would write as one token
("Rewritten: " ends in a bare space; Gemma writes the space as part of the next
word, " Maria") pushes the model off its usual tokens: after a lone space token
it has seen little but number soup and markup. So the prompt's last token is
dropped and the first generated token must start with its text (" Maria",
" richest" or " rich" itself); that text is then not returned again. Any prompt heals
the same way: the task templates, and a user's document that ends in a space or half
a word.
Token-id prompts are taken as given (no healing).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import mlx.core as mx

from engine.errors import PromptTooLong
from engine.tasks import Prompt

OVERFLOW = ("error", "keep_tail")


@dataclass(frozen=True)
class Encoded:
    """A prompt ready for the model."""

    ids: list[int]
    stop: tuple[str, ...] = ()
    heal: str = ""  # text dropped from the prompt's end; the generation must begin with it
    avoid: tuple[str, ...] = ()  # phrases never to write (Prompt.avoid): antislop at factor 0


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
    return [int(t) for t in prompt], stop


def prepare(lm, prompt: str | Sequence[int] | Prompt, max_tokens: int,
            overflow: str = "error") -> Encoded:
    """Encode, heal (text prompts) and check that prompt + generation fit the context.

    `overflow="keep_tail"` keeps the prompt's end (after <bos>) when it is too long,
    for continuing a long document; the default refuses with PromptTooLong.
    """
    from engine.generate.vocab import vocab_for

    if overflow not in OVERFLOW:
        raise ValueError(f"overflow must be one of {OVERFLOW}, got {overflow!r}")
    ids, stop = encode(lm, prompt)
    avoid = tuple(prompt.avoid) if isinstance(prompt, Prompt) else ()
    if not ids:
        raise ValueError("the prompt is empty")
    heal = ""
    if not isinstance(prompt, (list, tuple, mx.array)) and len(ids) > 1:
        text = prompt.text if isinstance(prompt, Prompt) else prompt
        vocab = vocab_for(lm)
        last = ids[-1]
        tail = vocab.texts[last] if last < len(vocab.texts) else ""
        if last not in vocab.banned_set and tail and "\ufffd" not in tail and text.endswith(tail):
            ids, heal = ids[:-1], tail
    limit = context_length(lm)
    if limit and max_tokens >= limit - 1:
        raise PromptTooLong(
            f"{max_tokens:,} tokens were asked for, but {lm.model_id} reads at most "
            f"{limit:,} tokens at once (prompt included): ask for fewer"
        )
    if limit and len(ids) + max_tokens > limit:
        if overflow == "error":
            raise PromptTooLong(
                f"the prompt is {len(ids):,} tokens and {max_tokens:,} more were asked for, "
                f"but {lm.model_id} reads at most {limit:,} tokens at once: "
                "shorten the prompt (or, to continue a long text, keep only its end)"
            )
        head = ids[:1] if ids[0] == getattr(lm.tokenizer, "bos_token_id", None) else []
        ids = head + ids[len(ids) - (limit - max_tokens - len(head)):]
    return Encoded(ids, stop, heal, avoid)


def context_length(lm) -> int | None:
    """The most tokens (prompt + generation) the model attends to, from its config."""
    value = lm.config.get("max_position_embeddings") if lm.config else None
    return int(value) if value else None
