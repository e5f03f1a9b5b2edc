"""The app's settings: one dataclass, read from and written (atomically) to settings.json.

The help text of each field lives in its metadata, so the Settings panel's
tooltips read it from here.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine import atomic, paths
from engine.style import DEFAULT_EXEMPLARS, DEFAULT_STRENGTH, MAX_EXEMPLARS, AdapterSpec, Style

FORMAT = "killah-settings v1"
MAX_RECENT = 10
MAX_LIST = 1000
# Numbers a hand-edited settings.json may hold; outside them a value falls back to its default.
BOUNDS = {
    "temperature": (0.0, 5.0), "min_p": (0.0, 1.0), "top_p": (0.0, 1.0),
    "repetition_penalty": (0.5, 3.0), "ghost_pause_ms": (50, 60_000),
    "ghost_max_tokens": (1, 512), "ghost_context_chars": (100, 100_000),
    "rephrase_candidates": (1, 16), "autosave_seconds": (1, 3600),
    "persona_strength": (0.0, 1.0), "persona_exemplars": (0, MAX_EXEMPLARS),
}
LIST_ITEMS = {"adapters": dict, "library_folders": str, "optout_folders": str,
              "recent_files": str}


def _f(default: Any, help: str, **kw: Any):
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata={"help": help}, **kw)
    return field(default=default, metadata={"help": help}, **kw)


@dataclass
class Settings:
    model: str = _f("default", "'default' (the bundled Gemma 3 270M base), a local MLX folder "
                               "or .gguf, or a Hugging Face id")
    temperature: float = _f(0.8, "sampling temperature: higher is more surprising")
    min_p: float = _f(0.05, "min-p: drop tokens less likely than this fraction of the most "
                            "likely one")
    top_p: float = _f(1.0, "nucleus sampling (1.0 = off)")
    repetition_penalty: float = _f(1.1, "penalty on recently used tokens (1.0 = off)")
    ghost_enabled: bool = _f(True, "suggest a continuation after a pause in typing")
    ghost_pause_ms: int = _f(600, "how long a typing pause must last before a suggestion "
                                  "starts, in ms")
    ghost_max_tokens: int = _f(24, "length of a suggestion, in tokens")
    ghost_context_chars: int = _f(2000, "how much text before the cursor the model sees")
    rephrase_candidates: int = _f(4, "how many rephrasings to generate and rank")
    dictation_language: str = _f("en", "language spoken for dictation ('en' uses the "
                                       "English-only model)")
    spoken_punctuation: bool = _f(True, "turn spoken 'comma', 'full stop', 'question mark' into "
                                        "punctuation")
    network_access: bool = _f(False, "allow downloading models from Hugging Face (off: no "
                                     "network connections)")
    autosave_seconds: int = _f(3, "how often unsaved text is written to the autosave folder")
    feedback_enabled: bool = _f(True, "record which suggestions you keep, change or turn down, "
                                      "on this computer only (`killah train preferences` learns "
                                      "from them)")
    # The active style (engine.style.Style): written only by Session.set_style
    persona: str = field(default="", metadata={"help": Style.help("persona")})
    persona_strength: float = field(default=DEFAULT_STRENGTH,
                                    metadata={"help": Style.help("strength")})
    persona_exemplars: int = field(default=DEFAULT_EXEMPLARS,
                                   metadata={"help": Style.help("exemplars")})
    adapters: list = field(default_factory=list, metadata={
        "help": "adapters in use: [{name, path, strength, tasks}] (engine.style.AdapterSpec)"})
    library_folders: list = field(default_factory=list,
                                  metadata={"help": "folders indexed into the library"})
    optout_folders: list = field(default_factory=list, metadata={"help": "folders never read"})
    recent_files: list = field(default_factory=list, metadata={
        "help": "recently opened documents, newest first"})

    @classmethod
    def from_dict(cls, data: dict, ignored: list[str] | None = None) -> Settings:
        """Known keys with the right type, within their bounds (BOUNDS), are taken; the rest
        keep their defaults and are named in `ignored`."""
        kwargs = {}
        defaults = cls()
        for f in dataclasses.fields(cls):
            if f.name not in data:
                continue
            value = data[f.name]
            default = getattr(defaults, f.name)
            if isinstance(default, bool):
                ok = isinstance(value, bool)
            elif isinstance(default, (int, float)):
                ok = (isinstance(value, (int, float)) and not isinstance(value, bool)
                      and math.isfinite(value))
                low, high = BOUNDS.get(f.name, (-math.inf, math.inf))
                ok = ok and low <= value <= high
                value = type(default)(value) if ok else value
            elif isinstance(default, list):
                ok = isinstance(value, list) and len(value) <= MAX_LIST and all(
                    isinstance(v, LIST_ITEMS.get(f.name, (str, dict))) for v in value)
            else:
                ok = isinstance(value, type(default))
            if ok:
                kwargs[f.name] = value
            elif ignored is not None:
                ignored.append(f"{f.name}={_short(value)}")
        return cls(**kwargs)

    def to_dict(self) -> dict:
        return {"format": FORMAT, **dataclasses.asdict(self)}

    @staticmethod
    def help(name: str) -> str:
        return next(f.metadata.get("help", "") for f in dataclasses.fields(Settings)
                    if f.name == name)

    def add_recent(self, path: str | Path) -> None:
        path = str(Path(path).resolve())
        self.recent_files = [path] + [p for p in self.recent_files if p != path]
        del self.recent_files[MAX_RECENT:]

    def style(self) -> Style:
        """The active style these settings record (ValueError when the file holds a bad one)."""
        return Style(persona=self.persona, strength=self.persona_strength,
                     exemplars=self.persona_exemplars,
                     adapters=tuple(AdapterSpec.from_dict(a) for a in self.adapters
                                    if isinstance(a, dict)))

    def record_style(self, style: Style) -> None:
        self.persona = style.persona
        self.persona_strength = style.strength
        self.persona_exemplars = style.exemplars
        self.adapters = [a.to_dict() for a in style.adapters]

    def sampling(self, **overrides: Any):
        """engine.generate.SamplingOptions from these settings."""
        from engine.generate import SamplingOptions

        kw = {"temperature": self.temperature, "min_p": self.min_p, "top_p": self.top_p,
              "repetition_penalty": self.repetition_penalty}
        kw.update(overrides)
        return SamplingOptions(**kw)


def load(path: Path | None = None) -> tuple[Settings, str]:
    """The saved settings, and a warning for the user when the file could not be read."""
    path = path or paths.settings_path()
    if not path.exists():
        return Settings(), ""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")  # noqa: TRY004 - caught just below
    except (OSError, ValueError) as e:
        return Settings(), f"settings file {path} is unreadable ({e}); using defaults"
    ignored: list[str] = []
    settings = Settings.from_dict(data, ignored)
    if ignored:
        return settings, f"settings file {path}: ignored {', '.join(ignored)} (defaults used)"
    return settings, ""


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 40 else text[:37] + "..."


def save(settings: Settings, path: Path | None = None) -> None:
    atomic.write_json(path or paths.settings_path(), settings.to_dict())
