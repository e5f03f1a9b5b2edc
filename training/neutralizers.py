"""Content descriptions of prose chunks: what happens, without the author's wording.

A style LoRA learns "description in, the author's prose out"; the evaluation
harness asks every condition to write from the same descriptions. A
description names the point of view, the characters and the events in order,
and must not copy the original (see `validate`).

Three backends behind one interface (`Neutralizer.describe(text)`):

- `extractive`: deterministic, no model. Picks the salient narrative
  sentences, drops dialogue, and reduces each to its lemmatised content words
  (simplemma), under a fixed frame in the passage's language.
- `local:<model>`: an instruct model run through engine.generate (e.g. an
  instruct GGUF converted by engine.models.load_model); its chat template is
  used when the tokenizer has one.
- `endpoint:<url>[#model]`: any OpenAI-compatible chat endpoint
  (mlx_lm.server, Ollama, llama.cpp server...), called with parallel workers.

`describe_chunk` is the pure per-chunk step the training pipeline wraps in its
resumable stage: it describes, validates, and falls back to the extractive
backend when a model's description copies the original or is too short.
"""

from __future__ import annotations

import json
import math
import re
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol, Sequence

from engine.errors import KillahError
from training.chunking import detect_lang, split_paragraphs, split_sentences

_WORD = re.compile(r"\w+(?:['’-]\w+)*")
_QUOTED = re.compile(r"[\"“«„][^\"“”«»„]*[\"”»]|‘[^’]*’(?=\W|$)")
_DIALOGUE_LINE = re.compile(r"^\s*[—–-]")
_OPENERS = set("\"'“‘«([—–- ")
_ENDERS = set(".!?:…")

FRAMES = {
    "en": {
        "pov": {"first": "Told in the first person by a narrator.",
                "third": "Told in the third person."},
        "characters": "Characters: {names}.",
        "no_characters": "No character is named.",
        "events": "What happens, in order: {events}.",
        "dialogue": "About {share}% of the passage is dialogue.",
        "talk": "The talk is about: {topics}.",
        "no_dialogue": "There is no dialogue.",
    },
    "ru": {
        "pov": {"first": "Рассказ от первого лица.", "third": "Рассказ от третьего лица."},
        "characters": "Персонажи: {names}.",
        "no_characters": "Имена персонажей не названы.",
        "events": "Что происходит, по порядку: {events}.",
        "dialogue": "Около {share}% текста занимает диалог.",
        "talk": "Говорят о том, что связано со словами: {topics}.",
        "no_dialogue": "Диалога нет.",
    },
}
FIRST_PERSON = {
    "en": {"i", "me", "my", "mine", "myself", "we", "us", "our"},
    "ru": {
        "я",
        "меня",
        "мне",
        "мной",
        "мы",
        "нас",
        "нам",
        "нами",
        "мой",
        "моя",
        "моё",
        "мое",
        "мои",
    },
}
THIRD_PERSON = {
    "en": {"he", "him", "his", "she", "her", "they", "them", "their"},
    "ru": {"он", "его", "ему", "им", "она", "ее", "её", "ей", "они", "их", "ими"},
}


# ---------------------------------------------------------------- validation


@dataclass(frozen=True)
class Validation:
    ok: bool
    reasons: tuple[str, ...]
    words: int
    copied_ngram_share: float  # share of the description's word 4-grams found in the original
    max_sentence_jaccard: (
        float  # highest char 5-gram Jaccard of a description sentence vs an original one
    )


