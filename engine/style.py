"""The active style: one frozen value, and what it opens into for a loaded model.

A `Style` names the persona that conditions generation and how strongly, how
many of the persona's paragraphs go before the prompt as exemplars, and the LoRA
adapters stacked on the base model, each with its strength. A style adapter
(`tasks=()`) serves every mode; a task adapter (`tasks=("rephrase",)`) sits over
it for the modes it names (ARCHITECTURE.md: "a persona/style LoRA under a task
LoRA"):

    style = Style(persona="my fiction", strength=0.25, exemplars=3, adapters=(
        AdapterSpec("~/Library/.../adapters/austen"),
        AdapterSpec("resources/adapters/rephrase", tasks=("rephrase",)),
    ))
    active = style.open(lm)                       # adapters, steering vectors: slow, once
    prompt = active.prompt("rephrase", text)      # engine.tasks, exemplars, perturbation
    options = options.replace(max_tokens=tasks.max_tokens("rephrase", text))
    generate(lm, prompt, options, transforms=active.transforms("rephrase"))

The app keeps one (desktop/session.py writes it; the panels read it), and the
command line builds one from its options (`add_style_options`).

The user's persona strength is a number from 0 to 1 (the persona panel's slider,
settings.json); `steering_strength()` is the one mapping from it to the
multiplier of the steering vector.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from engine import tasks
from engine.errors import KillahError
from engine.perturb import PerturbationSettings
from engine.progress import CancelToken, ProgressCallback, report_progress

DEFAULT_STRENGTH = 0.25  # the user's default persona strength: the measured default steering
DEFAULT_EXEMPLARS = 3
MAX_EXEMPLARS = 8
MAX_ADAPTER_STRENGTH = 2.0
NEUTRAL_CHOICES = ("reference", "plain", "index")  # engine.persona.conditioning's


def steering_strength(strength: float) -> float:
    """The user's persona strength (0-1) as the multiplier of the steering vector.

    Linear: 0 is off, DEFAULT_STRENGTH (0.25) is the measured default steering
    strength (engine.persona.steering.DEFAULT_STRENGTH, 2; docs/persona.md), and
    1 is four times that (8), where the generated text starts to lose the content.
    """
    from engine.persona.steering import DEFAULT_STRENGTH as MEASURED

    return float(strength) / DEFAULT_STRENGTH * MEASURED


def persona_strength(steering: float) -> float:
    """The inverse of `steering_strength`: a steering multiplier as the user's 0-1 strength."""
    from engine.persona.steering import DEFAULT_STRENGTH as MEASURED

    return float(steering) / MEASURED * DEFAULT_STRENGTH


@dataclass(frozen=True)
class AdapterSpec:
    """One LoRA adapter of a style: its folder, strength, and the modes it serves."""

    path: str = field(metadata={"help": "the adapter folder (mlx-lm format + metadata.json)"})
    strength: float = field(default=1.0, metadata={
        "help": f"1 = as trained, 0 = off, up to {MAX_ADAPTER_STRENGTH:g} "
                "(multiplies its LoRA scale)"})
    tasks: tuple[str, ...] = field(default=(), metadata={
        "help": "the modes a task adapter serves; empty for a style adapter (every mode)"})
    name: str = field(default="", metadata={"help": "shown to the user (default: the folder name)"})

    def __post_init__(self):
        object.__setattr__(self, "path", str(self.path))
        object.__setattr__(self, "tasks", tuple(self.tasks))
        object.__setattr__(self, "name", self.name or Path(self.path).name)
        if not self.path:
            raise ValueError("an adapter needs a folder")
        if not 0 <= self.strength <= MAX_ADAPTER_STRENGTH:
            raise ValueError(f"adapter {self.name}: strength must be in "
                             f"[0, {MAX_ADAPTER_STRENGTH:g}], got {self.strength}")
        unknown = [t for t in self.tasks if t not in tasks.MODES]
        if unknown:
            raise ValueError(f"adapter {self.name}: unknown mode(s) {', '.join(unknown)}; "
                             f"choose from {', '.join(tasks.MODES)}")

    @property
    def is_task(self) -> bool:
        return bool(self.tasks)

    def serves(self, mode: str) -> bool:
        return not self.tasks or mode in self.tasks

    def to_dict(self) -> dict:
        return {"name": self.name, "path": self.path, "strength": self.strength,
                "tasks": list(self.tasks)}

    @classmethod
    def from_dict(cls, d: dict) -> AdapterSpec:
        """From to_dict(); older settings kept {'name', 'scale'} (a folder in the adapters dir)."""
        from engine import paths

        path = d.get("path") or str(paths.adapters_dir() / str(d.get("name", "")))
        strength = d.get("strength", d.get("scale", 1.0))
        return cls(path=path, strength=float(strength), tasks=tuple(d.get("tasks") or ()),
                   name=str(d.get("name") or ""))


