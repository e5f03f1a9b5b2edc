"""Optional training variants (all off by default, each its own flag).

- `perturb`: input noise (~8% of the description's words dropped, swapped or
  doubled) on EVERY example's description, train and validation alike; the rate is
  stored in the adapter's metadata and applied again at inference
  (engine.perturb.perturb_input), so the adapter always sees the input it learned on.
- `info_dropout`: an extra training example whose description has no adjectives.
- `abstract`: an extra example whose description has [NAME]/[THING] placeholders.
- `topic_swap`: a "snowflake" variant with the characters' names swapped for others
  consistently in description and original (structure kept, content changed).
- `perspective`: first-person chunks get plural ("we"), third-person ("the narrator")
  and impersonal ("one") variants, description and original mapped alike.

Variants are made for the training split only; validation and test stay real.
Everything is deterministic (seeded by the chunk id) and needs no model.
"""

from __future__ import annotations

import hashlib
import random
import re
from dataclasses import asdict, dataclass, field

from engine.text import word_count
from engine.perturb import (
    PerturbationSettings,
    abstract_placeholders,
    drop_adjectives,
    perturb_input,
)

SWAP_NAMES = ("Harriet", "Thomas", "Eleanor", "Walter", "Margaret", "Edmund", "Lucy", "Robert",
              "Clara", "Henry", "Agnes", "Martin", "Isabel", "Arthur", "Phoebe", "George")
_PERSPECTIVES = {
    "plural": {
        "i": "we",
        "me": "us",
        "my": "our",
        "mine": "ours",
        "myself": "ourselves",
        "am": "are",
        "was": "were",
    },
    "third": {
        "i": "the narrator",
        "me": "the narrator",
        "my": "the narrator's",
        "mine": "the narrator's",
        "myself": "the narrator",
        "am": "is",
    },
    "impersonal": {
        "i": "one",
        "me": "one",
        "my": "one's",
        "mine": "one's",
        "myself": "oneself",
        "am": "is",
    },
}
_FIRST_PERSON = re.compile(r"\b(I|me|my|mine|myself)\b")


@dataclass
class AugmentSettings:
    perturb: float = field(
        default=0.0, metadata={"help": "input noise rate on descriptions (e.g. 0.08); 0: off"}
    )
    info_dropout: bool = field(
        default=False, metadata={"help": "add variants whose descriptions lose adjectives"}
    )
    abstract: bool = field(
        default=False, metadata={"help": "add variants with [NAME]/[THING] placeholders"}
    )
    topic_swap: bool = field(
        default=False, metadata={"help": "add name-swapped 'snowflake' variants"}
    )
    perspective: bool = field(
        default=False,
        metadata={"help": "add plural/third/impersonal variants of first-person chunks"},
    )
    seed: int = field(default=0, metadata={"help": "seed for the perturbations"})

    def perturbation(self) -> PerturbationSettings:
        return PerturbationSettings(input_noise=self.perturb, seed=self.seed)

    def to_dict(self) -> dict:
        return asdict(self)


def _rng(key: str, seed: int) -> random.Random:
    return random.Random(int(hashlib.sha256(f"{seed}:{key}".encode()).hexdigest()[:12], 16))


def swap_names(description: str, original: str, key: str, seed: int = 0) -> tuple[str, str] | None:
    from training.neutralizers import proper_names

    names = [n for n in proper_names(original, limit=6) if n not in ("I",)]
    if not names:
        return None
    pool = [n for n in SWAP_NAMES if n not in names]
    _rng(key, seed).shuffle(pool)
    mapping = dict(zip(names, pool))

    def sub(text: str) -> str:
        return re.sub(
            r"\b(" + "|".join(map(re.escape, mapping)) + r")\b", lambda m: mapping[m.group(1)], text
        )

    return sub(description), sub(original)


def change_perspective(text: str, kind: str) -> str:
    table = _PERSPECTIVES[kind]

    def repl(m: re.Match) -> str:
        word = m.group(0)
        low = word.lower()
        if low in ("am", "was"):
            prev = text[max(0, m.start() - 3) : m.start()]
            if not re.search(r"\bI\s$", prev):
                return word
        new = table.get(low)
        if new is None:
            return word
        at_start = m.start() == 0 or re.search(
            r"[.!?\"“]\s*$", text[max(0, m.start() - 3) : m.start()]
        )
        return new[0].upper() + new[1:] if (at_start or word[0].isupper() and low != "i") else new

    return re.sub(r"\b(I|me|my|mine|myself|am|was)\b", repl, text)


def first_person(text: str) -> bool:
    return len(_FIRST_PERSON.findall(text)) >= max(3, word_count(text) // 100)


def variants(record: dict, settings: AugmentSettings) -> list[tuple[str, str, str]]:
    """(kind, description, original) for the extra training examples of one chunk."""
    desc, orig, key = record["description"], record["text"], record["id"]
    out: list[tuple[str, str, str]] = []
    if settings.info_dropout:
        out.append(("info_dropout", drop_adjectives(desc), orig))
    if settings.abstract:
        out.append(("abstract", abstract_placeholders(desc, seed=settings.seed), orig))
    if settings.topic_swap:
        swapped = swap_names(desc, orig, key, settings.seed)
        if swapped:
            out.append(("topic_swap", *swapped))
    if settings.perspective and first_person(orig):
        for kind in ("plural", "third", "impersonal"):
            out.append(
                (
                    f"perspective_{kind}",
                    change_perspective(desc, kind),
                    change_perspective(orig, kind),
                )
            )
    p = settings.perturbation()
    return [(k, perturb_input(d, p, key=f"{key}:{k}"), o) for k, d, o in out]


def prepare_description(record: dict, settings: AugmentSettings) -> str:
    """The description as the model sees it: perturbed exactly as at inference."""
    return perturb_input(record["description"], settings.perturbation(), key=record["id"])
