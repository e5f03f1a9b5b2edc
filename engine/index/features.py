"""Stylometric features of one paragraph, and a cheap language guess.

The features are rates, not counts, so paragraphs of different lengths compare:
sentence-length statistics, word length, type-token ratio, function-word rate,
punctuation per word, dialogue. They feed exemplar selection ("most
characteristic of the persona") and the "sounds like you" score.
"""

from __future__ import annotations

import re
import statistics

FEATURES = (
    "sent_len_mean",
    "sent_len_std",
    "word_len_mean",
    "ttr",
    "function_rate",
    "comma_rate",
    "semicolon_rate",
    "colon_rate",
    "dash_rate",
    "exclaim_rate",
    "question_rate",
    "quote_rate",
    "paren_rate",
    "long_word_rate",
)

_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*", re.UNICODE)
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'”’»)]*\s+")
_CYRILLIC = re.compile(r"[\u0400-\u04FF]")
_LATIN = re.compile(r"[A-Za-z\u00C0-\u024F]")

FUNCTION_WORDS = {
    "en": frozenset(
        """a about above after again against all am an and any are as at be because been
        before being below between both but by can could did do does doing down during each
        few for from further had has have having he her here hers herself him himself his how
        i if in into is it its itself just me more most my myself no nor not now of off on
        once only or other our ours ourselves out over own same she should so some such than
        that the their theirs them themselves then there these they this those through to too
        under until up upon very was we were what when where which while who whom why will
        with would you your yours yourself yourselves shall must might may""".split()
    ),
    "ru": frozenset(
        """и в во не что он на я с со как а то все она так его но да ты к у же вы за бы по
        только ее мне было вот от меня еще нет о из ему теперь когда даже ну вдруг ли если
        уже или ни быть был него до вас нибудь опять уж вам ведь там потом себя ничего ей
        может они тут где есть надо ней для мы тебя их чем была сам чтоб без будто чего раз
        тоже себе под будет ж тогда кто этот того потому этого какой совсем ним здесь этом
        один почти мой тем чтобы нее сейчас были куда зачем всех никогда можно при наконец
        два об другой хоть после над больше тот через эти нас про всего них какая много
        разве три эту моя впрочем хорошо свою этой перед иногда лучше чуть том нельзя такой
        им более всегда конечно всю между""".split()
    ),
}


def guess_language(text: str) -> str:
    """'ru', 'en' or 'other' from the script and the commonest words (good enough per paragraph)."""
    sample = text[:2000]
    cyr = len(_CYRILLIC.findall(sample))
    lat = len(_LATIN.findall(sample))
    if cyr + lat == 0:
        return "other"
    if cyr > lat:
        return "ru"
    words = [w.lower() for w in _WORD.findall(sample)]
    if words and sum(w in FUNCTION_WORDS["en"] for w in words) / len(words) >= 0.15:
        return "en"
    return "en" if len(words) < 8 else "other"


def sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE_END.split(text.strip()) if s.strip()]


def paragraph_features(text: str, language: str | None = None) -> dict[str, float]:
    """The FEATURES of `text` as a dict of floats (all zeros for text without words)."""
    words = _WORD.findall(text)
    n = len(words)
    if n == 0:
        return {name: 0.0 for name in FEATURES}
    lower = [w.lower() for w in words]
    lengths = [len(_WORD.findall(s)) for s in sentences(text)] or [n]
    function_words = FUNCTION_WORDS.get(language or guess_language(text), FUNCTION_WORDS["en"])
    per_word = 1.0 / n
    return {
        "sent_len_mean": statistics.fmean(lengths),
        "sent_len_std": statistics.pstdev(lengths) if len(lengths) > 1 else 0.0,
        "word_len_mean": statistics.fmean(len(w) for w in words),
        "ttr": len(set(lower)) / n,
        "function_rate": sum(w in function_words for w in lower) * per_word,
        "comma_rate": text.count(",") * per_word,
        "semicolon_rate": text.count(";") * per_word,
        "colon_rate": text.count(":") * per_word,
        "dash_rate": (text.count("—") + text.count("–") + text.count("--")) * per_word,
        "exclaim_rate": text.count("!") * per_word,
        "question_rate": text.count("?") * per_word,
        "quote_rate": sum(text.count(q) for q in '"“”«»') * per_word,
        "paren_rate": text.count("(") * per_word,
        "long_word_rate": sum(len(w) >= 8 for w in words) * per_word,
    }
