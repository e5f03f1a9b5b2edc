"""What the generator gets from a persona: exemplars for the prompt, transforms for the model.

    cond = PersonaConditioning.open("my fiction", lm, PersonaStrengths(exemplars=3, steering=4.0))
    prompt = tasks.continue_prompt(context, exemplars=cond.exemplars(context))
    completion = generate(lm, prompt, opts, transforms=cond.transforms())

Each signal has its own strength and works alone: exemplars=0 or steering=0
turns that signal off. The steering vector is cached in the index database per
persona, model and layers, and recomputed when the persona's documents change.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from engine.index.store import IndexStore
from engine.persona import steering
from engine.persona.calibrate import VERSION as CALIBRATION_VERSION
from engine.persona.calibrate import Calibration, calibrate, held_out
from engine.persona.exemplars import (
    StyleScore,
    persona_embedding,
    select_exemplars,
    style_similarities,
    style_similarity,
)
from engine.persona.neutral import neutral_paragraphs, reference_paragraphs
from engine.persona.persona import Persona, PersonaData, get_persona
from engine.progress import CancelToken, ProgressCallback
from engine.tasks import Prompt, continue_prompt, exemplar_block

STEERING_SAMPLE = 120  # persona paragraphs used for the mean hidden state
NEUTRAL_CHOICES = ("reference", "plain", "index")


@dataclass(frozen=True)
class PersonaStrengths:
    exemplars: int = field(default=3, metadata={"help": "exemplar paragraphs in the prompt (0 = off)"})
    steering: float = field(default=steering.DEFAULT_STRENGTH,
                            metadata={"help": "multiplier of the style steering vector (0 = off)"})
    layers: tuple[int, ...] | None = field(
        default=None, metadata={"help": "decoder layers to steer (default: one just before the middle)"})
    neutral: str = field(default="reference", metadata={
        "help": "neutral reference: 'reference' (built-in mixed-author prose), 'plain' (built-in "
                "plain paragraphs) or 'index' (indexed prose outside the persona's folders)"})
    calibrated: bool = field(default=True, metadata={
        "help": "use the persona's calibrated layer and strength when it has them: `steering` "
                "is then relative, DEFAULT_STRENGTH meaning the calibrated strength"})

    def __post_init__(self):
        if self.exemplars < 0 or self.steering < 0:
            raise ValueError("persona strengths must be >= 0")
        if self.neutral not in NEUTRAL_CHOICES:
            raise ValueError(f"neutral must be one of {NEUTRAL_CHOICES}, not {self.neutral!r}")

    @classmethod
    def from_dict(cls, d: dict) -> "PersonaStrengths":
        known = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        if known.get("layers") is not None:
            known["layers"] = tuple(int(x) for x in known["layers"])
        return cls(**known)


class PersonaConditioning:
    """A persona's conditioning signals for one model, with per-signal strengths."""

    def __init__(self, store: IndexStore, persona: Persona, lm=None,
                 strengths: PersonaStrengths = PersonaStrengths(), embedder: str | None = None):
        self.store, self.persona, self.lm, self.strengths = store, persona, lm, strengths
        self.data = PersonaData(store, persona, embedder)
        self._steering: steering.SteeringTransform | None = None
        self._calibration: Calibration | bool | None = None  # False: looked, none cached

    @classmethod
    def open(cls, name: str, lm=None, strengths: PersonaStrengths = PersonaStrengths(),
             store: IndexStore | None = None, embedder: str | None = None) -> "PersonaConditioning":
        store = store or IndexStore()
        return cls(store, get_persona(store, name), lm, strengths, embedder)

    def with_strengths(self, **changes) -> "PersonaConditioning":
        """The same persona with other strengths (the loaded data and vectors are shared)."""
        from dataclasses import replace

        other = object.__new__(PersonaConditioning)
        other.__dict__.update(self.__dict__)
        other.strengths = replace(self.strengths, **changes)
        same = (other.strengths.layers, other.strengths.neutral, other.strengths.calibrated) \
            == (self.strengths.layers, self.strengths.neutral, self.strengths.calibrated)
        other._steering = None
        if not same:
            other._calibration = None
        elif self._steering is not None:
            other._steering = self._steering.scaled(other.steering_setting()[1])
        return other

    # -- the three signals -----------------------------------------------------------
    def exemplars(self, context: str) -> list[str]:
        return select_exemplars(self.data, context, k=self.strengths.exemplars)

    def exemplar_block(self, context: str) -> str:
        return exemplar_block(self.exemplars(context))

    def embedding(self, context: str = "") -> np.ndarray:
        return persona_embedding(self.data, context)

    def style_similarity(self, text: str) -> StyleScore:
        return style_similarity(text, self.data)

    def style_similarities(self, texts: Sequence[str]) -> list[StyleScore]:
        return style_similarities(texts, self.data)

    def transforms(self) -> tuple:
        if self.strengths.steering == 0:
            return ()
        return (self.steering_transform(),)

    def steering_transform(self) -> steering.SteeringTransform:
        if self._steering is None:
            if self.lm is None:
                raise ValueError("steering needs a model: pass lm to PersonaConditioning")
            layers, strength = self.steering_setting()
            vectors, key = self.vectors(layers)
            self._steering = steering.SteeringTransform(vectors, strength, key)
        return self._steering

    def steering_setting(self) -> tuple[tuple[int, ...], float]:
        """The layers steered and the multiplier: the calibrated ones (scaled by
        strengths.steering / DEFAULT_STRENGTH) when the persona has a calibration and
        strengths.calibrated, else strengths.layers (or the default layer) and
        strengths.steering as given."""
        cal = self.calibration() if self.strengths.calibrated and not self.strengths.layers \
            else None
        if cal is not None:
            return (cal.layer,), self.strengths.steering * cal.strength / steering.DEFAULT_STRENGTH
        layers = tuple(self.strengths.layers or steering.default_layers(self.lm.model))
        return layers, self.strengths.steering

    # -- calibration (engine.persona.calibrate) ------------------------------------------
    def calibration(self) -> Calibration | None:
        """The persona's cached calibration for this model and reference, or None."""
        if self.lm is None:
            return None
        if self._calibration is None:
            row = self.store.db.execute(
                "SELECT fingerprint, data FROM persona_cache WHERE persona = ? AND model = ? "
                "AND kind = ?", [self.persona.name, self._model_id(), self._calibration_kind()]
            ).fetchone()
            if row and row[0] == self.data.fingerprint:
                self._calibration = Calibration.from_json(bytes(row[1]).decode()) or False
            else:
                self._calibration = False
        return self._calibration or None

    def calibrate(self, progress: ProgressCallback | None = None,
                  cancel: CancelToken | None = None, force: bool = False,
                  **options) -> Calibration:
        """Choose this persona's steering layer and strength (calibrate.py) and cache them.

        Minutes of generation on a CPU: call it off the GUI thread. `force` recomputes a
        cached calibration; `options` go to engine.persona.calibrate.calibrate.
        """
        cached = None if force else self.calibration()
        if cached is not None:
            return cached
        result = calibrate(self, progress=progress, cancel=cancel, **options)
        with self.store.db.atomic():
            self.store.db["persona_cache"].upsert(
                {"persona": self.persona.name, "model": self._model_id(),
                 "kind": self._calibration_kind(), "fingerprint": self.data.fingerprint,
                 "data": result.to_json().encode(), "created_at": time.time()},
                pk=("persona", "model", "kind"))
        self._calibration = result
        self._steering = None
        return result

    def calibration_indices(self) -> list[int]:
        """Positions (in data.texts) of the paragraphs held out to calibrate steering: never
        in the steering vector's sample."""
        return held_out(len(self.data.texts))

    def calibration_prompt(self, opening: str, exclude: set[int]) -> Prompt:
        """A continuation of `opening` after exemplars chosen without the `exclude` ids."""
        k = self.strengths.exemplars
        exemplars = select_exemplars(self.data, opening, k=k, exclude=exclude) if k else []
        return continue_prompt(opening, exemplars=exemplars)

    def _calibration_kind(self) -> str:
        digest = hashlib.sha256("\n\n".join(self.neutral_texts()).encode()).hexdigest()[:12]
        return f"calibration:v{CALIBRATION_VERSION}:{self.strengths.neutral}:{digest}"

    def _model_id(self) -> str:
        return getattr(self.lm, "fingerprint", None) or getattr(self.lm, "model_id", "model")

    # -- cached steering vectors ---------------------------------------------------
    def vectors(self, layers: Sequence[int]) -> tuple[dict[int, np.ndarray], str]:
        """Steering vectors for `layers` (cached in the index) and their cache key."""
        model_id = self._model_id()
        neutral = self.neutral_texts()
        digest = hashlib.sha256("\n\n".join(neutral).encode()).hexdigest()[:12]
        kind = f"steering:v2:{self.strengths.neutral}:{digest}:" + ",".join(str(x) for x in layers)
        fingerprint = self.data.fingerprint
        row = self.store.db.execute(
            "SELECT fingerprint, data FROM persona_cache WHERE persona = ? AND model = ? AND kind = ?",
            [self.persona.name, model_id, kind]).fetchone()
        key = f"{self.persona.name}:{fingerprint}:{kind}"
        if row and row[0] == fingerprint:
            cached = steering.unpack(row[1], _hidden_size(self.lm))
            if cached is not None:
                return cached, key
        vectors = steering.steering_vectors(self.lm, self._persona_sample(), neutral, layers)
        with self.store.db.atomic():
            self.store.db["persona_cache"].upsert(
                {"persona": self.persona.name, "model": model_id, "kind": kind,
                 "fingerprint": fingerprint, "data": steering.pack(vectors, {}),
                 "created_at": time.time()}, pk=("persona", "model", "kind"))
        return vectors, key

    def _persona_sample(self) -> list[str]:
        """Up to STEERING_SAMPLE persona paragraphs, evenly spread over the collection, never
        one held out for calibration."""
        held = set(self.calibration_indices())
        texts = [t for i, t in enumerate(self.data.texts) if i not in held]
        if len(texts) <= STEERING_SAMPLE:
            return texts
        picks = np.linspace(0, len(texts) - 1, STEERING_SAMPLE).round().astype(int)
        return [texts[i] for i in picks]

    def neutral_texts(self) -> list[str]:
        if self.strengths.neutral == "plain":
            return neutral_paragraphs(160)
        if self.strengths.neutral == "reference":
            from engine.index.features import guess_language

            return reference_paragraphs(guess_language(" ".join(self.data.texts[:20])))
        own = set(int(i) for i in self.data.ids)
        rows = self.store.db.execute(
            "SELECT id, text FROM paragraphs WHERE words BETWEEN 25 AND 300 ORDER BY id").fetchall()
        others = [t for pid, t in rows if pid not in own]
        if len(others) < 40:
            raise ValueError(f"neutral='index' needs at least 40 paragraphs outside persona "
                             f"{self.persona.name!r}; the index has {len(others)}")
        picks = np.linspace(0, len(others) - 1, min(240, len(others))).round().astype(int)
        return [others[i] for i in picks]


def _hidden_size(lm) -> int | None:
    config = dict(getattr(lm, "config", None) or {})
    config.update(config.get("text_config") or {})
    size = config.get("hidden_size")
    return size if isinstance(size, int) else None
