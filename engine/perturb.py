"""Input perturbations shared by style-LoRA training and inference.

A LoRA trained on degraded inputs expects the same degradation when it runs:
an adapter trained with 8% input noise must see 8% noise at inference too. So
the settings travel in the adapter's metadata.json ("perturbation"), and both
the training pipeline (training/augment.py) and the prompts the app builds
(engine/tasks.py's restyle frame, with the active style adapter's settings from
engine/style.py) call `perturb_input` with them.

Everything here is deterministic for a given seed and text, and needs no model.
"""

from __future__ import annotations

import hashlib
import random
import re
from dataclasses import asdict, dataclass, field, fields

_WORD = re.compile(r"\w+(?:['’]\w+)*|[^\w\s]", re.UNICODE)

# Suffixes that mark most English adjectives; together with the short list below
# they drop the bulk of descriptive words without a POS tagger.
_ADJ_SUFFIXES = ("ous", "ful", "ive", "able", "ible", "less", "ish", "ic", "ical", "ary", "ent", "ant")
_COMMON_ADJECTIVES = frozenset(
    """
    good bad great small large little big old young new long short high low dark light
    bright pale cold warm hot cool soft hard quiet loud quick slow strange sad happy
    poor rich tall heavy thin thick deep wide narrow fine fair kind cruel gentle wild
    grey gray black white red green blue yellow brown golden silent empty full sudden
    """.split()
)
_KEEP = frozenset("the a an and or but of to in on at by for with from as is was were be been".split())


@dataclass(frozen=True)
class PerturbationSettings:
    """How an adapter's inputs were degraded in training (and must be at inference)."""

    input_noise: float = field(
        default=0.0, metadata={"help": "share of input words dropped, swapped or duplicated (e.g. 0.08)"}
    )
    seed: int = field(default=0, metadata={"help": "base seed; each text also seeds from its hash"})

    @classmethod
    def from_dict(cls, data: dict | None) -> "PerturbationSettings":
        data = data or {}
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def active(self) -> bool:
        return self.input_noise > 0


def _rng(text: str, seed: int) -> random.Random:
    digest = hashlib.sha256(f"{seed}\0{text}".encode("utf-8")).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def _join(tokens: list[str]) -> str:
    out = ""
    for tok in tokens:
        if out and (tok[0].isalnum() or tok[0] in "\"'([“‘"):
            out += " "
        out += tok
    return out


def noise(text: str, rate: float, seed: int = 0) -> str:
    """Drop, swap with the next word, or duplicate about `rate` of the words."""
    if rate <= 0 or not text.strip():
        return text
    rng = _rng(text, seed)
    tokens = _WORD.findall(text)
    out: list[str] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok[0].isalnum() and rng.random() < rate:
            action = rng.randrange(3)
            if action == 0:  # drop
                i += 1
                continue
            if action == 1 and i + 1 < len(tokens) and tokens[i + 1][0].isalnum():  # swap
                out += [tokens[i + 1], tok]
                i += 2
                continue
            out += [tok, tok]  # duplicate
            i += 1
            continue
        out.append(tok)
        i += 1
    return _join(out)


def drop_adjectives(text: str) -> str:
    """Information dropout: remove descriptive words so the model must invent them."""
    kept = []
    for tok in _WORD.findall(text):
        low = tok.lower()
        if tok[0].isalpha() and low not in _KEEP and (
            low in _COMMON_ADJECTIVES or (len(low) > 5 and low.endswith(_ADJ_SUFFIXES))
        ):
            continue
        kept.append(tok)
    return _join(kept)


def abstract_placeholders(text: str, rate: float = 0.5, seed: int = 0) -> str:
    """Replace capitalised names and some longer nouns with [NAME] / [THING] placeholders."""
    rng = _rng(text, seed)
    tokens = _WORD.findall(text)
    out = []
    for i, tok in enumerate(tokens):
        sentence_start = i == 0 or tokens[i - 1] in ".!?\"“"
        if tok[:1].isupper() and tok.isalpha() and not sentence_start and tok != "I":
            out.append("[NAME]")
        elif (
            i > 0
            and tokens[i - 1].lower() in ("the", "a", "an", "his", "her", "their", "my", "our")
            and tok.isalpha()
            and len(tok) > 3
            and rng.random() < rate
        ):
            out.append("[THING]")
        else:
            out.append(tok)
    return _join(out)


def perturb_input(text: str, settings: PerturbationSettings | dict | None, key: str = "") -> str:
    """Apply an adapter's inference-time perturbation to a content description.

    `key` varies the noise between calls that share a text (e.g. a candidate index).
    """
    if isinstance(settings, dict) or settings is None:
        settings = PerturbationSettings.from_dict(settings)
    if not settings.active:
        return text
    seed = settings.seed if not key else int(hashlib.sha256(f"{settings.seed}:{key}".encode()).hexdigest()[:8], 16)
    return noise(text, settings.input_noise, seed)
