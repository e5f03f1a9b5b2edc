"""Neutral reference sets for the steering vector.

`reference_paragraphs` (the default) is mixed public-domain prose of many authors:
subtracting it leaves what sets the persona apart from prose in general.
`neutral_paragraphs` is the older alternative, plain template prose:

The steering vector is "the persona's mean hidden state minus that of neutral
prose". A user's index usually holds only their own writing, so the neutral
side cannot come from it; instead these paragraphs are assembled from plain
sentence templates with a fixed seed: everyday topics, mid-length declarative
sentences, no dialogue, no period vocabulary. They are the same on every
machine, so a persona's vector depends only on its documents and the model.
"""

from __future__ import annotations

import random
from pathlib import Path

_SUBJECTS = (
    "The meeting", "The new library", "Our neighbour", "The train to the city", "The weather report",
    "My sister", "The small café on the corner", "The school", "The repair team", "The council",
    "A friend from work", "The old bridge", "The museum", "The delivery", "The local market",
    "The football club", "The garden", "The hospital", "The bus driver", "The project",
)
_PREDICATES = (
    "started later than planned", "was busier than usual this week", "opened a new room for visitors",
    "needed a few more days to finish", "changed its hours for the summer",
    "moved to a larger building last year", "sent a short message in the afternoon",
    "asked everyone to arrive a little early", "had to be cancelled because of the rain",
    "was quiet for most of the morning", "published the results on Monday",
    "made a list of the things that still had to be done", "worked well after the second try",
    "closed early on Friday", "looked much the same as it did before",
    "was cleaned and painted in the spring", "took about an hour in total",
    "received more calls than expected", "kept the prices the same as last year",
    "followed the usual plan without any problems",
)
_FOLLOWUPS = (
    "Most people did not mind the change.", "Nobody was sure how long it would last.",
    "The details are on the notice board.", "It should be back to normal next month.",
    "Several people said it was an improvement.", "There were no other changes.",
    "The cost was lower than people feared.", "A few questions are still open.",
    "It was a simple decision in the end.", "The plan will be reviewed in the autumn.",
    "Everyone went home at the usual time.", "The next update is due on Thursday.",
)
_CONNECTORS = ("After that,", "In the end,", "At the same time,", "Later,", "Because of this,", "Still,")


def neutral_paragraphs(n: int = 160, seed: int = 0) -> list[str]:
    """`n` plain paragraphs of 6-9 sentences (about 60-140 words), the same for a given seed."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        sentences = []
        for j in range(rng.randint(6, 9)):
            subject = rng.choice(_SUBJECTS)
            predicate = rng.choice(_PREDICATES)
            if j and rng.random() < 0.3:
                sentence = f"{rng.choice(_CONNECTORS)} {subject[0].lower()}{subject[1:]} {predicate}."
            else:
                sentence = f"{subject} {predicate}."
            sentences.append(sentence)
            if rng.random() < 0.35:
                sentences.append(rng.choice(_FOLLOWUPS))
        out.append(" ".join(sentences))
    return out


REFERENCE_DIR = Path(__file__).resolve().parents[2] / "resources" / "persona"


def reference_paragraphs(lang: str = "en") -> list[str]:
    """The built-in mixed-author reference (resources/persona/reference_<lang>.txt).

    Public-domain prose, 20 paragraphs from each author of the shared corpora (built by
    resources/persona/make_reference.py); English for a language without its own set.
    """
    path = REFERENCE_DIR / f"reference_{lang}.txt"
    if not path.is_file():
        path = REFERENCE_DIR / "reference_en.txt"
    try:
        text = path.read_text("utf-8")
    except OSError as e:
        raise FileNotFoundError(f"steering reference missing: {path} ({e.strerror}); "
                                "reinstall Killah or choose neutral='plain'") from e
    return [p for p in text.split("\n\n") if p.strip()]