@dataclass(frozen=True)
class Style:
    """Everything that makes generation sound like someone: persona, strengths, adapters."""

    persona: str = field(default="", metadata={"help": "the persona to write like ('' = none)"})
    strength: float = field(default=DEFAULT_STRENGTH, metadata={
        "help": "how strongly the persona steers generation (0-1; 0.25 = the measured default, "
                "steering strength 2)"})
    exemplars: int = field(default=DEFAULT_EXEMPLARS, metadata={
        "help": f"the persona's paragraphs put before the prompt (0-{MAX_EXEMPLARS}; 0 = off)"})
    layers: tuple[int, ...] | None = field(default=None, metadata={
        "help": "decoder layers to steer (default: one just before the middle)"})
    neutral: str = field(default="reference", metadata={
        "help": "what steering subtracts: 'reference' (built-in mixed-author prose), 'plain' or "
                "'index' (indexed prose outside the persona's folders)"})
    adapters: tuple[AdapterSpec, ...] = field(default=(), metadata={
        "help": "LoRA adapters: style adapters (every mode) under task adapters (their modes)"})
    bundled: bool = field(default=False, metadata={
        "help": "use the task adapters Killah ships (resources/adapters: rephrase and the presets, "
                "English) for the modes no chosen task adapter serves "
                "(off by default: docs/rewrite.md)"})

    def __post_init__(self):
        object.__setattr__(self, "adapters", tuple(
            a if isinstance(a, AdapterSpec) else AdapterSpec.from_dict(a) for a in self.adapters))
        if self.layers is not None:
            object.__setattr__(self, "layers", tuple(int(x) for x in self.layers))
        if not 0 <= self.strength <= 1:
            raise ValueError(f"persona strength must be in [0, 1], got {self.strength}")
        if not 0 <= self.exemplars <= MAX_EXEMPLARS:
            raise ValueError(f"exemplars must be in [0, {MAX_EXEMPLARS}], got {self.exemplars}")
        if self.neutral not in NEUTRAL_CHOICES:
            raise ValueError(f"neutral must be one of {', '.join(NEUTRAL_CHOICES)}, "
                             f"not {self.neutral!r}")
        for mode in tasks.MODES:
            serving = [a.name for a in self.adapters if a.is_task and mode in a.tasks]
            if len(serving) > 1:
                raise ValueError(f"two task adapters for {mode}: {', '.join(serving)}")

    @staticmethod
    def help(name: str) -> str:
        """A field's help text (the CLI and the persona panel's tooltips read it)."""
        return next(f.metadata.get("help", "") for f in fields(Style) if f.name == name)

    # -- reading it ---------------------------------------------------------------------
    @property
    def steering(self) -> float:
        """The steering multiplier (0 without a persona): steering_strength(strength)."""
        return steering_strength(self.strength) if self.persona else 0.0

    @property
    def is_plain(self) -> bool:
        return not self.persona and not self.adapters

    def adapters_for(self, mode: str) -> tuple[AdapterSpec, ...]:
        """The stack for `mode`, bottom first: the style adapters, then its task adapter."""
        return (tuple(a for a in self.adapters if not a.is_task)
                + tuple(a for a in self.adapters if a.is_task and mode in a.tasks))

    def describe(self) -> str:
        parts = [f"persona {self.persona} ({self.strength:.0%}, {self.exemplars} exemplars)"
                 if self.persona else "no persona"]
        for a in self.adapters:
            serves = f" for {', '.join(a.tasks)}" if a.tasks else ""
            parts.append(f"{a.name} × {a.strength:.2f}{serves}")
        return ", ".join(parts)

    def replace(self, **changes: Any) -> Style:
        return replace(self, **changes)

    def to_dict(self) -> dict:
        return {"persona": self.persona, "strength": self.strength, "exemplars": self.exemplars,
                "layers": list(self.layers) if self.layers is not None else None,
                "neutral": self.neutral, "adapters": [a.to_dict() for a in self.adapters],
                "bundled": self.bundled}

    @classmethod
    def from_dict(cls, d: dict) -> Style:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known and v is not None})

    # -- opening it ---------------------------------------------------------------------
    def open(self, lm=None, store=None, progress: ProgressCallback | None = None,
             cancel: CancelToken | None = None) -> ActiveStyle:
        """Load what this style needs for `lm`: adapters (validated), persona, steering vectors.

        Slow (reads the index, may compute steering vectors): call it off the GUI thread.
        Raises KillahError (or AdapterMismatch) naming the adapter or persona at fault, and
        Cancelled between its steps once `cancel` is set.
        """
        if self.bundled and lm is not None:
            taken = {m for a in self.adapters if a.is_task for m in a.tasks}
            extra = tuple(b for b in bundled_task_adapters(lm) if not taken & set(b.tasks))
            if extra:
                return replace(self, adapters=self.adapters + extra, bundled=False).open(
                    lm, store, progress)
        if self.is_plain:
            return ActiveStyle(self)
        if lm is None:
            raise KillahError("a persona or adapters need the model: it is not loaded yet")

        def say(message: str) -> None:
            if cancel is not None:
                cancel.raise_if_cancelled()
            report_progress(progress, "style", message=message)

        persona = profile = None
        if self.persona:
            from engine.persona import PersonaConditioning, PersonaStrengths
            from engine.quality.profile import StyleProfile

            say(f"opening persona {self.persona}")
            strengths = PersonaStrengths(exemplars=self.exemplars, steering=self.steering,
                                         layers=self.layers, neutral=self.neutral)
            persona = PersonaConditioning.open(self.persona, lm, strengths, store=store)
            if self.steering > 0:
                say("computing the steering vector")
                persona.transforms()  # computed (or read from the cache) now, not mid-typing
            profile = StyleProfile.from_texts(persona.data.texts, name=self.persona)
        stacks, style_adapters, narrow = {}, (), {}
        if self.adapters:
            from engine.adapters import AdapterStack, load_adapter

            say("loading adapters")
            loaded = {a.path: load_adapter(a.path) for a in self.adapters}
            style_adapters = tuple(loaded[a.path] for a in self.adapters if not a.is_task)
            built: dict[tuple, AdapterStack] = {}  # modes with the same adapters share one stack

            def stack_of(specs):
                if specs and specs not in built:
                    built[specs] = AdapterStack.for_model(lm, [
                        (loaded[a.path], loaded[a.path].lora_scale * a.strength) for a in specs])
                return built.get(specs)

            for mode in tasks.MODES:
                specs = self.adapters_for(mode)
                if specs:
                    stacks[mode] = stack_of(specs)
                # a task adapter trained for some languages only (metadata "languages") serves
                # texts in those; other texts get the stack without it
                langs = {lang for a in specs
                         for lang in loaded[a.path].metadata.get("languages") or ()}
                if langs:
                    rest = tuple(a for a in specs if not loaded[a.path].metadata.get("languages"))
                    narrow[mode] = (frozenset(langs), stack_of(rest))
        say("ready")
        return ActiveStyle(self, persona, stacks, style_adapters, profile, narrow)


