"""A measurable register signal: how formal a text reads, from surface cues (English, Russian).

    register(text) -> a score, higher = more formal; 0 is plain neutral prose

The cues are the ones formality studies lean on and a 270M model's rewrites move:
contractions, chatty words and fillers, first/second-person address, exclamations,
lower-case sentence starts (-), and word length, long words and bookish connectives (+).
On STEL's 100 public formality quadruples (GYAFC sentences; 200 formal/informal pairs)
the formal sentence scores higher in 0.885 of the pairs (docs/rewrite.md). It is a
measure for "formal is more formal", not a classifier of good style.
"""

from __future__ import annotations

import re

_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*", re.UNICODE)


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


INFORMAL = {
    "en": frozenset(
        ["lol", "u", "ur", "ya", "yah", "yeah", "yep", "yup", "nope", "ok", "okay", "hey", "hi", "guys", "guy", "stuff", "cool", "awesome", "totally", "gonna", "wanna", "gotta", "kinda", "sorta", "lil", "dude", "btw", "omg", "tho", "thx", "pls", "plz", "cuz", "coz", "'cause", "y'all", "ain't", "pretty", "really", "basically", "literally", "super", "huge", "crazy", "wow", "oh", "um", "uh", "hmm", "yay", "nah", "anyways", "kids", "folks", "buddy", "mom", "dad", "grab", "got", "gets", "getting", "bunch", "lots", "tons", "awful", "nice"]
    ),
    "ru": frozenset(
        ["ну", "вот", "типа", "короче", "прям", "прямо", "блин", "ладно", "ага", "угу", "ой", "ах", "эх", "щас", "чё", "че", "сейчас", "ваще", "вообще", "классно", "круто", "офигенно", "клёво", "супер", "норм", "нормально", "окей", "пока", "привет", "здорово", "чувак", "ребята", "мама", "папа", "бабуля", "дедуля", "малость", "чуток", "немножко", "капец", "жесть", "фигня", "штука", "штуки"]
    ),
}
FORMAL = {
    "en": frozenset(
        ["therefore", "however", "moreover", "furthermore", "thus", "hence", "consequently", "nevertheless", "nonetheless", "whom", "shall", "regarding", "concerning", "whereas", "wherein", "accordingly", "subsequently", "additionally", "approximately", "indeed", "upon", "within", "prior", "purchase", "assist", "obtain", "require", "request", "receive", "residence", "individual", "individuals", "sufficient", "commence", "inform", "attempt", "establish", "regrettably", "unfortunately", "respectively", "kindly"]
    ),
    "ru": frozenset(
        ["однако", "следовательно", "вследствие", "ввиду", "поскольку", "является", "являются", "являлся", "данный", "данная", "данное", "данные", "осуществлять", "осуществил", "осуществила", "производить", "произвёл", "произвела", "находиться", "находился", "находилась", "необходимо", "надлежит", "соответственно", "ввиду", "касательно", "относительно", "вышеуказанный", "настоящий", "приобрёл", "приобрела", "приобрести", "проживать", "проживает", "впоследствии", "тем", "самым", "таким", "образом", "кроме", "того", "также", "весьма", "сообщить", "уведомить"]
    ),
}
PERSONAL = {
    "en": frozenset(["i", "me", "my", "mine", "you", "your", "yours", "we", "us", "our"]),
    "ru": frozenset(["я", "меня", "мне", "мной", "ты", "тебя", "тебе", "тобой", "твой", "твоя", "твоё", "твои", "мы", "нас", "нам"]),
}
_CONTRACTION = re.compile(r"[^\W\d_]+['’](?:t|s|re|ve|ll|d|m)\b", re.IGNORECASE)
_LOWER_START = re.compile(r"(?:^|[.!?]\s+)[a-zа-яё]")


def lang_of(text: str) -> str:
    cyr = sum("\u0400" <= c <= "\u04ff" for c in text)
    lat = sum("a" <= c.lower() <= "z" for c in text)
    return "ru" if cyr > lat else "en"


def register(text: str, lang: str | None = None) -> float:
    """Formality score: about -3 (chatty) to +3 (bookish); a rewrite's shift is what counts."""
    lang = lang or lang_of(text)
    words = [w.lower().replace("’", "'") for w in _WORD.findall(text)]
    if not words:
        return 0.0
    n = len(words)
    mean_len = sum(len(w) for w in words) / n
    long_share = sum(len(w) >= (9 if lang == "ru" else 7) for w in words) / n
    informal = sum(w in INFORMAL[lang] for w in words) / n
    formal = sum(w in FORMAL[lang] for w in words) / n
    personal = sum(w in PERSONAL[lang] for w in words) / n
    contractions = len(_CONTRACTION.findall(text)) / n if lang == "en" else 0.0
    exclaim = text.count("!") / max(1, n / 10)
    lower_start = len(_LOWER_START.findall(text.strip())) / max(1, text.count(".") + 1)
    base_len = 5.6 if lang == "ru" else 4.4
    return (
        0.8 * (mean_len - base_len)
        + 3.0 * long_share
        + 12.0 * formal
        - 12.0 * informal
        - 4.0 * personal
        - 15.0 * contractions
        - 0.5 * exclaim
        - 1.0 * lower_start
    )
