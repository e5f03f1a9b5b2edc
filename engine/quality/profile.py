"""Style profiles: what the style components of the score compare a text against.

A profile holds a sentence-length distribution and a few reference passages (for
n-gram style match). The general profile ships in resources/wqrm/ (built from the
professional-writer edits of the WQRM training split); a persona's profile is
built from the user's own paragraphs with `StyleProfile.from_texts`.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Sequence

from engine.errors import KillahError
from engine.quality import metrics
from engine.quality.assets import WQRM_DIR

PROFILE_FORMAT = "killah-style-profile v1"
GENERAL_PROFILE = WQRM_DIR / "general_profile.json"
MAX_REFERENCES = 200


@dataclass(frozen=True)
class StyleProfile:
    name: str
    sentence_length_dist: tuple[float, ...]
    references: tuple[str, ...] = field(default=(), repr=False)
    bins: tuple[int, ...] = metrics.SENTENCE_LENGTH_BINS

    @classmethod
    def from_texts(
        cls, texts: Sequence[str], name: str = "persona", max_references: int = MAX_REFERENCES, seed: int = 0
    ) -> "StyleProfile":
        """Profile of a body of prose (e.g. the user's indexed paragraphs)."""
        texts = [t for t in texts if metrics.words(t)]
        if not texts:
            raise KillahError(f"style profile {name!r}: no text to build it from")
        lengths = [n for t in texts for n in metrics.sentence_lengths(t)]
        refs = list(texts)
        if len(refs) > max_references:
            refs = random.Random(seed).sample(refs, max_references)
        dist = metrics.sentence_length_distribution(lengths)
        return cls(name=name, sentence_length_dist=tuple(float(x) for x in dist), references=tuple(refs))

    @classmethod
    def from_dict(cls, d: dict) -> "StyleProfile":
        if d.get("format") != PROFILE_FORMAT:
            raise KillahError(f"style profile: unknown format {d.get('format')!r}, expected {PROFILE_FORMAT!r}")
        return cls(
            name=d["name"],
            sentence_length_dist=tuple(d["sentence_length_dist"]),
            references=tuple(d.get("references", ())),
            bins=tuple(d.get("bins", metrics.SENTENCE_LENGTH_BINS)),
        )

    def to_dict(self) -> dict:
        return {
            "format": PROFILE_FORMAT,
            "name": self.name,
            "bins": list(self.bins),
            "sentence_length_dist": list(self.sentence_length_dist),
            "references": list(self.references),
        }


def load_profile(path: str | Path) -> StyleProfile:
    try:
        return StyleProfile.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError) as e:
        raise KillahError(f"cannot read style profile {path}: {e}") from e


@lru_cache(maxsize=1)
def general_profile() -> StyleProfile:
    """The shipped general profile (professional-writer edits of the training split)."""
    if not GENERAL_PROFILE.exists():
        raise KillahError(f"the general style profile is missing: {GENERAL_PROFILE} (run python -m engine.quality.train)")
    return load_profile(GENERAL_PROFILE)
