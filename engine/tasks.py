"""Every prompt format Killah uses, in one place, for training and inference alike.

A LoRA only works when inference matches the distribution it was trained on:
same template, same framing, same perturbation settings. So the training
pipeline builds its datasets with these functions, and the app builds its
prompts with the same ones. Base models have no chat template: everything here
is plain text, and nothing calls `apply_chat_template`.

Each task turns its inputs into a `Prompt`: the text fed to the model, plus the
stop strings that end the answer. `build(mode, text, ...)` is the one entry the
app and the command line use for every mode (continue, rephrase, the four
presets, "like me", story), and `max_tokens(mode, text)` is each mode's length
budget. What the active style changes in a prompt (the style adapter's author
and the input perturbation it was trained with) comes in as `PromptSettings`,
made by `engine.style.ActiveStyle`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from engine.perturb import PerturbationSettings, perturb_input

from engine.text import detect_lang, tokens_per_word, word_count

TASKS = ("continue", "rephrase", "story", "restyle")

RESTYLE_TEMPLATE = (
    "Write a {word_count} word excerpt about the content below "
    "emulating the style and voice of {author}\n\n{description}\n\n"
)

# Exemplars from the user's own documents go first, each in the same frame: an HTML block
# quotation. Gemma's tokenizer has <blockquote> and </blockquote> as single tokens, which the
# generator never samples (engine.generate.vocab: added markup tokens), so the model cannot
# copy the frame: with "* * *" separators it opened most passages with one, or started another
# "exemplar" halfway (docs/persona.md, "The exemplar frame"). For a tokenizer without them
# they are stop strings (FRAME_STOPS): writing one ends the generation.
# Their budget: at most EXEMPLAR_MAX_WORDS words each and EXEMPLAR_BUDGET_WORDS in all (the
# default three exemplars of full length; more exemplars must be shorter), about 730 tokens:
# the 270M base follows a short preface better than a long one, and the CPU prefills it in
# about a second.
EXEMPLAR_MAX_WORDS = 180
EXEMPLAR_BUDGET_WORDS = 540
EXEMPLAR_HEADER = "Passages in the same voice:\n\n"
EXEMPLAR_TEMPLATE = "<blockquote>{text}</blockquote>\n\n"
FRAME_STOPS = ("<blockquote>", "</blockquote>")
# Words of the frames the model must never write back ("her 189 word excerpt").
FRAME_PHRASES = ("in the same voice", "passages in the same")
RESTYLE_PHRASES = ("excerpt", "excerpts", "content below", "emulating the style",
                   "style and voice", "tone and voice")

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

# The same frame for the presets and for Russian (the 270M base answers a Russian text in
# English after English examples, and runs away in the restyle frame): two worked examples
# per (mode, language), each saying the same thing, so the base copies the transformation.
REWRITE_SHOTS: dict[tuple[str, str], tuple[tuple[str, str], ...]] = {
    ("rephrase", "en"): REPHRASE_SHOTS,
    ("rephrase", "ru"): (
        ("Собрание перенесли на четверг, потому что половина команды в отъезде.",
         "Так как половина команды в отъезде, собрание теперь пройдёт в четверг."),
        ("Она медленно шла по пустой улице и слушала дождь.",
         "Слушая дождь, она неторопливо брела по безлюдной улице."),
    ),
    ("formal", "en"): (
        ("Sorry, I can't make it to the meeting tomorrow.",
         "I regret that I will be unable to attend tomorrow's meeting."),
        ("The kids were pretty tired after the long walk home.",
         "The children were rather fatigued after the long walk home."),
    ),
    ("formal", "ru"): (
        ("Извини, я завтра не смогу прийти на встречу.",
         "Прошу прощения, но завтра я не смогу присутствовать на совещании."),
        ("Дети здорово устали после долгой дороги домой.",
         "Дети были весьма утомлены после продолжительной дороги домой."),
    ),
    ("casual", "en"): (
        ("I regret that I will be unable to attend tomorrow's meeting.",
         "Sorry, I can't make it to the meeting tomorrow."),
        ("The children were rather fatigued after the long walk home.",
         "The kids were pretty tired after the long walk home."),
    ),
    ("casual", "ru"): (
        ("Прошу прощения, но завтра я не смогу присутствовать на совещании.",
         "Извини, я завтра не смогу прийти на встречу."),
        ("Дети были весьма утомлены после продолжительной дороги домой.",
         "Дети здорово устали после долгой дороги домой."),
    ),
    ("shorter", "en"): (
        ("The meeting has been moved to Thursday because half the team is away this week.",
         "Half the team is away, so the meeting is now on Thursday."),
        ("She walked slowly down the empty street, listening to the sound of the rain.",
         "She walked the empty street slowly, hearing the rain."),
    ),
    ("shorter", "ru"): (
        ("Собрание перенесли на четверг, потому что половина команды на этой неделе в отъезде.",
         "Половина команды в отъезде, и собрание перенесли на четверг."),
        ("Она медленно шла по пустой улице и слушала, как шумит дождь.",
         "Она медленно брела по пустой улице под шум дождя."),
    ),
    ("longer", "en"): (
        ("The meeting is now on Thursday.",
         "The meeting has now been moved, so that it will take place on Thursday."),
        ("She walked down the empty street in the rain.",
         "She walked all the way down the street, which was empty, while the rain was falling."),
    ),
    ("longer", "ru"): (
        ("Собрание теперь в четверг.",
         "Собрание перенесли, и теперь оно состоится в четверг."),
        ("Она шла по пустой улице под дождём.",
         "Она шла по улице, на которой никого не было, а в это время шёл дождь."),
    ),
}

RESTYLE_PRESETS = {
    "formal": "in a more formal register",
    "casual": "in a relaxed, casual register",
    "shorter": "more concisely, in fewer words",
    "longer": "at greater length, with more detail",
}

STORY_TEMPLATE = "{title}\n\n{premise}\n\n"

# A document's memory (desktop: the Memory panel; engine.memory stores it) goes after the
# exemplars and before the task, in brackets, the way writers mark an author's note.
MEMORY_TEMPLATE = "[Author's note: {note}]\n\n"
MEMORY_MAX_WORDS = 200  # a longer note is cut: the 270M base loses the text under a long preface
_WORD = re.compile(r"\S+")

# The rewrite task adapter's frame (resources/adapters/rewrite, built by training/tasks): a
# tag line names the mode; the prompt ends on "Rewritten:" and the answer starts with the
# space its first token carries, so no prompt ends inside a token boundary.
TASK_FRAME = "killah-rewrite v1"  # an adapter's metadata "prompt_format" when it was trained on it
TASK_INSTRUCTIONS = {
    "rephrase": "Say the same thing in other words.",
    "formal": "Say the same thing more formally.",
    "casual": "Say the same thing more casually.",
    "shorter": "Say the same thing in fewer words.",
    "longer": "Say the same thing at greater length.",
}
TASK_TEMPLATE = "Task: {instruction}\nOriginal: {text}\nRewritten:"


@dataclass(frozen=True)
class Prompt:
    """What the generator is given: plain text and when to stop."""

    text: str
    stop: tuple[str, ...] = ()
    task: str = "continue"
    avoid: tuple[str, ...] = ()  # phrases the generation never writes (exemplar names, frame)
    meta: dict = field(default_factory=dict, compare=False)


def exemplar_block(exemplars: Sequence[str]) -> str:
    """The fixed frame in which persona exemplars precede any task prompt."""
    if not exemplars:
        return ""
    return EXEMPLAR_HEADER + "".join(EXEMPLAR_TEMPLATE.format(text=e.strip()) for e in exemplars)


def framed(body: str, task: str, exemplars: Sequence[str] = (), memory: str = "",
           request: str = "", stop: Sequence[str] = (), avoid: Sequence[str] = ()) -> Prompt:
    """`body` after the preamble (exemplars, memory). With exemplars, the frame's markers end
    the generation (the model is starting another exemplar) and it never writes the frame's
    words or a name from the exemplars that the `request` does not use (exemplar_avoid)."""
    if exemplars:
        stop, avoid = (*stop, *FRAME_STOPS), (*avoid, *exemplar_avoid(exemplars, request))
    return Prompt(preamble(exemplars, memory) + body, stop=tuple(stop), task=task,
                  avoid=tuple(dict.fromkeys(avoid)))


NAME_ENDINGS_RU = ("ого", "его", "ому", "ему", "ими", "ыми", "ой", "ей", "ом", "ем", "ий", "ый",
                   "их", "ых", "ым", "им", "ов", "ев", "ая", "ую", "ах", "ях", "ам", "ям", "а",
                   "я", "у", "ю", "е", "ы", "и", "о", "ь")


def _ru_stem(name: str) -> str:
    """A Russian name without its case ending (at least three letters kept)."""
    low = name.lower()
    for end in NAME_ENDINGS_RU:
        if low.endswith(end) and len(name) - len(end) >= 3:
            return name[: len(name) - len(end)]
    return name


def exemplar_avoid(exemplars: Sequence[str], request: str) -> tuple[str, ...]:
    """What the model must not write after these exemplars: the frame's own phrases and the
    exemplars' proper names that the request does not use."""
    if not exemplars:
        return ()
    from engine.quality.facts import common_words, name_forms
    from engine.text import words

    lang = detect_lang(" ".join(exemplars))
    asked = set(words(request))
    common = common_words(lang)
    out: set[str] = set()
    for name in set().union(*(name_forms(ex, lang) for ex in exemplars)):
        forms = {name}
        if lang == "ru":  # Russian names decline: Анна, Анну, Анной; Вронский, Вронского
            stem = _ru_stem(name)
            if any(w.startswith(stem.lower()) for w in asked):
                continue
            forms |= {stem + end for end in ("", *NAME_ENDINGS_RU)}
        out |= {f for f in forms if (low := f.lower().replace("’", "'")) not in common
                and low not in asked}
    return (*sorted(out), *FRAME_PHRASES)


