"""Spoken editing commands: one utterance's transcript -> a Command, or Dictation.

The rule that keeps prose prose: an utterance is a command only when the WHOLE
utterance (after polite fillers such as "please" / "пожалуйста", and after the
wake word when one is set) is a command phrase. Words like "delete" or "new
paragraph" inside running prose stay dictation. With `wake_word` set and
`require_wake_word=True`, only utterances that start with it can be commands.

The grammar is compositional: templates over slots (verbs, which, units,
styles, numbers) expand to a few thousand phrasings per language. The utterance
is matched against them with rapidfuzz (characters) and a metaphone key
(jellyfish, sound), so recognition errors such as "reframe this" or "do that"
still find their command. Numbers ("the last three words", "undo twice") and
ordinals ("the second sentence") are read out before matching.

Command names and args are the editor's API (docs/voice.md):
new_line, new_paragraph, delete, select, undo, redo, rephrase, continue, restyle,
capitalize, stop_listening; args: unit (word | sentence | paragraph | selection |
document), which (last | previous | next | this | nth), count, index, style
(formal | casual | shorter | longer).
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import jellyfish
import numpy as np
from rapidfuzz import fuzz, process

from engine.voice import grammar
from engine.voice.grammar import NUMBER, ORDINAL

COMMAND_NAMES = (
    "new_line", "new_paragraph", "delete", "select", "undo", "redo", "rephrase", "continue",
    "restyle", "capitalize", "stop_listening",
)


TOP_K = 20  # candidates checked, best first, for agreeing first and last words
EDGE_SIMILARITY = 65.0


@dataclass(frozen=True)
class Command:
    """An editing command the editor executes as one undo step."""

    name: str
    args: dict[str, Any] = field(default_factory=dict)
    heard: str = ""  # the transcript it was recognised from
    score: float = 100.0  # match score 0..100 (not part of the JSON API)

    def to_json(self) -> dict:
        return {"type": "command", "name": self.name, "args": dict(self.args), "heard": self.heard}


@dataclass(frozen=True)
class Dictation:
    """Text to insert at the cursor."""

    text: str

    def to_json(self) -> dict:
        return {"type": "dictation", "text": self.text}


@dataclass(frozen=True)
class GrammarOptions:
    threshold: float = field(default=82.0, metadata={"help": "fuzzy score (0-100) a command needs"})
    max_words: int = field(default=8, metadata={"help": "longer utterances are always dictation"})
    wake_word: str | None = field(default=None, metadata={"help": "e.g. 'killah'; strips it first"})
    require_wake_word: bool = field(
        default=False,
        metadata={"help": "only utterances that start with the wake word are commands"},
    )


@dataclass(frozen=True)
class Language:
    """One language's grammar (the data is in grammar.py)."""

    code: str
    slots: dict[str, dict[str, dict]]  # slot name -> {phrase: args}
    templates: dict[str, list[str]]  # command name -> ["{slot} literal {slot}", ...]
    numbers: dict[str, int]  # spoken cardinals (and "twice") -> value
    ordinals: dict[str, int]
    lead: tuple[str, ...]  # fillers dropped from the start of an utterance
    tail: tuple[str, ...]  # ... and from its end
    phonetic: bool  # metaphone only makes sense for Latin script


@dataclass(frozen=True)
class _Phrase:
    text: str
    name: str
    args: tuple[tuple[str, Any], ...]


def normalize(text: str) -> str:
    """Lowercase, ё -> е, punctuation dropped, whitespace collapsed; digits kept."""
    text = unicodedata.normalize("NFKC", text).lower().replace("ё", "е")
    text = re.sub(r"[’']|(?<=\w)-(?=\w)", "", text)
    text = re.sub(r"[^\w\s]|_", " ", text)
    return " ".join(text.split())


def expand(language: Language) -> list[_Phrase]:
    """Every phrasing the templates allow, with the args each one means."""
    out: dict[str, _Phrase] = {}
    for name, templates in language.templates.items():
        for template in templates:
            parts = re.split(r"(\{\w+\})", template)
            choices = []
            for part in parts:
                if part.startswith("{"):
                    choices.append(list(language.slots[part[1:-1]].items()))
                elif part:
                    choices.append([(part, {})])
            for combo in itertools.product(*choices):
                text = normalize("".join(p for p, _ in combo))
                args: dict[str, Any] = {}
                for _, a in combo:
                    args.update(a)
                out.setdefault(text, _Phrase(text, name, tuple(sorted(args.items()))))
    return list(out.values())


def _phonetic(text: str) -> str:
    return " ".join(jellyfish.metaphone(w) for w in text.split())


@dataclass
class _Index:
    language: Language
    phrases: list[_Phrase]
    texts: list[str]
    joined: list[str]  # texts without spaces
    sounds: list[str]


EN = Language("en", grammar.EN_SLOTS, grammar.EN_TEMPLATES, grammar.EN_NUMBERS,
              grammar.EN_ORDINALS, grammar.EN_LEAD, grammar.EN_TAIL, phonetic=True)
RU = Language("ru", grammar.RU_SLOTS, grammar.RU_TEMPLATES, grammar.RU_NUMBERS,
              grammar.RU_ORDINALS, grammar.RU_LEAD, grammar.RU_TAIL, phonetic=False)


@lru_cache(maxsize=4)
def _index(code: str) -> _Index:
    language = {"en": EN, "ru": RU}[code]
    phrases = expand(language)
    texts = [p.text for p in phrases]
    sounds = [_phonetic(t) for t in texts] if language.phonetic else []
    return _Index(language, phrases, texts, [t.replace(" ", "") for t in texts], sounds)


