"""The command grammar as data: slots (phrase -> args) and templates, English and Russian.

A template such as "{del} {which} {unit}" expands to every combination of its
slots' phrases ("delete the last word", "erase the previous paragraph", ...);
each phrase's args merge into the command's args. NUMBER and ORDINAL stand for
any spoken or written number; commands.py reads the value from the utterance.
Ungrammatical combinations (Russian gender agreement) are harmless: they only
widen what is recognised.
"""

from __future__ import annotations

NUMBER, ORDINAL = "nnn", "ooo"

SEL = {"unit": "selection", "which": "this"}
DOC = {"unit": "document", "which": "this"}


def _same(args: dict, *phrases: str) -> dict[str, dict]:
    return {p: dict(args) for p in phrases}


def _merge(*dicts: dict[str, dict]) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for d in dicts:
        out.update(d)
    return out


# ---------------------------------------------------------------------------- English
EN_SLOTS: dict[str, dict[str, dict]] = {
    "del": _same({}, "delete", "remove", "erase", "scratch", "cut", "get rid of", "clear", "kill"),
    "sel": _same({}, "select", "highlight", "mark"),
    "undo": _same({}, "undo"),
    "redo": _same({}, "redo"),
    "rephrase": _same({}, "rephrase", "reword", "rewrite", "paraphrase", "reformulate"),
    "cap": _same({}, "capitalize", "capitalise"),
    "which": _merge(
        _same({"which": "last"}, "the last", "last", "the final"),
        _same({"which": "previous"}, "the previous", "previous", "the preceding", "the prior"),
        _same({"which": "next"}, "the next", "next", "the following"),
        _same({"which": "this"}, "this", "that", "the", "the current", "current"),
    ),
    "many": _merge(
        _same({"which": "last"}, "the last", "last"),
        _same({"which": "previous"}, "the previous", "previous"),
        _same({"which": "next"}, "the next", "next"),
    ),
    "unit": {"word": {"unit": "word"}, "sentence": {"unit": "sentence"},
             "paragraph": {"unit": "paragraph"}},
    "units": {"words": {"unit": "word"}, "sentences": {"unit": "sentence"},
              "paragraphs": {"unit": "paragraph"}},
    "num": {NUMBER: {"count": NUMBER}},
    "ord": _same({"which": "nth", "index": ORDINAL}, f"the {ORDINAL}", ORDINAL),
    "that": _same(SEL, "that", "this", "it", "the selection", "the selected text", "selection"),
    "it": _same({}, "that", "it", "this"),
    "all": _same(DOC, "all", "everything", "all the text", "the whole text", "the whole document"),
    "style": _merge(
        _same({"style": "formal"}, "more formal", "formal", "less casual", "more professional"),
        _same({"style": "casual"}, "more casual", "casual", "less formal", "more informal",
              "informal", "more relaxed", "more conversational"),
        _same({"style": "shorter"}, "shorter", "more concise", "concise", "briefer"),
        _same({"style": "longer"}, "longer", "more detailed", "more elaborate"),
    ),
    "style_alone": _merge(
        _same({"style": "formal"}, "more formal", "less casual", "more professional"),
        _same({"style": "casual"}, "more casual", "less formal", "more informal"),
        _same({"style": "shorter"}, "more concise"),
        _same({"style": "longer"}, "more detailed"),
    ),
    "restyle": _merge(
        _same({"style": "shorter"}, "shorten", "condense", "trim", "tighten"),
        _same({"style": "longer"}, "lengthen", "expand", "elaborate on", "flesh out"),
        _same({"style": "formal"}, "formalize"),
    ),
    "make": _same({}, "make", "turn"),
}

EN_TEMPLATES: dict[str, list[str]] = {
    "new_line": ["new line", "newline", "next line", "line break", "start a new line",
                 "insert a line break"],
    "new_paragraph": ["new paragraph", "start a new paragraph", "paragraph break",
                      "insert a paragraph break", "new para"],
    "delete": ["{del} {which} {unit}", "{del} {many} {num} {units}", "{del} {that}",
               "{del} {ord} {unit}", "{del} {all}"],
    "select": ["{sel} {which} {unit}", "{sel} {many} {num} {units}", "{sel} {ord} {unit}",
               "{sel} {all}"],
    "undo": ["{undo}", "{undo} {it}", "{undo} {num}", "{undo} {num} times",
             "{undo} the last change", "take that back"],
    "redo": ["{redo}", "{redo} {it}", "{redo} {num}", "{redo} {num} times",
             "{redo} the last change"],
    "rephrase": ["{rephrase}", "{rephrase} {that}", "{rephrase} {which} {unit}",
                 "say {that} differently", "say {that} another way", "put {that} differently"],
    "continue": ["continue", "continue writing", "keep writing", "keep going", "go on",
                 "carry on", "write more", "continue the text", "continue the story",
                 "keep going with the text"],
    "restyle": ["make {that} {style}", "make {which} {unit} {style}", "{style_alone}",
                "{restyle} {that}", "{restyle} {which} {unit}", "{restyle}"],
    "capitalize": ["{cap} {that}", "{cap} {which} {unit}", "{cap} {ord} {unit}", "{cap}"],
    # not "mic off": two short syllables, heard as "my cough"
    "stop_listening": ["stop listening", "stop dictation", "stop dictating", "stop recording",
                       "end dictation", "turn off the microphone", "microphone off",
                       "stop voice input"],
}