class ActiveStyle:
    """A Style opened for one loaded model: transforms, exemplars and prompt settings per mode.

    Immutable: a new style opens into a new ActiveStyle. `ActiveStyle(Style())` is the
    plain model (no transforms, no exemplars).
    """

    def __init__(self, style: Style, persona=None, stacks: dict | None = None,
                 style_adapters: Sequence = (), quality_profile=None, narrow: dict | None = None):
        self.style = style
        self.persona = persona  # engine.persona.PersonaConditioning or None
        self._stacks = dict(stacks or {})  # mode -> engine.adapters.AdapterStack
        self._style_adapters = tuple(style_adapters)  # engine.adapters.Adapter, bottom first
        self.quality_profile = quality_profile  # engine.quality StyleProfile of the persona
        # mode -> (the languages its task adapter serves, the stack for texts in others)
        self._narrow = dict(narrow or {})

    def stack(self, mode: str, text: str = ""):
        """The AdapterStack for `mode` (None when no adapter serves it); for `text`, without a
        task adapter trained for other languages (its metadata's "languages")."""
        if text and mode in self._narrow:
            from engine.text import detect_lang

            langs, rest = self._narrow[mode]
            if detect_lang(text) not in langs:
                return rest
        return self._stacks.get(mode)

    def transforms(self, mode: str, text: str = "") -> tuple:
        """Generator transforms for `mode` (and `text`, see stack): its adapter stack, then
        the persona's steering."""
        stack = self.stack(mode, text)
        steering = self.persona.transforms() if self.persona is not None else ()
        return ((stack,) if stack is not None else ()) + tuple(steering)

    @property
    def has_exemplars(self) -> bool:
        return self.persona is not None and self.style.exemplars > 0

    def exemplars(self, context: str) -> tuple[str, ...]:
        """The persona's paragraphs closest to `context` (slow, it embeds: use a worker)."""
        return tuple(self.persona.exemplars(context)) if self.has_exemplars else ()

    def prompt_settings(self, mode: str, text: str = "") -> tasks.PromptSettings:
        """What the adapters serving `mode` change in its prompt: the style adapters' author and
        trained perturbation, and the frame a task adapter was trained on (its metadata's
        prompt_format); the defaults without them."""
        author = next((a.author for a in self._style_adapters if a.author), "")
        noise = next((a.perturbation for a in self._style_adapters if a.perturbation), {})
        stack = self.stack(mode, text)
        task_adapters = [e.adapter for e in (stack.entries if stack is not None else ())
                         if e.adapter not in self._style_adapters]
        frame = next((str(a.metadata["prompt_format"]) for a in task_adapters
                      if a.metadata.get("prompt_format")), "")
        return tasks.PromptSettings(author=author, task_frame=frame,
                                    perturbation=PerturbationSettings.from_dict(noise))

    def offers(self, mode: str) -> bool:
        """Whether `mode` can run: "like me" needs exemplars or a style adapter with an author."""
        if mode != "like_me":
            return mode in tasks.MODES
        return self.has_exemplars or bool(self.prompt_settings(mode).author)

    def prompt(self, mode: str, text: str, **kwargs) -> tasks.Prompt:
        """The prompt for `mode` through engine.tasks (slow when the mode takes exemplars)."""
        exemplars = self.exemplars(text) if mode in tasks.EXEMPLAR_MODES else ()
        return tasks.build(mode, text, exemplars, self.prompt_settings(mode, text), **kwargs)

    def style_similarity(self, text: str) -> float | None:
        """How much `text` sounds like the persona, 0-1 (None without one). Slow: it embeds."""
        if self.persona is None:
            return None
        return float(self.persona.style_similarity(text).score)

    def style_similarities(self, texts: Sequence[str]) -> list[float] | None:
        """`style_similarity` of each text, embedded in one batch (None without a persona)."""
        if self.persona is None:
            return None
        return [float(s.score) for s in self.persona.style_similarities(list(texts))]


