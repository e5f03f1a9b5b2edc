"""Every prompt format Killah uses, in one place, for training and inference alike.

A LoRA only works when inference matches the distribution it was trained on:
same template, same framing, same perturbation settings. So the training
pipeline builds its datasets with these functions, and the app builds its
prompts with the same ones. Base models have no chat template: everything here
is plain text, and nothing calls `apply_chat_template`.

Each task turns its inputs into a `Prompt`: the text fed to the model, plus the
stop strings that end the answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

TASKS = ("continue", "rephrase", "story", "restyle")

RESTYLE_TEMPLATE = (
    "Write a {word_count} word excerpt about the content below "
    "emulating the style and voice of {author}\n\n{description}\n\n"
)

# Exemplars from the user's own documents go first, each in the same frame.
EXEMPLAR_HEADER = "Passages in the same voice:\n\n"
EXEMPLAR_TEMPLATE = "* * *\n{text}\n\n"
EXEMPLAR_FOOTER = "* * *\n"

# Rephrasing with a base model needs a frame the model can pattern-match. The
# two worked examples are plain and neutral so they do not pull the style.
REPHRASE_SHOTS = (
    (
        "The meeting has been moved to Thursday because half the team is away.",
        "Since half the team is away, we have moved the meeting to Thursday.",
    ),
    (
        "She walked slowly down the empty street, listening to the rain.",
        "Listening to the rain, she made her way slowly along the deserted street.",
    ),
)
REPHRASE_TEMPLATE = "Original: {text}\nRewritten: "

RESTYLE_PRESETS = {
    "formal": "in a more formal register",
    "casual": "in a relaxed, casual register",
    "shorter": "more concisely, in fewer words",
    "longer": "at greater length, with more detail",
}

STORY_TEMPLATE = "{title}\n\n{premise}\n\n"


@dataclass(frozen=True)
class Prompt:
    """What the generator is given: plain text and when to stop."""

    text: str
    stop: tuple[str, ...] = ()
    task: str = "continue"
    meta: dict = field(default_factory=dict, compare=False)


def exemplar_block(exemplars: Sequence[str]) -> str:
    """The fixed frame in which persona exemplars precede any task prompt."""
    if not exemplars:
        return ""
    body = "".join(EXEMPLAR_TEMPLATE.format(text=e.strip()) for e in exemplars)
    return EXEMPLAR_HEADER + body + EXEMPLAR_FOOTER


def continue_prompt(context: str, exemplars: Sequence[str] = ()) -> Prompt:
    """Continue the user's text from where it ends."""
    return Prompt(exemplar_block(exemplars) + context, stop=(), task="continue")


def rephrase_prompt(text: str, exemplars: Sequence[str] = ()) -> Prompt:
    shots = "".join(
        REPHRASE_TEMPLATE.format(text=a) + b + "\n\n" for a, b in REPHRASE_SHOTS
    )
    body = shots + REPHRASE_TEMPLATE.format(text=" ".join(text.split()))
    return Prompt(exemplar_block(exemplars) + body, stop=("\n",), task="rephrase")


def restyle_prompt(
    description: str,
    author: str,
    word_count: int,
    exemplars: Sequence[str] = (),
) -> Prompt:
    """The style-LoRA format: description in, the author's prose out.

    The training pipeline appends the original passage to exactly this text.
    """
    text = RESTYLE_TEMPLATE.format(
        word_count=int(word_count), author=author, description=description.strip()
    )
    return Prompt(exemplar_block(exemplars) + text, stop=(), task="restyle")


def restyle_preset_prompt(text: str, preset: str, exemplars: Sequence[str] = ()) -> Prompt:
    """'Make it more formal / casual / shorter / longer' as a rewrite of `text`."""
    if preset not in RESTYLE_PRESETS:
        raise ValueError(f"unknown restyle preset {preset!r}: choose one of {sorted(RESTYLE_PRESETS)}")
    words = len(text.split())
    target = {"shorter": max(3, words * 2 // 3), "longer": words * 3 // 2}.get(preset, words)
    return restyle_prompt(
        f"{text.strip()}\n\n(Rewrite the passage above {RESTYLE_PRESETS[preset]}.)",
        author="the same writer",
        word_count=target,
        exemplars=exemplars,
    )


def story_prompt(premise: str, title: str = "", exemplars: Sequence[str] = ()) -> Prompt:
    text = STORY_TEMPLATE.format(title=title.strip() or "A Story", premise=premise.strip())
    return Prompt(exemplar_block(exemplars) + text, stop=(), task="story")


def training_example(description: str, author: str, original: str) -> dict:
    """One mlx-lm text-format record for the restyle task: prompt + original prose."""
    words = len(original.split())
    prompt = restyle_prompt(description, author, words)
    return {"text": prompt.text + original.strip()}


NEUTRALIZE_INSTRUCTIONS = {
    "en": (
        "Describe what happens in the passage below: who the characters are, the events in "
        "order, and the point of view. Use plain, neutral words of your own; do not quote the "
        "passage or copy its sentences. Write one paragraph of 50 to 120 words."
    ),
    "ru": (
        "Опиши, что происходит в отрывке ниже: кто персонажи, события по порядку и от чьего "
        "лица ведётся рассказ. Пиши простыми нейтральными словами, своими; не цитируй отрывок "
        "и не копируй его предложения. Один абзац, 50-120 слов."
    ),
}


def neutralize_messages(passage: str, lang: str = "en") -> list[dict]:
    """Chat messages asking an INSTRUCT model for a content description (training data)."""
    instruction = NEUTRALIZE_INSTRUCTIONS.get(lang, NEUTRALIZE_INSTRUCTIONS["en"])
    return [{"role": "user", "content": f"{instruction}\n\n{passage.strip()}"}]


def neutralize_plain_prompt(passage: str, lang: str = "en") -> str:
    """The same request as plain text, for an instruct model without a chat template."""
    instruction = NEUTRALIZE_INSTRUCTIONS.get(lang, NEUTRALIZE_INSTRUCTIONS["en"])
    return f"{instruction}\n\nPassage:\n{passage.strip()}\n\nDescription:"


def build(task: str, text: str, **kwargs) -> Prompt:
    """Dispatch by task name (for the command line and the app)."""
    if task == "continue":
        return continue_prompt(text, **kwargs)
    if task == "rephrase":
        return rephrase_prompt(text, **kwargs)
    if task == "story":
        return story_prompt(text, **kwargs)
    if task == "restyle":
        return restyle_prompt(text, **kwargs)
    raise ValueError(f"unknown task {task!r}: choose one of {', '.join(TASKS)}")