def memory_seen(note: str) -> str:
    """The part of a document's note the model sees: its first MEMORY_MAX_WORDS words,
    line breaks kept."""
    ends = [m.end() for m in _WORD.finditer(note)]
    if not ends:
        return ""
    return note[: ends[min(len(ends), MEMORY_MAX_WORDS) - 1]].strip()


def memory_block(note: str) -> str:
    """The document's memory (the writer's note on characters, setting, facts, tone) in its
    fixed frame; '' without one."""
    seen = memory_seen(note)
    return MEMORY_TEMPLATE.format(note=seen) if seen else ""


def preamble(exemplars: Sequence[str] = (), memory: str = "") -> str:
    """What precedes every task prompt: the persona's exemplars, then the document's memory
    (closest to the text it conditions)."""
    return exemplar_block(exemplars) + memory_block(memory)


def continue_prompt(context: str, exemplars: Sequence[str] = (), memory: str = "") -> Prompt:
    """Continue the user's text from where it ends."""
    return framed(context, "continue", exemplars, memory, request=context)


def rephrase_prompt(text: str, exemplars: Sequence[str] = (), memory: str = "",
                    mode: str = "rephrase") -> Prompt:
    """The base model's two-shot rewrite frame for `mode` (rephrase or a preset), with the
    examples of the text's language (REWRITE_SHOTS; English for any other language)."""
    lang = detect_lang(text)
    pairs = REWRITE_SHOTS.get((mode, lang)) or REWRITE_SHOTS.get((mode, "en"))
    if pairs is None:
        raise ValueError(f"no two-shot frame for {mode!r}: "
                         f"choose one of {', '.join(sorted({m for m, _ in REWRITE_SHOTS}))}")
    shots = "".join(REPHRASE_TEMPLATE.format(text=a) + b + "\n\n" for a, b in pairs)
    body = shots + REPHRASE_TEMPLATE.format(text=" ".join(text.split()))
    return framed(body, mode, exemplars, memory, request=text, stop=("\n",))


