"""The personal vocabulary: names, terms and spellings the writer wants heard and written right.

Three uses, all deterministic:

- `prompt()` primes Whisper: the terms go first in its initial prompt ("Glossary:
  Zeldovich, Okonkwo."), before the text at the cursor (`initial_prompt`);
- `correct(text)` fixes what was still misheard: a form the writer corrected once
  (`learn("kale", "Kael")`) is replaced wherever it is heard again, and a word (or two or
  three words run together) that sounds and looks like a term becomes the term:
  characters (rapidfuzz) and sound (metaphone for Latin script; a Russian sound key for
  Cyrillic), a Russian case ending kept ("Кшитрапалу" -> "Кшетрапалу");
- the same `correct(text, strict=True)` keeps generated text spelled right: a single word
  a typo or two away from a term (Damerau-Levenshtein), with the same first letter.

A word in the language's 15,000 common words (resources/lexicons) is never changed by
similarity alone, so everyday words stay as heard. Stored as JSON under KILLAH_HOME
(`vocabulary.json`, engine.atomic):

    {"format": "killah-vocabulary v1",
     "terms": [{"text": "Zeldovich", "heard": ["Neldovich"], "lang": "en", "added_at": ...}]}
"""

from __future__ import annotations

import json
import re
import time
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

import jellyfish
from rapidfuzz import fuzz

from engine import atomic, paths
from engine.errors import KillahError

FORMAT = "killah-vocabulary v1"
MAX_TERMS = 2000
MAX_TERM_CHARS = 60
PROMPT_SHARE = 0.6  # of Whisper's prompt characters the glossary may take; the context the rest
GLOSSARY = {"en": "Glossary: ", "ru": "Словарь: "}
MIN_CHARS = 3  # shorter words are never matched by similarity
CHAR_MIN, SOUND_MIN, CHAR_ALONE = 60.0, 80.0, 86.0  # a match: (chars and sound) or chars alone
STRICT_LETTERS_PER_TYPO = 6  # generated text: one typo per 6 letters, the first letter kept
RU_ENDINGS = ("ами", "ями", "ого", "его", "ому", "ему", "ой", "ей", "ом", "ем", "ах", "ях",
              "ую", "а", "я", "у", "ю", "е", "ы", "и")
_WORD = re.compile(r"[^\W_]+(?:['’\-][^\W_]+)*", re.UNICODE)
_CYRILLIC = re.compile(r"[\u0400-\u04FF]")


def language_of(text: str) -> str:
    return "ru" if _CYRILLIC.search(text) else "en"


