"""The shipped WQRM on real text: broken text low with a reason, prose high, edits above drafts."""

from __future__ import annotations

import random

import numpy as np
import pytest

from engine.quality import degrade
from engine.quality.composite import LOW, score_texts
from engine.quality.head import load_head

# The AI draft of two LAMP pairs (two writers edited the same draft).
MARIA_DRAFT = (
    "Maria's evenings with the orchestra were intricate studies in unspoken relationships. "
    "Each rehearsal was a blend of individual discipline and collective harmony, a silent "
    "negotiation among the musicians. She had a special rapport with the principal "
    "cellist, "
    "Daniel, that went beyond the music they shared. Their glances across the rehearsal "
    "room were fleeting but loaded with meaning, a silent conversation that only they "
    "could "
    "decipher. During one late-night session, when the others had packed up and left, "
    "Daniel lingered. They didn't speak much; they didn't need to. He handed her his "
    "cello, "
    "a gesture of trust as she let her fingers travel across the strings. The resonance of "
    "the instrument under her touch was a language of its own, melding vulnerability with "
    "an unspoken promise. In those moments, their connection was as clear and as "
    "hauntingly "
    "beautiful as the music they created together. Their relationship transcended the "
    "personal shadows that often plagued the heart, becoming a private duet no audience "
    "could ever interpret."
)



# Public-domain prose: Conrad, "Heart of Darkness" (1899); Bronte, "Jane Eyre" (1847).
# Both authors are held out of the WQRM's training (docs/quality.md).
CONRAD = (
    "The sea-reach of the Thames stretched before us like the beginning of an interminable "
    "waterway. In the offing the sea and the sky were welded together without a joint, and in "
    "the luminous space the tanned sails of the barges drifting up with the tide seemed to stand "
    "still in red clusters of canvas sharply peaked, with gleams of varnished sprits. A haze "
    "rested on the low shores that ran out to sea in vanishing flatness. The air was dark above "
    "Gravesend, and farther back still seemed condensed into a mournful gloom, brooding "
    "motionless over the biggest, and the greatest, town on earth."
)
BRONTE = (
    "There was no possibility of taking a walk that day. We had been wandering, indeed, in the "
    "leafless shrubbery an hour in the morning; but since dinner (Mrs. Reed, when there was no "
    "company, dined early) the cold winter wind had brought with it clouds so sombre, and a rain "
    "so penetrating, that further out-door exercise was now out of the question."
)
# LAMP (Chakrabarty et al., CHI 2025; salesforce/creativity_eval, BSD-3-Clause).
# Three held-out LAMP writer edits (group-disjoint split, seed 0): (edited, AI draft).
EDITS = (
    (
        (
            "Each rehearsal Maria had with the orchestra was a blend of individual discipline and "
            "collective harmony, a kind of constant, silent negotiation among the musicians. She "
            "had a particular rapport with the principal cellist, Daniel, their glances across the "
            "rehearsal room were fleeting but loaded with meaning. During one late-night session, "
            "when the others had packed up and left, Daniel lingered. They didn't speak much; they "
            "didn't need to. He handed her his cello. She let her fingers travel across the "
            "strings. The resonance of the instrument under her touch was a language of its own."
        ),
        (
            MARIA_DRAFT
        ),
    ),
    (
        (
            "Maria's evenings with the orchestra were sinewy, intimate affairs. A silent "
            "negotiation among the musicians. She had a special rapport with the principal "
            "cellist, "
            "Daniel, whose slender fingers she would glance at between page turns.. During one "
            "late-night session, when the others had packed up and left, Daniel lingered. They "
            "didn't speak much; they didn't need to. He handed her his cello, and she let her "
            "fingers travel across the strings. The resonance of the instrument under her "
            "touch was "
            "a language of its own, one she understood better than her native tongue. And they "
            "began their night together; a private duet no audience could ever interpret."
        ),
        (
            MARIA_DRAFT
        ),
    ),
    (
        (
            "The house stood dark against the early dawn. The charred remains smoldered, and "
            "scattered embers glittered amid the ash. Sister St. Savior approached with measured "
            "steps, her habit rustling softly in the cool morning breeze. The officers, clustered "
            "by the skeletal frame of what was once a sturdy porch, straightened up at the "
            "sight of "
            "her. They stepped aside, nodding as she passed. Her eyes surveyed the ruin and the "
            "faces of those left behind. She knelt and whispered prayers under her breath. The "
            "officers returned to their tasks. There was a kind of solace in shared purpose."
        ),
        (
            "The house stood dark against the early dawn, the charred remains smoldering faintly "
            "like an exhaled sigh. Scattered embers glimmered amid the ash, whispering silent "
            "tales "
            "of the night's devastation. Sister St. Savior approached with measured, purposeful "
            "steps, her habit rustling softly in the cool morning breeze. The officers, clustered "
            "by the skeletal frame of what was once a sturdy porch, straightened up at the "
            "sight of "
            "her, a mix of relief and weariness etched on their soot-streaked faces. They stepped "
            "aside respectfully, nodding as she passed, acknowledging her quiet authority without "
            "words. She moved among them with a calm resolve, her keen eyes surveying the ruin and "
            "the faces of those left behind. Without pronouncement or flourish, she knelt by the "
            "remains, her hands moving methodically as she whispered prayers under her breath. Her "
            "presence seemed to anchor the space, melding sorrow with a semblance of grace. The "
            "officers, emboldened by her steadiness, returned to their tasks, a shared "
            "understanding passing between them: even in the aftermath of such loss, there was a "
            "kind of solace in shared purpose."
        ),
    ),
)
SALAD = "steps steps the the water water ships ships never never came came came."
NUMBERS = "1200-level, 85-level, 96-level, and 95-level, and 94-level."
RUSSIAN = (
    "Было раннее утро, и над рекой ещё стоял туман. Старик сидел на берегу и смотрел, как "
    "медленно уходят к морю тяжёлые баржи."
)