def restyle_prompt(
    description: str,
    author: str,
    word_count: int,
    exemplars: Sequence[str] = (),
    perturbation: PerturbationSettings | dict | None = None,
    key: str = "",
    memory: str = "",
) -> Prompt:
    """The style-LoRA format: description in, the author's prose out.

    The training pipeline appends the original passage to exactly this text, with
    the description already perturbed (training/augment.py); at inference the
    style adapter's `perturbation` is applied here, so the adapter sees the input
    it learned on. `key` varies the noise between calls that share a description.
    """
    described = perturb_input(description.strip(), perturbation, key=key)
    text = RESTYLE_TEMPLATE.format(word_count=int(word_count), author=author, description=described)
    return framed(text, "restyle", exemplars, memory, request=description,
                  avoid=(*RESTYLE_PHRASES, *author_avoid(author, description)))


def author_avoid(author: str, request: str) -> tuple[str, ...]:
    """The author's name as the restyle frame gives it, which the prose must not write ("This
    excerpt was taken from Conrad's 1908 novel", a quotation signed "– Conrad"): its words of
    four letters or more that start in capitals (Russian ones in every case form), unless the
    request uses them."""
    from engine.text import words

    asked = {w.lower() for w in words(request)}
    out: list[str] = []
    for name in re.findall(r"\w+", author):
        if len(name) < 4 or not name[0].isupper():
            continue
        forms = [name]
        if detect_lang(name) == "ru":
            stem = _ru_stem(name)
            forms += [stem + end for end in ("", *NAME_ENDINGS_RU)]
        if not any(f.lower() in asked for f in forms):
            out += forms
    return tuple(dict.fromkeys(out))


