"""The checkable facts of a sentence: numbers, names, dates and negations (English, Russian).

A rewrite must keep every one of them and add none. Numbers are compared by value
("a hundred and twelve" = "112" = "one hundred twelve"; text2num for English, a small
stem table for Russian number words); names by their first letters (Russian names
decline: Анна, Анне, Анну); dates by the month and weekday they name; negations by
count ("not", "never", "no one"; "не", "ни", "никогда").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

LEXICONS = Path(__file__).resolve().parents[2] / "resources" / "lexicons"
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*", re.UNICODE)
_NUMBER = re.compile(r"(?<![\w.])(\d{1,3}(?:[,  ]\d{3})+|\d+(?:[.,:]\d+)?)(?:st|nd|rd|th|-?[а-яё]{1,3})?(?!\w)")
_SENTENCE_START = re.compile(r"(?:^|[.!?…]\s+|[\"“«(]\s*)$")

NEGATIONS = {
    "en": {"not", "never", "no", "nobody", "nothing", "none", "neither", "nor", "nowhere",
           "cannot", "without", "noone"},
    "ru": {"не", "ни", "нет", "никогда", "никто", "ничего", "ничто", "нигде", "никуда",
           "без", "никого", "никому", "ничем", "никем", "ниоткуда"},
}


def _wordset(text: str) -> frozenset[str]:
    return frozenset(text.split())


MONTHS = {
    "en": ("january", "february", "march", "april", "may", "june", "july", "august",
           "september", "october", "november", "december"),
    "ru": ("январ", "феврал", "март", "апрел", "ма[йяе]", "июн", "июл", "август",
           "сентябр", "октябр", "ноябр", "декабр"),
}
WEEKDAYS = {
    "en": ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"),
    "ru": ("понедельник", "вторник", "сред[аыуе]", "четверг", "пятниц", "суббот", "воскресень"),
}
# Capitalised words that are not names when they open a sentence (or follow a title).
_NOT_NAMES = _wordset("""
a an the this that these those it its he she they we i you his her their our my your there here
after before when while on in at from to for of by with as if but and or so then once since
most only one each every all some any no none neither nobody nothing many much few several both
what which who whom whose where why how yes oh ah well now today yesterday tomorrow last next
mr mrs ms dr st sir madam miss lord lady mister doctor professor captain uncle aunt
grandfather grandmother mother father brother sister
""") | _wordset("""
я ты он она оно мы вы они это этот эта эти тот та те там тут здесь когда пока если но и а или
так то после перед в во на с со к ко по за из от до у о об при для без над под про через
мой моя моё мои твой наш ваш его её их все всё каждый один одна одно несколько многие никто ничто
как что кто где почему зачем куда откуда да нет ну вот сегодня вчера завтра потом теперь
господин госпожа доктор профессор капитан дядя тётя дед бабушка мать отец брат сестра
""")
_MAY_DATE = re.compile(r"\d|\b(of|in|on|since|until)\s+may\b", re.IGNORECASE)
_MONTH_RE = {lang: re.compile(r"\b(" + "|".join(m) + r")", re.IGNORECASE) for lang, m in MONTHS.items()}
_WEEKDAY_RE = {lang: re.compile(r"\b(" + "|".join(m) + r")", re.IGNORECASE) for lang, m in WEEKDAYS.items()}

# Russian number words: exact forms, then stems (tens and hundreds decline), then ordinals.
_RU_EXACT = {
    "два": 2, "две": 2, "двух": 2, "двум": 2, "двумя": 2, "три": 3, "трёх": 3, "трех": 3, "трём": 3,
    "трем": 3, "тремя": 3, "четыре": 4, "четырёх": 4, "четырех": 4, "четырём": 4, "четырем": 4,
    "пять": 5, "пяти": 5, "пятью": 5, "шесть": 6, "шести": 6, "семь": 7, "семи": 7, "восемь": 8,
    "восьми": 8, "девять": 9, "девяти": 9, "десять": 10, "десяти": 10, "сто": 100, "ста": 100,
    "сорок": 40, "сорока": 40, "тысяча": 1000, "тысячи": 1000, "тысяч": 1000, "тысячу": 1000,
}
_RU_STEMS = (
    ("одиннадцат", 11), ("двенадцат", 12), ("тринадцат", 13), ("четырнадцат", 14),
    ("пятнадцат", 15), ("шестнадцат", 16), ("семнадцат", 17), ("восемнадцат", 18),
    ("девятнадцат", 19), ("двадцат", 20), ("тридцат", 30), ("пятьдесят", 50), ("пятидесят", 50),
    ("шестьдесят", 60), ("шестидесят", 60), ("семьдесят", 70), ("семидесят", 70),
    ("восемьдесят", 80), ("восьмидесят", 80), ("девяност", 90), ("двест", 200), ("двухсот", 200),
    ("трист", 300), ("трёхсот", 300), ("трехсот", 300), ("четырест", 400), ("четырёхсот", 400),
    ("пятьсот", 500), ("пятисот", 500), ("шестьсот", 600), ("семьсот", 700), ("восемьсот", 800),
    ("девятьсот", 900), ("миллион", 1_000_000),
)
_RU_ORDINALS = (
    ("втор", 2), ("трет", 3), ("четвёрт", 4), ("четверт", 4), ("пят", 5), ("шест", 6),
    ("седьм", 7), ("восьм", 8), ("девят", 9), ("десят", 10),
)
_RU_ORDINAL_END = re.compile(r"(ый|ой|ий|ая|ое|ые|ого|ому|ым|ом|ую|ей|ых|ыми|ье|ья|ьего|ьему|ьим|ьем|ью)$")


@dataclass(frozen=True)
class Facts:
    numbers: frozenset[str]
    names: frozenset[str]  # lower-cased stems
    dates: frozenset[str]  # "month:3", "weekday:1"
    negations: int

    @property
    def count(self) -> int:
        return len(self.numbers) + len(self.names) + len(self.dates) + (1 if self.negations else 0)


def lang_of(text: str) -> str:
    cyr = sum("\u0400" <= c <= "\u04ff" for c in text)
    lat = sum("a" <= c.lower() <= "z" for c in text)
    return "ru" if cyr > lat else "en"


def _canonical(num: str) -> str:
    num = num.replace(" ", "").replace("\u00a0", "").replace("\u202f", "")
    if re.fullmatch(r"\d{1,3}(,\d{3})+", num):
        num = num.replace(",", "")
    if re.fullmatch(r"\d+[.,]0+", num):
        num = re.split(r"[.,]", num)[0]
    return num.replace(",", ".").lstrip("0") or "0"


def _ru_word_value(word: str) -> int | None:
    w = word.lower()
    if w in _RU_EXACT:
        return _RU_EXACT[w]
    for stem, value in _RU_STEMS:
        if w.startswith(stem):
            return value
    if _RU_ORDINAL_END.search(w):
        for stem, value in _RU_ORDINALS:
            if w.startswith(stem) and len(w) <= len(stem) + 4 and not w.startswith("пятн"):
                return value
    return None


def _ru_numbers(text: str) -> list[str]:
    """Runs of Russian number words (a leading digit group too) as values.

    "двадцать три" -> 23, "две тысячи" -> 2000, "300 тысяч" -> 300000.
    """
    out: list[str] = []
    total, current, in_run = 0, 0, False
    for m in re.finditer(r"\S+", text):
        token = m.group(0)
        bare = token.strip(".,;:!?()«»\"—–-")
        value = _ru_word_value(bare)
        if value is None and not in_run and re.fullmatch(r"\d+", bare):
            nxt = text[m.end():].split(None, 1)
            if nxt and (_ru_word_value(nxt[0].strip(".,;:!?")) or 0) >= 1000:
                value = int(bare)  # "300 тысяч"
        if value is None:
            if in_run:
                out.append(str(total + current))
            total, current, in_run = 0, 0, False
            continue
        if value >= 1000:
            total += max(current, 1) * value
            current = 0
        else:
            current += value
        in_run = True
        if token[-1:] in ",.;:!?":
            out.append(str(total + current))
            total, current, in_run = 0, 0, False
    if in_run:
        out.append(str(total + current))
    return out


_SCALED = re.compile(r"(\d+(?:[.,]\d+)?)\s+(thousand|million|тысяч\w*|миллион\w*)", re.IGNORECASE)


def numbers(text: str, lang: str) -> set[str]:
    """Every number the text states, as a canonical digit string."""
    found: list[str] = []
    for m in _SCALED.finditer(text):  # "2.5 million", "300 тысяч"
        scale = 1000 if m.group(2).lower().startswith(("thousand", "тысяч")) else 1_000_000
        found.append(str(round(float(m.group(1).replace(",", ".")) * scale)))
    text = _SCALED.sub(" ", text)
    if lang == "en":
        from text_to_num import alpha2digit

        text = alpha2digit(text, "en", threshold=1)  # "one" alone is rarely a count
    else:
        found += _ru_numbers(text)
    found += [m.group(1) for m in _NUMBER.finditer(text)]
    return {_canonical(n) for n in found}


@lru_cache(maxsize=2)
def common_words(lang: str) -> frozenset[str]:
    """Words usually written in lower case (resources/lexicons/<lang>/common_words.txt)."""
    path = LEXICONS / lang / "common_words.txt"
    if not path.is_file():
        return frozenset()
    lines = path.read_text(encoding="utf-8").splitlines()
    return frozenset(w for w in lines if w and not w.startswith("#"))


def _stem(word: str, lang: str) -> str:
    w = word.lower().replace("’", "'").removesuffix("'s")
    return w[: max(3, len(w) - 2)] if lang == "ru" else w


def names(text: str, lang: str, initial: bool = True) -> set[str]:
    """Stems of capitalised words that are not month/weekday names or sentence-opening function words.

    `initial=False` skips every sentence-initial word (used for what a candidate adds,
    where a capitalised opener is usually an ordinary word).
    """
    return {_stem(word, lang) for word in name_forms(text, lang, initial)}


def name_forms(text: str, lang: str, initial: bool = True) -> set[str]:
    """The capitalised words `names` counts, as written ("Darcy's" as "Darcy")."""
    out = set()
    for m in _WORD.finditer(text):
        word = m.group(0)
        if not word[:1].isupper():
            continue
        low = word.lower().replace("’", "'").removesuffix("'s")
        if low in _NOT_NAMES or _MONTH_RE[lang].match(low) or _WEEKDAY_RE[lang].match(low):
            continue
        at_start = bool(_SENTENCE_START.search(text[: m.start()]))
        if at_start and (not initial or low in common_words(lang) or low in NEGATIONS[lang]):
            continue
        out.add(re.sub(r"['’]s$", "", word))
    return out


def dates(text: str, lang: str) -> set[str]:
    out = set()
    for m in _MONTH_RE[lang].finditer(text):
        low = m.group(1).lower()
        if lang == "en" and low == "may" and not _MAY_DATE.search(text):
            continue  # "may" the verb
        if lang == "en" and low == "march" and m.group(1)[0].islower():
            continue  # "march" the verb
        idx = next(i for i, p in enumerate(MONTHS[lang]) if re.match(p, low, re.IGNORECASE))
        out.add(f"month:{idx + 1}")
    for m in _WEEKDAY_RE[lang].finditer(text):
        low = m.group(1).lower()
        idx = next(i for i, p in enumerate(WEEKDAYS[lang]) if re.match(p, low, re.IGNORECASE))
        out.add(f"weekday:{idx + 1}")
    return out


def negations(text: str, lang: str) -> int:
    words = [w.lower().replace("’", "'") for w in _WORD.findall(text)]
    n = sum(w in NEGATIONS[lang] for w in words)
    if lang == "en":
        n += sum(w.endswith("n't") for w in words)
    return n


def facts(text: str, lang: str | None = None) -> Facts:
    lang = lang or lang_of(text)
    return Facts(frozenset(numbers(text, lang)), frozenset(names(text, lang)),
                 frozenset(dates(text, lang)), negations(text, lang))


def compare(source: str, candidate: str, lang: str | None = None) -> tuple[float, list[str]]:
    """(share of the source's facts the candidate keeps, reasons for every fact lost or added)."""
    lang = lang or lang_of(source)
    src, cand = facts(source, lang), facts(candidate, lang)
    reasons: list[str] = []
    kept = 0
    low = candidate.lower().replace("’", "'")
    for n in sorted(src.numbers):
        if n in cand.numbers:
            kept += 1
        else:
            reasons.append(f"loses the number {n}")
    for n in sorted(cand.numbers - src.numbers):
        reasons.append(f"adds the number {n}")
    for stem in sorted(src.names):
        if stem in low:
            kept += 1
        else:
            reasons.append(f"loses the name {stem.capitalize()}")
    src_low = source.lower().replace("’", "'")
    for stem in sorted(names(candidate, lang, initial=False)):
        if stem not in src_low:
            reasons.append(f"adds the name {stem.capitalize()}")
    for d in sorted(src.dates):
        if d in cand.dates:
            kept += 1
        else:
            reasons.append(f"loses the date word ({d})")
    for d in sorted(cand.dates - src.dates):
        reasons.append(f"adds a date word ({d})")
    if src.negations:
        kept += cand.negations == src.negations
    if cand.negations < src.negations:
        reasons.append("drops a negation")
    elif cand.negations > src.negations:
        reasons.append("adds a negation")
    return (kept / src.count if src.count else 1.0), reasons