# -- the command line -----------------------------------------------------------------------


def add_style_options(parser: argparse.ArgumentParser) -> None:
    """--persona, --strength, --exemplars, --adapter, --task-adapter (help from Style's fields)."""
    group = parser.add_argument_group("style")
    group.add_argument("--persona", default="", help=Style.help("persona"))
    group.add_argument("--strength", type=float, default=DEFAULT_STRENGTH,
                       help=f"{Style.help('strength')} (default: {DEFAULT_STRENGTH})")
    group.add_argument("--exemplars", type=int, default=DEFAULT_EXEMPLARS,
                       help=f"{Style.help('exemplars')} "
                            f"(default: {DEFAULT_EXEMPLARS}, with a persona)")
    group.add_argument("--adapter", action="append", default=[], metavar="NAME[:STRENGTH]",
                       help="a style adapter: a folder or a name in the adapters folder, "
                            "optionally with its strength (1 = as trained); repeatable")
    group.add_argument("--bundled", action="store_true",
                       help="use the shipped rewrite task adapter (resources/adapters/rewrite) for "
                            "rephrase and the presets")
    group.add_argument("--task-adapter", action="append", default=[],
                       metavar="MODE[,MODE]=NAME[:STRENGTH]",
                       help="a task adapter over the style adapters, for the modes named; "
                            "repeatable")