def restyle_preset_prompt(text: str, preset: str, exemplars: Sequence[str] = (),
                          perturbation: PerturbationSettings | dict | None = None,
                          memory: str = "") -> Prompt:
    """'Make it more formal / casual / shorter / longer' as a rewrite of `text` (restyle frame).

    A perturbation (the active style adapter's) applies to the passage, never to the request.
    """
    if preset not in RESTYLE_PRESETS:
        raise ValueError(f"unknown restyle preset {preset!r}: "
                         f"choose one of {sorted(RESTYLE_PRESETS)}")
    words = word_count(text)
    target = {"shorter": max(3, words * 2 // 3), "longer": words * 3 // 2}.get(preset, words)
    passage = perturb_input(text.strip(), perturbation)
    return restyle_prompt(
        f"{passage}\n\n(Rewrite the passage above {RESTYLE_PRESETS[preset]}.)",
        author="the same writer",
        word_count=target,
        exemplars=exemplars,
        memory=memory,
    )


def task_prompt(mode: str, text: str, exemplars: Sequence[str] = (), memory: str = "") -> Prompt:
    """The rewrite task adapter's frame for `mode` (rephrase or a preset); "like me" rephrases."""
    mode = "rephrase" if mode == "like_me" else mode
    if mode not in TASK_INSTRUCTIONS:
        raise ValueError(f"no task frame for {mode!r}: "
                         f"choose one of {', '.join(TASK_INSTRUCTIONS)}")
    body = TASK_TEMPLATE.format(instruction=TASK_INSTRUCTIONS[mode], text=" ".join(text.split()))
    return framed(body, mode, exemplars, memory, request=text, stop=("\n",))


def task_example(mode: str, source: str, target: str) -> dict:
    """One training record for the rewrite task adapter: its frame as the prompt, the rewrite
    (with the space its first token carries, and the newline that ends it) as the
    completion; training.completions trains on the completion only."""
    return {"prompt": task_prompt(mode, source).text,
            "completion": " " + " ".join(target.split()) + "\n"}


def story_prompt(premise: str, title: str = "", exemplars: Sequence[str] = (),
                 memory: str = "") -> Prompt:
    text = STORY_TEMPLATE.format(title=title.strip() or "A Story", premise=premise.strip())
    return framed(text, "story", exemplars, memory, request=f"{title} {premise}")


def training_example(description: str, author: str, original: str) -> dict:
    """One mlx-lm text-format record for the restyle task: prompt + original prose."""
    words = word_count(original)
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


# -- every mode the app and the command line offer -------------------------------------------

PRESETS = tuple(RESTYLE_PRESETS)
REWRITE_MODES = ("rephrase", *PRESETS, "like_me")
MODES = ("continue", *REWRITE_MODES, "story")
# Modes whose prompt takes the persona's exemplars: the ones meant to sound like the writer.
EXEMPLAR_MODES = ("continue", "like_me", "story")

MAX_REWRITE_WORDS = 400  # longer selections are refused: the 270M base loses the thread
REWRITE_LENGTH = {"shorter": 1.3, "longer": 3.0}  # words out per word in; 2.0 for the others
DEFAULT_TOKENS = {"continue": 120, "story": 400}  # when the caller names no length


@dataclass(frozen=True)
class PromptSettings:
    """What the active style changes in prompts (engine.style.ActiveStyle.prompt_settings)."""

    author: str = field(default="", metadata={
        "help": "the style adapter's author, named in its restyle frame ('' = no style adapter)"})
    perturbation: PerturbationSettings = field(default_factory=PerturbationSettings, metadata={
        "help": "the input perturbation the style adapter was trained with (its metadata.json)"})
    task_frame: str = field(default="", metadata={
        "help": "the prompt format of the task adapter serving this mode ('' = the base frames)"})


def build(mode: str, text: str, exemplars: Sequence[str] = (),
          settings: PromptSettings = PromptSettings(), memory: str = "", **kwargs) -> Prompt:
    """The prompt for any mode: MODES, or 'restyle' (kwargs: author, word_count) for the harness.

    "like me" is the style adapter's own restyle frame (its author, its perturbation)
    when one is active, so the adapter runs on the distribution it was trained on;
    without one it is a rephrasing after the persona's exemplars. `memory` is the
    document's note (memory_block), seen by every mode.
    """
    if mode == "continue":
        return continue_prompt(text, exemplars=exemplars, memory=memory)
    if settings.task_frame == TASK_FRAME and (mode in TASK_INSTRUCTIONS or mode == "like_me"):
        return task_prompt(mode, text, exemplars, memory=memory)
    if mode == "rephrase":
        return rephrase_prompt(text, exemplars=exemplars, memory=memory)
    if mode in RESTYLE_PRESETS:
        if not settings.author:  # the base alone: its two-shot frame (the restyle one runs away)
            return rephrase_prompt(text, exemplars, memory=memory, mode=mode)
        return restyle_preset_prompt(text, mode, exemplars, perturbation=settings.perturbation,
                                     memory=memory)
    if mode == "like_me":
        if settings.author:
            return restyle_prompt(text, settings.author, word_count(text), exemplars,
                                  perturbation=settings.perturbation, memory=memory)
        return rephrase_prompt(text, exemplars=exemplars, memory=memory)
    if mode == "story":
        return story_prompt(text, exemplars=exemplars, memory=memory, **kwargs)
    if mode == "restyle":
        author = kwargs.pop("author", None) or settings.author or "the author"
        words = kwargs.pop("word_count", None) or word_count(text)
        return restyle_prompt(text, author, words, exemplars,
                              perturbation=settings.perturbation, memory=memory, **kwargs)
    raise ValueError(f"unknown mode {mode!r}: choose one of {', '.join(MODES)}")


def max_tokens(mode: str, text: str = "", requested: int | None = None) -> int:
    """The length budget of a mode, in tokens.

    A rewrite's budget follows its input (16 tokens plus, per input word, the
    mode's length factor times engine.text's tokens per word for the text's language,
    so a Russian rewrite is not cut short); continue and story take
    the caller's `requested` length, or DEFAULT_TOKENS.
    """
    if mode in REWRITE_MODES:
        factor = REWRITE_LENGTH.get(mode, 2.0)
        return int(16 + word_count(text) * factor * tokens_per_word(detect_lang(text)))
    if mode in DEFAULT_TOKENS:
        return int(requested or DEFAULT_TOKENS[mode])
    raise ValueError(f"unknown mode {mode!r}: choose one of {', '.join(MODES)}")


@dataclass(frozen=True)
class ContextBudget:
    """How much of the document and of its note the model sees for a continuation."""

    document_words: int  # words before the cursor
    seen_words: int  # of which the model sees (the end: `context_chars` characters)
    note_words: int
    note_seen_words: int  # the note's first MEMORY_MAX_WORDS words

    def describe(self) -> str:
        if not self.document_words:
            doc = "no text yet"
        elif self.seen_words >= self.document_words:
            doc = f"all {self.document_words} words before the cursor"
        else:
            share = self.seen_words / self.document_words
            doc = (f"the last {self.seen_words} of {self.document_words} words before the "
                   f"cursor ({share:.0%})")
        if not self.note_words:
            note = "no note"
        elif self.note_seen_words >= self.note_words:
            note = f"all {self.note_words} words of the note"
        else:
            note = (f"the first {self.note_seen_words} of {self.note_words} words of the note "
                    f"(the rest is cut)")
        return f"The model sees {doc}, and {note}."


def context_budget(before_cursor: str, note: str, context_chars: int) -> ContextBudget:
    """What a continuation's prompt holds of `before_cursor` (its last `context_chars`
    characters, as the app sends) and of the document's `note`."""
    seen = before_cursor[-context_chars:] if context_chars > 0 else ""
    if len(seen) < len(before_cursor):  # a word cut at the edge is not seen whole
        seen = seen.split(None, 1)[1] if len(seen.split(None, 1)) > 1 else ""
    return ContextBudget(word_count(before_cursor), word_count(seen), word_count(note),
                         word_count(memory_seen(note)))