def _read_numbers(words: list[str], language: Language) -> tuple[list[str], list[int], list[int]]:
    """Replace spoken/digit numbers and ordinals by placeholders; return them in order."""
    out, numbers, ordinals = [], [], []
    for w in words:
        if w.isdigit() and len(w) <= 3:
            out.append(NUMBER)
            numbers.append(int(w))
        elif re.fullmatch(r"\d+(st|nd|rd|th)", w):
            out.append(ORDINAL)
            ordinals.append(int(re.sub(r"\D", "", w)))
        elif w in language.numbers:
            out.append(NUMBER)
            numbers.append(language.numbers[w])
        elif w in language.ordinals:
            out.append(ORDINAL)
            ordinals.append(language.ordinals[w])
        else:
            out.append(w)
    return out, numbers, ordinals


def _strip_fillers(words: list[str], lead: tuple[str, ...], tail: tuple[str, ...]) -> list[str]:
    lead_words = sorted((f.split() for f in lead), key=len, reverse=True)
    tail_words = sorted((f.split() for f in tail), key=len, reverse=True)
    changed = True
    while changed:
        changed = False
        for f in lead_words:
            if words[: len(f)] == f and len(words) > len(f):
                words, changed = words[len(f) :], True
        for f in tail_words:
            if words[-len(f) :] == f and len(words) > len(f):
                words, changed = words[: -len(f)], True
    return words


def _word_similarity(a: str, b: str, phonetic: bool) -> float:
    score = fuzz.ratio(a, b)
    if phonetic:
        score = (score + fuzz.ratio(jellyfish.metaphone(a), jellyfish.metaphone(b))) / 2
    return score


def _edges_agree(query: list[str], phrase: list[str], phonetic: bool) -> bool:
    """The first and last words must match too: a whole-string score alone lets
    "the last word" (no verb) pass for "delete the last word"."""
    return all(
        _word_similarity(q, p, phonetic) >= EDGE_SIMILARITY
        for q, p in ((query[0], phrase[0]), (query[-1], phrase[-1]))
    )


def _language_of(text: str) -> str:
    cyrillic = sum("а" <= c <= "я" for c in text.lower())
    return "ru" if cyrillic > len(text) / 3 else "en"


def match(text: str, language: str | None = None) -> tuple[Command | None, float]:
    """The best command for a whole utterance and its score (None when nothing is close)."""
    code = language if language in ("en", "ru") else _language_of(text)
    index = _index(code)
    lang = index.language
    words = _strip_fillers(normalize(text).split(), lang.lead, lang.tail)
    words, numbers, ordinals = _read_numbers(words, lang)
    if not words:
        return None, 0.0
    query = " ".join(words)
    scores = process.cdist([query], index.texts, scorer=fuzz.ratio, dtype=np.float32)[0]
    # Word breaks are unreliable in transcripts ("read do" for "redo"): also compare without them.
    joined = process.cdist([query.replace(" ", "")], index.joined, scorer=fuzz.ratio,
                           dtype=np.float32)[0]
    scores = np.maximum(scores, joined)
    if lang.phonetic:
        # Spelling and sound count half each: "reframe this" sounds like "rephrase this".
        sounds = process.cdist([_phonetic(query)], index.sounds, scorer=fuzz.ratio,
                               dtype=np.float32)[0]
        scores = (scores + sounds) / 2
    for i in np.argsort(-scores, kind="stable")[:TOP_K]:
        if _edges_agree(words, index.phrases[i].text.split(), lang.phonetic):
            break
    else:
        return None, 0.0
    score = float(scores[i])
    phrase = index.phrases[i]
    args = dict(phrase.args)
    if args.get("count") == NUMBER:
        args["count"] = numbers[0] if numbers else 1
    if args.get("index") == ORDINAL:
        args["index"] = ordinals[0] if ordinals else 1
    return Command(phrase.name, args, heard=text.strip(), score=round(score, 1)), score


@lru_cache(maxsize=4)
def vocabulary_prompt(code: str = "en") -> str:
    """A Whisper prompt naming the command vocabulary, so short commands are heard as such.

    Built from the grammar: the first phrasings of each fixed command, up to three
    verbs per verb slot, and one phrase per meaning of the target and style slots
    (Whisper keeps only the last 223 prompt tokens; a short list biases more).
    """
    lang = {"en": EN, "ru": RU}[code]
    seen: dict[str, None] = {}
    for templates in lang.templates.values():
        for t in [t for t in templates if "{" not in t][:2]:
            seen[t] = None
    for slot in ("del", "sel", "undo", "redo", "rephrase", "cap", "restyle", "which", "unit",
                 "that", "style"):
        meanings: dict[str, int] = {}
        for phrase, args in lang.slots.get(slot, {}).items():
            key = repr(sorted(args.items()))
            if NUMBER in phrase or ORDINAL in phrase or meanings.get(key, 0) >= (1 if args else 3):
                continue
            meanings[key] = meanings.get(key, 0) + 1
            seen[phrase] = None
    head = "Voice commands: " if code == "en" else "Голосовые команды: "
    return head + ", ".join(seen) + "."


def parse(text: str, options: GrammarOptions = GrammarOptions(), language: str | None = None
          ) -> Command | Dictation:
    """One utterance -> a Command when the whole utterance is one, else Dictation."""
    words = normalize(text).split()
    threshold = options.threshold
    if options.wake_word:
        wake = normalize(options.wake_word).split()
        if words[: len(wake)] == wake:
            words = words[len(wake) :]
            threshold -= 7  # the user addressed us: accept a rougher match
        elif options.require_wake_word:
            return Dictation(text.strip())
    if not words or len(words) > options.max_words:
        return Dictation(text.strip())
    command, score = match(" ".join(words), language)
    if command is None or score < threshold:
        return Dictation(text.strip())
    return Command(command.name, command.args, heard=text.strip(), score=command.score)