def _norm(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower().replace("ё", "е")
    return re.sub(r"[^\w]|_", "", text)


# A rough Russian sound key: voiced consonants as their voiceless pairs, unstressed vowels
# merged, signs dropped, letters doubled once.
_RU_SOUND = str.maketrans({"б": "п", "в": "ф", "г": "к", "д": "т", "ж": "ш", "з": "с",
                           "о": "а", "ы": "и", "е": "и", "э": "и", "я": "и", "ё": "и",
                           "ю": "у", "щ": "ш", "ь": None, "ъ": None, "й": "и"})


def sound_key(word: str) -> str:
    """What a word sounds like, roughly: metaphone (Latin) or the Russian key (Cyrillic)."""
    w = _norm(word)
    if not w:
        return ""
    if _CYRILLIC.search(w):
        return re.sub(r"(.)\1+", r"\1", w.translate(_RU_SOUND))
    return jellyfish.metaphone(w)


@lru_cache(maxsize=2)
def _common(lang: str) -> frozenset[str]:
    from engine.quality.facts import common_words

    return common_words(lang)


@dataclass(frozen=True)
class Term:
    text: str  # the right spelling, as it should be written
    heard: tuple[str, ...] = ()  # forms the writer corrected to it (replaced wherever heard)
    lang: str = ""
    added_at: float = field(default_factory=time.time)

    def __post_init__(self) -> None:
        text = " ".join(str(self.text).split())
        if not text or not _WORD.search(text):
            raise KillahError(f"vocabulary: {self.text!r} has no letters or digits")
        if len(text) > MAX_TERM_CHARS:
            raise KillahError(f"vocabulary: {text[:20]!r}… is longer than {MAX_TERM_CHARS} "
                              "characters")
        object.__setattr__(self, "text", text)
        object.__setattr__(self, "heard", tuple(dict.fromkeys(
            " ".join(h.split()) for h in self.heard if h.strip())))
        object.__setattr__(self, "lang", self.lang or language_of(text))

    def to_dict(self) -> dict:
        return {"text": self.text, "heard": list(self.heard), "lang": self.lang,
                "added_at": self.added_at}

    @classmethod
    def from_dict(cls, d: dict) -> Term:
        return cls(str(d["text"]), tuple(str(h) for h in d.get("heard") or ()),
                   str(d.get("lang") or ""), float(d.get("added_at") or 0.0))


@dataclass(frozen=True)
class Fix:
    """One replacement `correct` made: `heard` at [start, end) of the input became `text`."""

    start: int
    end: int
    heard: str
    text: str
    why: str  # "taught" (a form the writer corrected) or "sounds like"


@dataclass(frozen=True)
class Vocabulary:
    terms: tuple[Term, ...] = ()

    # -- the store -------------------------------------------------------------------
    @classmethod
    def load(cls, path: str | Path | None = None) -> Vocabulary:
        """The writer's vocabulary (empty when there is none); a KillahError names a bad file."""
        path = Path(path) if path is not None else paths.vocabulary_path()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls()
        except (OSError, ValueError) as e:
            raise KillahError(f"cannot read the vocabulary {path}: {e}") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise KillahError(f"cannot read the vocabulary {path}: not a {FORMAT} file")
        try:
            return cls(tuple(Term.from_dict(t) for t in data.get("terms", [])))
        except (KeyError, TypeError, ValueError) as e:
            raise KillahError(f"cannot read the vocabulary {path}: a bad term ({e})") from None

    def save(self, path: str | Path | None = None) -> Path:
        path = Path(path) if path is not None else paths.vocabulary_path()
        atomic.write_json(path, {"format": FORMAT, "terms": [t.to_dict() for t in self.terms]})
        return path

    def find(self, text: str) -> Term | None:
        key = " ".join(text.split()).casefold()
        return next((t for t in self.terms if t.text.casefold() == key), None)

    def add(self, words: Iterable[str], heard: Sequence[str] = ()) -> Vocabulary:
        """With these terms added (a term already there keeps its place, gains `heard`)."""
        terms = list(self.terms)
        for w in words:
            new = Term(w, tuple(heard))
            old = next((i for i, t in enumerate(terms) if t.text.casefold() == new.text.casefold()),
                       None)
            if old is None:
                terms.append(new)
            else:
                terms[old] = replace(terms[old], text=new.text,
                                     heard=terms[old].heard + new.heard)
        if len(terms) > MAX_TERMS:
            raise KillahError(f"the vocabulary holds at most {MAX_TERMS} terms")
        return Vocabulary(tuple(terms))

    def remove(self, words: Iterable[str]) -> tuple[Vocabulary, list[str]]:
        """Without these terms; also the words that were not in it."""
        keys = {" ".join(w.split()).casefold(): w for w in words}
        kept = tuple(t for t in self.terms if t.text.casefold() not in keys)
        present = {t.text.casefold() for t in self.terms}
        return Vocabulary(kept), [w for k, w in keys.items() if k not in present]

    def learn(self, heard: str, right: str) -> Vocabulary:
        """The writer corrected `heard` to `right` after dictation: remember both."""
        if _norm(heard) == _norm(right):
            return self
        return self.add([right], heard=[heard])

    # -- Whisper's prompt ------------------------------------------------------------
    def prompt(self, language: str = "en", max_chars: int = 240) -> str:
        """The glossary that goes first in Whisper's initial prompt ('' without terms).
        Newest terms first when they do not all fit."""
        lang = language if language in GLOSSARY else "en"
        terms = [t.text for t in reversed(self.terms) if language == "auto" or t.lang == lang
                 or not _CYRILLIC.search(t.text)]
        head, out = GLOSSARY[lang], []
        for t in terms:
            if len(head) + len(", ".join([*out, t])) + 1 > max_chars:
                break
            out.append(t)
        return f"{head}{', '.join(out)}." if out else ""

    def whisper_prompt(self, context: str | None, language: str = "en",
                       max_chars: int = 400) -> str | None:
        """The glossary, then as much of the end of `context` as fits in `max_chars`."""
        glossary = self.prompt(language, int(max_chars * PROMPT_SHARE))
        context = (context or "").strip()
        room = max_chars - len(glossary) - 1
        tail = context[-room:] if room > 0 and context else ""
        if tail and len(tail) < len(context) and " " in tail:
            tail = tail.split(" ", 1)[1]  # no half word at the edge
        joined = " ".join(p for p in (glossary, tail) if p)
        return joined or None

    def echoed(self, text: str) -> bool:
        """Whether a transcript reads the glossary back (its label, or two terms in a row as in
        a list) instead of what was said: small Whisper models do, on unclear audio."""
        if re.search(r"\b(?:" + "|".join(g.rstrip(": ") for g in GLOSSARY.values()) + r")\b",
                     text, re.IGNORECASE):
            return True
        terms = "|".join(re.escape(t.text) for t in self.terms)
        return bool(re.search(rf"(?:{terms})[\w-]*\s*[,;]\s*(?:{terms})", text, re.IGNORECASE))

    # -- correcting text -------------------------------------------------------------
    def correct(self, text: str, language: str = "en", strict: bool = False
                ) -> tuple[str, list[Fix]]:
        """`text` with misheard (or misspelled) terms replaced, and the replacements made.

        `strict` (generated text): single words only, characters alone, first letter kept.
        """
        if not self.terms or not text:
            return text, []
        words = [(m.start(), m.end(), m.group(0)) for m in _WORD.finditer(text)]
        fixes: list[Fix] = []
        i = 0
        while i < len(words):
            fix, used = self._match(text, words, i, language, strict)
            if fix is None:
                i += 1
                continue
            fixes.append(fix)
            i += used
        out, at = [], 0
        for f in fixes:
            out.append(text[at:f.start])
            out.append(f.text)
            at = f.end
        out.append(text[at:])
        return "".join(out), fixes

    def _match(self, text: str, words: list, i: int, language: str, strict: bool
               ) -> tuple[Fix | None, int]:
        for n in (3, 2, 1):  # learned forms first, longest first
            if i + n > len(words):
                continue
            start, end = words[i][0], words[i + n - 1][1]
            heard = text[start:end]
            key = _norm(heard)
            for t in self.terms:
                if any(_norm(h) == key for h in t.heard):
                    return Fix(start, end, heard, _cased(t.text, heard), "taught"), n
        best: tuple[float, int, Term, str] | None = None
        for n in ((1,) if strict else (1, 2, 3)):
            if i + n > len(words):
                continue
            span = words[i:i + n]
            heard = text[span[0][0]:span[-1][1]]
            if n > 1 and not re.fullmatch(r"[^\W_]+(?:[\s\-'’]+[^\W_]+)*", heard):
                continue  # words across punctuation are not one misheard word
            score = self._similar(heard, span, language, strict)
            if score is not None and (best is None or score[0] > best[0]):
                best = (score[0], n, score[1], score[2])
        if best is None:
            return None, 1
        _, n, term, ending = best
        start, end = words[i][0], words[i + n - 1][1]
        if text[start:end] == term.text + ending:
            return None, 1
        return Fix(start, end, text[start:end], term.text + ending, "sounds like"), n

    def _similar(self, heard: str, span: list, language: str, strict: bool
                 ) -> tuple[float, Term, str] | None:
        lang = language_of(heard) if language == "auto" else language
        common = _common(lang)
        plain = [_norm(w) for _, _, w in span]
        if len(span) == 1 and plain[0] in common:
            return None
        if len(span) > 1 and (plain[0] in common or plain[-1] in common):
            return None  # "of Kshetrapal" is a word and the term, not one misheard word
        joined = "".join(plain)
        if len(joined) < MIN_CHARS:
            return None
        best = None
        for t in self.terms:
            target = _norm(t.text)
            if joined == target:  # the term itself: only its spelling may differ
                if " ".join(heard.split()) == t.text:
                    return None
                return (1000.0, t, "")
            if len(target) < MIN_CHARS or language_of(t.text) != language_of(heard) \
                    or len(span) > len(t.text.split()) + 2:
                continue
            for stem, ending in _endings(joined, t.lang):
                if abs(len(stem) - len(target)) > max(2, len(target) // 4):
                    continue  # much longer or shorter: another word, or a word more
                chars = fuzz.ratio(stem, target)
                if strict:
                    typos = jellyfish.damerau_levenshtein_distance(stem, target)
                    ok = (typos <= max(1, len(target) // STRICT_LETTERS_PER_TYPO)
                          and stem[:1] == target[:1] and len(span) == 1)
                    score = chars
                else:
                    sound = fuzz.ratio(sound_key(stem), sound_key(target))
                    ok = (chars >= CHAR_MIN and sound >= SOUND_MIN) or chars >= CHAR_ALONE
                    score = chars + sound
                if ok and (best is None or score > best[0]):
                    best = (score, t, _ending_as_heard(heard, ending))
        return best


class StreamSpeller:
    """Passes streamed (generated) text on a whole word at a time, the writer's names and
    terms spelled as in `vocabulary` (`correct(strict=True)`); without terms, at once."""

    def __init__(self, vocabulary: Vocabulary | None, emit: Callable[[str], None]) -> None:
        self.vocabulary = vocabulary if vocabulary is not None and vocabulary.terms else None
        self.emit = emit
        self.pending = ""

    def feed(self, text: str) -> None:
        if self.vocabulary is None:
            self.emit(text)
            return
        self.pending += text
        m = re.search(r"\W(?=\w*$)", self.pending)
        if m:
            done, self.pending = self.pending[: m.end()], self.pending[m.end():]
            self.emit(self.vocabulary.correct(done, strict=True)[0])

    def end(self) -> None:
        if self.pending:
            self.emit(self.vocabulary.correct(self.pending, strict=True)[0])
            self.pending = ""


_current: tuple[Path, float, Vocabulary] | None = None


def current() -> Vocabulary:
    """The writer's vocabulary as it is on disk now (read again only when the file changed);
    empty when there is none or it cannot be read (`Vocabulary.load` says why)."""
    global _current
    path = paths.vocabulary_path()
    try:
        mtime = path.stat().st_mtime
    except OSError:
        return Vocabulary()
    if _current is None or _current[:2] != (path, mtime):
        try:
            _current = (path, mtime, Vocabulary.load(path))
        except KillahError:
            return Vocabulary()
    return _current[2]


def _endings(word: str, lang: str) -> list[tuple[str, str]]:
    """(stem, case ending) readings of a heard word: itself, and for Russian without its ending."""
    out = [(word, "")]
    if lang == "ru":
        out += [(word[: -len(e)], e) for e in RU_ENDINGS if word.endswith(e) and len(word) - len(e)
                >= MIN_CHARS]
    return out


def _ending_as_heard(heard: str, ending: str) -> str:
    return heard[-len(ending):] if ending else ""


def _cased(right: str, heard: str) -> str:
    """A taught form keeps the writer's spelling; at a sentence start a lower-case term is
    capitalised as heard."""
    if heard[:1].isupper() and right[:1].islower():
        return right[:1].upper() + right[1:]
    return right