@pytest.fixture(scope="module")
def scores():
    texts = {
        "conrad": CONRAD,
        "bronte": BRONTE,
        "salad": SALAD,
        "numbers": NUMBERS,
        "russian": RUSSIAN,
    }
    for kind in degrade.KINDS:
        if kind != "wrong_language":
            texts[f"conrad_{kind}"] = degrade.degrade(CONRAD, kind, seed=3)
    return dict(zip(texts, score_texts(list(texts.values()))))


def test_word_salad_scores_low_with_a_reason(scores):
    s = scores["salad"]
    assert s.score <= LOW, s.to_dict()
    assert "repeated words" in s.reasons


@pytest.mark.parametrize(
    "name",
    [
        "russian",
        "conrad_shuffled",
        "conrad_doubled",
        "conrad_cut",
        "conrad_numbers",
        "conrad_salad",
        "conrad_looped",
    ],
)
def test_broken_text_scores_at_most_3(scores, name):
    assert scores[name].score <= LOW, (name, scores[name].to_dict())
    assert scores[name].reasons, name


def test_one_line_number_soup_scores_at_most_3(scores):
    assert scores["numbers"].score <= LOW, scores["numbers"].to_dict()


def test_one_line_number_soup_is_named(scores):
    assert scores["numbers"].score < scores["conrad"].score - 2.0
    assert scores["numbers"].reasons[0] == "mostly numbers"
    assert not any("draft" in r for r in scores["numbers"].reasons)


def test_published_prose_scores_high_and_above_its_broken_versions(scores):
    for name in ("conrad", "bronte"):
        assert scores[name].score >= 5.0, (name, scores[name].to_dict())
        assert scores[name].components["fluency"] > 0.5
    for kind in degrade.KINDS:
        if f"conrad_{kind}" in scores:
            assert scores[f"conrad_{kind}"].score < scores["conrad"].score - 2.0, kind


def test_writer_edits_score_above_their_ai_drafts():
    better = score_texts([e for e, _ in EDITS])
    worse = score_texts([d for _, d in EDITS])
    wins = sum(b.score > w.score for b, w in zip(better, worse))
    assert wins >= 2, [(round(b.score, 2), round(w.score, 2)) for b, w in zip(better, worse)]


def test_foreign_text_is_named(scores):
    assert scores["russian"].reasons[0].startswith("not English")


def test_breakdown_and_weights(scores):
    d = scores["conrad"].to_dict()
    assert set(d["components"]) >= {"quality", "fluency", "repetition", "stock_phrases", "english"}
    assert all(v is None or 0.0 <= v <= 1.0 for v in d["components"].values())
    assert 0.0 <= d["score"] <= 10.0


def test_head_features_match_what_the_score_uses():
    from engine.quality.head import features

    head = load_head()
    x = features([CONRAD, SALAD], head.layers, bool(head.extra))
    s, _, p = head.score_features(x)
    assert np.allclose(s, [r.score for r in score_texts([CONRAD, SALAD])], atol=1e-4)
    assert p[1] > p[0]


def test_encoder_reads_word_order():
    """The features of a sentence and of the same words shuffled differ (a bag of words would "
    "not)."""
    from engine.quality.encoder import pooled

    words = CONRAD.split()
    shuffled = words[:]
    random.Random(0).shuffle(shuffled)
    a, b = pooled([CONRAD, " ".join(shuffled)], (3,))
    assert np.linalg.norm(a - b) / np.linalg.norm(a) > 0.05


def test_every_degradation_is_deterministic_and_changes_the_text():
    foreign = [RUSSIAN]
    for kind in degrade.KINDS:
        a = degrade.degrade(CONRAD, kind, seed=1, foreign=foreign)
        assert a == degrade.degrade(CONRAD, kind, seed=1, foreign=foreign)
        assert a != CONRAD and a.strip(), kind
    with pytest.raises(ValueError, match="unknown degradation"):
        degrade.degrade(CONRAD, "nope", 0)
