"""Integration on the REAL bundled Gemma 3 270M base (converted once per run)."""

import re

import pytest

from engine.generate import SamplingOptions, generate, generate_candidates
from engine.tasks import continue_prompt

pytestmark = pytest.mark.real_model

GREEDY = SamplingOptions(temperature=0.0, max_tokens=40, repetition_penalty=1.1)


def _english_word_share(text: str) -> float:
    from sklearn.feature_extraction._stop_words import ENGLISH_STOP_WORDS

    words = re.findall(r"[A-Za-z']+", text.lower())
    common = ENGLISH_STOP_WORDS | {"was", "had", "said", "door", "old", "man", "she", "he"}
    # "Mostly dictionary words": alphabetic tokens, a good share of them common English.
    return sum(w in common for w in words) / max(len(words), 1)


def test_conversion_produced_a_float32_mlx_model(real_lm):
    import json

    meta = json.loads((real_lm.path / "killah.json").read_text())
    assert meta["model_id"] == "google/gemma-3-270m"
    assert len(meta["source_sha256"]) == 64
    assert meta["dtype"] == "float32"
    assert real_lm.config["model_type"] == "gemma3_text"


def test_greedy_english_continuation_is_fluent(real_lm):
    prompt = "The old lighthouse keeper opened the door and"
    out = generate(real_lm, continue_prompt(prompt), GREEDY).text
    words = re.findall(r"\w+", out)
    assert len(words) >= 15, out
    assert prompt not in out
    assert _english_word_share(out) > 0.3, out
    assert len(set(words)) / len(words) > 0.4, out  # not a loop of one phrase


def test_russian_prompt_continues_in_cyrillic(real_lm):
    out = generate(real_lm, "Старый смотритель маяка открыл дверь и", GREEDY).text
    letters = re.findall(r"[^\W\d_]", out)
    cyrillic = re.findall(r"[а-яА-ЯёЁ]", out)
    assert len(letters) > 20, out
    assert len(cyrillic) / len(letters) > 0.8, out


def test_real_model_candidates_are_distinct(real_lm):
    opts = [SamplingOptions(temperature=0.9, min_p=m, max_tokens=24, seed=5)
            for m in (0.05, 0.1, 0.15)]
    cands = generate_candidates(real_lm, "She looked out of the window and saw", 3, opts)
    assert len({c.text for c in cands}) == 3
    assert all(len(c.logprobs) == len(c.tokens) > 0 for c in cands)