EN_NUMBERS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "twenty": 20, "once": 1, "twice": 2,
    "thrice": 3,
}
EN_ORDINALS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
    "eighth": 8, "ninth": 9, "tenth": 10,
}
# Dropped from the start of an utterance (LEAD) or its end (TAIL).
EN_LEAD = (
    "please", "okay", "ok", "now", "um", "uh", "hey", "so", "and", "could you", "can you",
    "would you", "go ahead and", "lets", "just", "oh", "well", "alright", "all right", "then",
)
EN_TAIL = ("please", "now", "thanks", "thank you", "okay", "for me")

# ---------------------------------------------------------------------------- Russian
RU_SLOTS: dict[str, dict[str, dict]] = {
    "del": _same({}, "удали", "удалить", "удалите", "сотри", "стереть", "сотрите", "убери",
                 "убрать", "вычеркни"),
    "sel": _same({}, "выдели", "выделить", "выделите", "отметь"),
    "undo": _same({}, "отмени", "отменить", "отмените", "отмена"),
    "redo": _same({}, "повтори", "повторить", "повторите", "верни отмененное"),
    "rephrase": _same({}, "перефразируй", "перефразируйте", "переформулируй", "перепиши",
                      "перескажи"),
    "which": _merge(
        _same({"which": "last"}, "последнее", "последний", "последнюю", "последняя"),
        _same({"which": "previous"}, "предыдущее", "предыдущий", "предыдущую", "прошлое",
              "прошлый", "прошлую"),
        _same({"which": "next"}, "следующее", "следующий", "следующую"),
        _same({"which": "this"}, "это", "этот", "эту", "текущее", "текущий", "текущую"),
    ),
    "many": _merge(
        _same({"which": "last"}, "последние"),
        _same({"which": "previous"}, "предыдущие"),
        _same({"which": "next"}, "следующие"),
    ),
    "unit": _merge(
        _same({"unit": "word"}, "слово"),
        _same({"unit": "sentence"}, "предложение", "фразу"),
        _same({"unit": "paragraph"}, "абзац", "параграф"),
    ),
    "units": _merge(
        _same({"unit": "word"}, "слова", "слов"),
        _same({"unit": "sentence"}, "предложения", "предложений"),
        _same({"unit": "paragraph"}, "абзаца", "абзацев", "абзацы"),
    ),
    "num": {NUMBER: {"count": NUMBER}},
    "ord": _same({"which": "nth", "index": ORDINAL}, ORDINAL),
    "that": _same(SEL, "это", "то", "выделенное", "выделение", "его"),
    "it": _same({}, "это", "то"),
    "all": _same(DOC, "все", "весь текст"),
    "style": _merge(
        _same({"style": "formal"}, "формальнее", "более формальным", "официальнее",
              "более официальным", "строже"),
        _same({"style": "casual"}, "проще", "неформальнее", "менее формальным",
              "более разговорным", "разговорнее", "непринужденнее"),
        _same({"style": "shorter"}, "короче", "покороче", "лаконичнее"),
        _same({"style": "longer"}, "длиннее", "подлиннее", "подробнее"),
    ),
    "restyle": _merge(
        _same({"style": "shorter"}, "сократи", "укороти"),
        _same({"style": "longer"}, "расширь", "удлини"),
    ),
    "capital": _same({}, "заглавной", "большой", "прописной"),
    "times": _same({}, "раз", "раза"),
}

RU_TEMPLATES: dict[str, list[str]] = {
    "new_line": ["новая строка", "с новой строки", "перенос строки", "следующая строка"],
    "new_paragraph": ["новый абзац", "с нового абзаца", "новый параграф", "красная строка"],
    "delete": ["{del} {which} {unit}", "{del} {many} {num} {units}", "{del} {that}",
               "{del} {ord} {unit}", "{del} {all}"],
    "select": ["{sel} {which} {unit}", "{sel} {many} {num} {units}", "{sel} {ord} {unit}",
               "{sel} {all}"],
    "undo": ["{undo}", "{undo} {it}", "{undo} {num} {times}", "{undo} последнее действие",
             "верни как было"],
    "redo": ["{redo}", "{redo} {it}", "{redo} {num} {times}", "{redo} действие"],
    "rephrase": ["{rephrase}", "{rephrase} {that}", "{rephrase} {which} {unit}",
                 "скажи {that} по другому", "скажи иначе"],
    "continue": ["продолжи", "продолжай", "продолжай писать", "продолжи текст", "пиши дальше",
                 "допиши", "продолжи писать"],
    "restyle": ["сделай {that} {style}", "сделай {which} {unit} {style}", "сделай {style}",
                "{restyle} {that}", "{restyle} {which} {unit}", "{restyle}"],
    "capitalize": ["с {capital} буквы", "{that} с {capital} буквы",
                   "сделай {that} с {capital} буквы", "сделай с {capital} буквы",
                   "напиши {that} с {capital} буквы"],
    "stop_listening": ["хватит слушать", "перестань слушать", "стоп", "остановись",
                       "выключи микрофон", "прекрати запись", "закончи диктовку",
                       "конец диктовки", "останови диктовку"],
}

RU_NUMBERS = {
    "один": 1, "одно": 1, "одна": 1, "два": 2, "две": 2, "три": 3, "четыре": 4, "пять": 5,
    "шесть": 6, "семь": 7, "восемь": 8, "девять": 9, "десять": 10, "дважды": 2, "трижды": 3,
}
RU_ORDINALS = {
    f"{stem}{end}": n
    for n, stem in enumerate(("перв", "втор", "трет", "четверт", "пят", "шест", "седьм"), start=1)
    for end in ("ое", "ый", "ой", "ую", "ая", "ье", "ий", "ью", "ья")
}
RU_LEAD = ("пожалуйста", "ну", "давай", "так", "а", "и", "теперь", "ладно", "хорошо", "окей",
           "эм", "слушай")
RU_TAIL = ("пожалуйста", "спасибо")
