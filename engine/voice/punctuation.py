"""Spoken punctuation in dictation: "comma" -> ",", "новый абзац" -> a blank line.

Used only when the user turns spoken punctuation on. Whisper often adds its own
punctuation around the spoken word ("Hello, comma, world."); that is dropped, the
symbol attaches to the word before it, and the next word is capitalised after a
sentence end.
"""

from __future__ import annotations

import re

EN = {
    "comma": ",", "period": ".", "full stop": ".", "question mark": "?",
    "exclamation mark": "!", "exclamation point": "!", "colon": ":", "semicolon": ";",
    "semi colon": ";", "dash": " —", "hyphen": "-", "open quote": " “", "close quote": "”",
    "open bracket": " (", "close bracket": ")", "open parenthesis": " (", "close parenthesis": ")",
    "ellipsis": "…", "new line": "\n", "new paragraph": "\n\n",
}
RU = {
    "запятая": ",", "точка с запятой": ";", "точка": ".", "вопросительный знак": "?",
    "восклицательный знак": "!", "двоеточие": ":", "тире": " —", "дефис": "-",
    "открыть кавычки": " «", "закрыть кавычки": "»", "открыть скобку": " (",
    "закрыть скобку": ")", "многоточие": "…", "новая строка": "\n", "новый абзац": "\n\n",
    "с новой строки": "\n", "с нового абзаца": "\n\n",
}
_SENTENCE_END = (".", "?", "!", "…", "\n")
_AUTO = r"[\s,.;:!?…]*"  # what Whisper itself may have put around a spoken symbol


def _pattern(words: dict[str, str]) -> re.Pattern:
    names = sorted(words, key=len, reverse=True)  # "точка с запятой" before "точка"
    alternatives = "|".join(r"\s+".join(map(re.escape, n.split())) for n in names)
    return re.compile(rf"{_AUTO}\b({alternatives})\b{_AUTO}", re.IGNORECASE)


_PATTERNS = {"en": _pattern(EN), "ru": _pattern(RU)}


def apply_spoken_punctuation(text: str, language: str = "en") -> str:
    """Replace spoken punctuation words in `text` by the symbols they name."""
    table = RU if language == "ru" else EN
    pattern = _PATTERNS["ru" if language == "ru" else "en"]

    def symbol(m: re.Match) -> str:
        sym = table[" ".join(m.group(1).lower().split())]
        opens = sym.strip() in ("“", "«", "(")
        return sym + ("" if sym.endswith("\n") or opens else " ")

    out = pattern.sub(symbol, text)
    out = re.sub(r"[ \t]+\n", "\n", out)
    out = re.sub(r"\n[ \t]+", "\n", out)
    out = re.sub(r"([“«(])\s+", r"\1", out)
    out = re.sub(r"[ \t]+([,.;:!?…)”»])", r"\1", out).strip(" ")
    return _capitalise_after_ends(out)


def _capitalise_after_ends(text: str) -> str:
    chars = list(text)
    upper_next = True
    for i, c in enumerate(chars):
        if c.isalpha():
            if upper_next:
                chars[i] = c.upper()
            upper_next = False
        elif c in _SENTENCE_END:
            upper_next = True
    return "".join(chars)