def style_from_args(args: argparse.Namespace) -> Style:
    """The Style the command-line options describe; a KillahError says what is wrong."""
    specs = [_adapter_arg(a, ()) for a in args.adapter]
    for item in args.task_adapter:
        modes, sep, rest = item.partition("=")
        if not sep:
            raise KillahError(f"--task-adapter {item!r}: expected MODE=NAME[:STRENGTH]")
        specs.append(_adapter_arg(rest, tuple(m.strip() for m in modes.split(","))))
    try:
        return Style(persona=args.persona, strength=args.strength, exemplars=args.exemplars,
                     adapters=tuple(specs), bundled=getattr(args, "bundled", False))
    except ValueError as e:
        raise KillahError(str(e)) from None


def _adapter_arg(value: str, modes: Sequence[str]) -> AdapterSpec:
    from engine import paths

    name, strength = value, 1.0
    head, sep, tail = value.rpartition(":")
    if sep and head:
        try:
            name, strength = head, float(tail)
        except ValueError:
            pass  # a colon in the path itself
    path = Path(name).expanduser()
    if not path.is_dir():
        path = paths.adapters_dir() / name
    if not path.is_dir():
        raise KillahError(f"adapter {name!r}: no such folder, and none of that name in "
                          f"{paths.adapters_dir()}")
    try:
        return AdapterSpec(str(path), strength, tuple(modes))
    except ValueError as e:
        raise KillahError(str(e)) from None


# -- adapters on disk --------------------------------------------------------------------------


@dataclass(frozen=True)
class AdapterInfo:
    """An adapter folder as the persona panel lists it."""

    path: str
    name: str
    author: str
    tasks: tuple[str, ...]  # what its metadata says it serves; () = a style adapter
    mtime: float


def adapter_tasks(metadata: dict) -> tuple[str, ...]:
    """The modes an adapter's metadata.json says it serves ('restyle' and none: a style adapter)."""
    named = metadata.get("tasks") or [metadata.get("task")]
    return tuple(t for t in named if t in tasks.MODES)


def list_adapters(folder: str | Path | None = None) -> list[AdapterInfo]:
    """Adapter folders (mlx-lm format) in the adapters folder, newest first."""
    from engine import paths

    root = Path(folder) if folder is not None else paths.adapters_dir()
    out = []
    for sub in sorted(root.iterdir()) if root.is_dir() else ():
        if not (sub / "adapter_config.json").is_file():
            continue
        try:
            meta = json.loads((sub / "metadata.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            meta = {}
        meta = meta if isinstance(meta, dict) else {}
        out.append(AdapterInfo(str(sub), str(meta.get("name") or sub.name),
                               str(meta.get("author") or ""), adapter_tasks(meta),
                               sub.stat().st_mtime))
    return sorted(out, key=lambda a: -a.mtime)


BUNDLED_ADAPTERS = Path(__file__).resolve().parents[1] / "resources" / "adapters"


def bundled_task_adapters(lm, folder: str | Path = BUNDLED_ADAPTERS) -> tuple[AdapterSpec, ...]:
    """The shipped task adapters trained on `lm`'s base model, each for the modes it serves."""
    from engine.adapters import normalize_model_id

    want = normalize_model_id(getattr(lm, "model_id", None))
    out = []
    for info in list_adapters(folder):
        try:
            meta = json.loads((Path(info.path) / "metadata.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        base = (meta.get("base_model") or {}).get("id") if isinstance(meta, dict) else None
        if info.tasks and base and normalize_model_id(base) == want:
            out.append(AdapterSpec(info.path, 1.0, info.tasks))
    return tuple(out)