def _tokens(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def _ngrams(tokens: list[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)}


def _jaccard_matrix(queries: list[str], choices: list[str], n: int):
    """char n-gram Jaccard of every query against every choice (the simlar Rust extension)."""
    import simlar

    return simlar.jaccard_ngrams_matrix(queries, choices, n, lowercase=True, fold_whitespace=True)


def validate(
    description: str,
    original: str,
    min_words: int = 15,
    max_ratio: float = 1.0,
    max_copied_share: float = 0.15,
    max_sentence_jaccard: float = 0.5,
) -> Validation:
    """Reject descriptions that are too short, too long, or copy the original's wording."""
    reasons = []
    d_tokens = _tokens(description)
    o_tokens = _tokens(original)
    if len(d_tokens) < min_words:
        reasons.append(f"too short ({len(d_tokens)} words < {min_words})")
    if o_tokens and len(d_tokens) > max_ratio * len(o_tokens):
        reasons.append(f"longer than the original ({len(d_tokens)} vs {len(o_tokens)} words)")
    d4 = _ngrams(d_tokens, 4)
    copied = len(d4 & _ngrams(o_tokens, 4)) / len(d4) if d4 else 0.0
    if copied > max_copied_share:
        reasons.append(f"copies the original: {copied:.0%} of its word 4-grams are the author's")
    d_sents = [s for p in split_paragraphs(description) for s in split_sentences(p)]
    o_sents = [s for p in split_paragraphs(original) for s in split_sentences(p)]
    jac = 0.0
    if d_sents and o_sents:
        jac = float(_jaccard_matrix(d_sents, o_sents, 5).max())
    if jac > max_sentence_jaccard:
        reasons.append(
            f"a sentence is near-copied from the original (char 5-gram Jaccard {jac:.2f})"
        )
    return Validation(not reasons, tuple(reasons), len(d_tokens), copied, jac)


# ---------------------------------------------------------------- extractive


def _strip_dialogue(paragraph: str) -> tuple[str, int]:
    """The paragraph without quoted speech (and the number of speech characters removed)."""
    if _DIALOGUE_LINE.match(paragraph):  # Russian-style: a whole line of speech after a dash
        return "", len(paragraph)
    removed = sum(len(m) for m in _QUOTED.findall(paragraph))
    return _QUOTED.sub(" ", paragraph), removed


def _sentence_initial(text: str, start: int) -> bool:
    if start > 0 and text[start - 1] in "\"“‘«'—–-":
        return True  # speech or a quotation opens here
    i = start - 1
    while i >= 0 and text[i] in _OPENERS:
        i -= 1
    return i < 0 or text[i] in _ENDERS


TITLES = {"mr", "mrs", "miss", "sir", "lady", "lord", "dr", "captain", "colonel", "uncle",
          "aunt", "mister", "madame", "monsieur", "professor", "doctor"}


def proper_names(text: str, lang: str = "en", limit: int = 6) -> list[str]:
    """Capitalised words seen mid-sentence (with a title before them), most frequent first.

    In Russian, case endings are folded (forms sharing their first five letters are one
    name), so "Ариадне" and "Ариадну" count as "Ариадна".
    """
    from training.evaluation.function_words import for_lang

    stop = for_lang(lang)
    counts: Counter[str] = Counter()
    first: dict[str, int] = {}
    forms: dict[str, Counter[str]] = {}
    inflected = lang == "ru"
    words = list(_WORD.finditer(text))
    for k, m in enumerate(words):
        w = m.group().split("'")[0].split("’")[0]
        if (len(w) < 2 or not w[0].isupper() or w.isupper() or w.lower() in stop
                or w.lower() in TITLES or _sentence_initial(text, m.start())
                or w.count("-") > 1):  # "What-you-may-call-her" is a phrase, not a name
            continue
        name = w
        prev = words[k - 1].group() if k else ""
        if (
            prev.lower().rstrip(".") in TITLES
            and text[words[k - 1].end() : m.start()].strip(". ") == ""
        ):
            name = f"{prev} {name}"
        key = name[:5] if inflected else name
        counts[key] += 1
        first.setdefault(key, m.start())
        forms.setdefault(key, Counter())[name] += 1
    ranked = sorted(counts, key=lambda w: (-counts[w], first[w]))
    return [forms[k].most_common(1)[0][0] for k in ranked[:limit]]


def _lemma(word: str, lang: str) -> str:
    import simplemma

    try:
        return simplemma.lemmatize(word, lang=lang)
    except ValueError:
        return word


class ExtractiveNeutralizer:
    """Deterministic content description: POV, characters, lemmatised events, dialogue share."""

    name = "extractive"

    def __init__(self, events_per_100_words: float = 1.5, keywords_per_event: int = 6):
        self.events_per_100_words = events_per_100_words
        self.keywords_per_event = keywords_per_event

    def describe(self, text: str, lang: str | None = None) -> str:
        from training.evaluation.function_words import for_lang

        lang = lang or detect_lang(text)
        frame = FRAMES.get(lang, FRAMES["en"])
        stop = for_lang(lang)
        paragraphs = split_paragraphs(text, drop_headings=False)
        total_chars = max(sum(len(p) for p in paragraphs), 1)
        narrative, speech, spoken = [], 0, []
        for p in paragraphs:
            kept, removed = _strip_dialogue(p)
            speech += removed
            spoken.append(p if not kept.strip() else " ".join(_QUOTED.findall(p)))
            narrative.extend(s for s in split_sentences(kept, lang) if len(_WORD.findall(s)) >= 3)
        names = proper_names(text, lang)
        name_words = {part for n in names for part in n.split()}

        narration_tokens = [w.lower() for s in narrative for w in _WORD.findall(s)]
        first_narr = sum(1 for t in narration_tokens if t in FIRST_PERSON.get(lang, set()))
        third_narr = sum(1 for t in narration_tokens if t in THIRD_PERSON.get(lang, set()))
        pov = "first" if first_narr >= 3 and first_narr >= 0.5 * third_narr else "third"

        def content(sentence: str) -> list[str]:
            out = []
            for w in _WORD.findall(sentence):
                low = w.lower()
                if low in stop or low in TITLES or len(w) < 3 or w.isdigit():
                    continue
                out.append(w if w in name_words else _lemma(low, lang))
            return out

        lemmas = [content(s) for s in narrative]
        freq = Counter(lem for ls in lemmas for lem in set(ls))
        scores = [
            sum(math.log1p(freq[lem]) for lem in set(ls)) / math.sqrt(len(ls) + 1) for ls in lemmas
        ]
        k = (
            max(1, round(self.events_per_100_words * len(narration_tokens) / 100))
            if narrative
            else 0
        )
        chosen = sorted(sorted(range(len(narrative)), key=lambda i: -scores[i])[:k])
        events = []
        for i in chosen:
            seen: list[str] = []
            for lem in lemmas[i]:
                if lem not in seen:
                    seen.append(lem)
            # names first, then the passage's recurring words: the author's word order is not kept
            seen.sort(key=lambda lem: (lem not in name_words, -freq[lem]))
            if seen:
                events.append(", ".join(seen[: self.keywords_per_event]))
        talk = Counter(lem for p in spoken for lem in content(p) if lem not in name_words)
        topics = [w for w, _c in talk.most_common(self.keywords_per_event + 2)]

        parts = [frame["pov"][pov]]
        parts.append(frame["characters"].format(names=", ".join(names)) if names
                     else frame["no_characters"])
        if events:
            parts.append(frame["events"].format(events="; ".join(events)))
        share = round(100 * speech / total_chars)
        if share >= 5:
            parts.append(frame["dialogue"].format(share=share))
            if topics:
                parts.append(frame["talk"].format(topics=", ".join(topics)))
        else:
            parts.append(frame["no_dialogue"])
        return " ".join(parts)

    def describe_many(self, texts: Sequence[str], lang: str | None = None) -> list[str]:
        return [self.describe(t, lang) for t in texts]


# ---------------------------------------------------------------- model backends


@dataclass
class LocalNeutralizer:
    """An instruct model run through engine.generate (greedy, so the result is reproducible)."""

    model: str
    max_tokens: int = 220
    chat: bool | None = None  # None: use the chat template when the tokenizer has one
    name: str = field(init=False, default="local")

    def _lm(self):
        from engine.models import load_model

        return load_model(self.model)

    def prompt(self, text: str, lang: str | None = None) -> str:
        from engine import tasks

        lang = lang or detect_lang(text)
        lm = self._lm()
        tokenizer = getattr(lm.tokenizer, "_tokenizer", lm.tokenizer)
        use_chat = (
            self.chat if self.chat is not None else bool(getattr(tokenizer, "chat_template", None))
        )
        if use_chat:
            return tokenizer.apply_chat_template(
                tasks.neutralize_messages(text, lang), tokenize=False, add_generation_prompt=True
            )
        return tasks.neutralize_plain_prompt(text, lang)

    def describe(self, text: str, lang: str | None = None) -> str:
        from engine.generate import SamplingOptions, generate

        opts = SamplingOptions(temperature=0.0, max_tokens=self.max_tokens, repetition_penalty=1.1,
                               seed=0)
        return generate(self._lm(), self.prompt(text, lang), opts).text.strip()

    def describe_many(self, texts: Sequence[str], lang: str | None = None) -> list[str]:
        return [self.describe(t, lang) for t in texts]


@dataclass
class EndpointNeutralizer:
    """Any OpenAI-compatible /chat/completions endpoint, with parallel workers."""

    url: str  # e.g. http://127.0.0.1:8080/v1 (mlx_lm.server) or http://127.0.0.1:11434/v1 (Ollama)
    model: str = "default"
    api_key: str | None = None
    workers: int = 4
    timeout: float = 120.0
    max_tokens: int = 300
    retries: int = 1
    name: str = field(init=False, default="endpoint")

    def _endpoint(self) -> str:
        base = self.url.rstrip("/")
        return base if base.endswith("/chat/completions") else base + "/chat/completions"

    def describe(self, text: str, lang: str | None = None) -> str:
        from engine import tasks

        body = json.dumps({
            "model": self.model,
            "messages": tasks.neutralize_messages(text, lang or detect_lang(text)),
            "temperature": 0,
            "max_tokens": self.max_tokens,
        }).encode()
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        last: Exception | None = None
        for _ in range(self.retries + 1):
            request = urllib.request.Request(self._endpoint(), data=body, headers=headers)
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    reply = json.load(response)
                return reply["choices"][0]["message"]["content"].strip()
            except (
                urllib.error.URLError,
                OSError,
                ValueError,
                KeyError,
                IndexError,
                TypeError,
            ) as e:
                last = e
        raise KillahError(f"neutralization endpoint {self._endpoint()} failed: {last}")

    def describe_many(self, texts: Sequence[str], lang: str | None = None) -> list[str]:
        with ThreadPoolExecutor(max_workers=max(1, self.workers)) as pool:
            return list(pool.map(lambda t: self.describe(t, lang), texts))


class Neutralizer(Protocol):
    name: str

    def describe(self, text: str, lang: str | None = None) -> str: ...

    def describe_many(self, texts: Sequence[str], lang: str | None = None) -> list[str]: ...


def make_neutralizer(spec: str | None = None) -> Neutralizer:
    """'extractive' (default), 'local:<model path or id>' or 'endpoint:<url>[#model]'."""
    spec = (spec or "extractive").strip()
    if spec == "extractive":
        return ExtractiveNeutralizer()
    kind, _, rest = spec.partition(":")
    if kind == "local" and rest:
        return LocalNeutralizer(rest)
    if kind == "endpoint" and rest:
        url, _, model = rest.partition("#")
        return EndpointNeutralizer(url, model or "default")
    raise KillahError(
        f"unknown neutralizer {spec!r}: use 'extractive', 'local:<model>' or "
        "'endpoint:<url>[#model]'"
    )


@dataclass(frozen=True)
class Description:
    text: str
    backend: str  # the backend that produced the accepted text
    validation: Validation
    rejected: str | None = None  # why the model's own description was replaced, if it was


def describe_chunk(text: str, neutralizer: Neutralizer | None = None, lang: str | None = None,
                   description: str | None = None) -> Description:
    """Describe one chunk, validate it, and fall back to the extractive backend if it fails.

    Pass `description` when the model's output is already at hand (batched backends).
    """
    neutralizer = neutralizer or ExtractiveNeutralizer()
    lang = lang or detect_lang(text)
    candidate = description if description is not None else neutralizer.describe(text, lang)
    check = validate(candidate, text)
    if check.ok or neutralizer.name == "extractive":
        return Description(candidate, neutralizer.name, check)
    fallback = ExtractiveNeutralizer().describe(text, lang)
    return Description(fallback, "extractive", validate(fallback, text), "; ".join(check.reasons))


def neutralize(text: str, backend: str | None = None, lang: str | None = None) -> str:
    """The validated description of one chunk (convenience over describe_chunk)."""
    return describe_chunk(text, make_neutralizer(backend), lang).text
