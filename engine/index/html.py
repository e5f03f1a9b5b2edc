"""Paragraphs of an HTML or XHTML document, in one streaming pass.

No tree is built: the standard library's `html.parser` reports tags and text, and a
paragraph ends at every block-level tag, opened or closed. Time is linear in the input
and memory is the text itself, however deep the nesting or however many tags are left
unclosed (a tree builder took quadratic time on 1 MB of unclosed `<div><p>` lines).
Text inside script, style, head, nav, noscript and template is dropped.
"""

from __future__ import annotations

from html.parser import HTMLParser

BLOCK_TAGS = frozenset((
    "address", "article", "aside", "blockquote", "body", "br", "caption", "dd", "details", "div",
    "dl", "dt", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6",
    "header", "hr", "li", "main", "ol", "p", "pre", "section", "summary", "table", "td", "th",
    "tr", "ul",
))
SKIPPED_TAGS = frozenset(("script", "style", "head", "nav", "noscript", "template", "title"))
FEED_CHARS = 1 << 20


class _Paragraphs(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[str] = []
        self.current: list[str] = []
        self.skip: dict[str, int] = {}
        self.skipping = 0
        self.saw_block = False

    def _flush(self) -> None:
        if self.current:
            self.blocks.append("".join(self.current))
            self.current = []

    def handle_starttag(self, tag, attrs) -> None:
        if tag == "body" and self.skip.get("head"):  # an unclosed <head> ends at <body>
            self.skipping -= self.skip.pop("head")
        if tag in SKIPPED_TAGS:
            self.skip[tag] = self.skip.get(tag, 0) + 1
            self.skipping += 1
        elif tag in BLOCK_TAGS:
            self.saw_block = True
            self._flush()

    def handle_startendtag(self, tag, attrs) -> None:
        if tag in BLOCK_TAGS:
            self.saw_block = True
            self._flush()

    def handle_endtag(self, tag) -> None:
        if self.skip.get(tag):
            self.skip[tag] -= 1
            self.skipping -= 1
        elif tag in BLOCK_TAGS:
            self._flush()

    def handle_data(self, data) -> None:
        if not self.skipping:
            self.current.append(data)


def html_paragraphs(markup: str | bytes, check=None) -> list[str]:
    """Text between block-level tags, in order; `check()` is called between fed chunks.

    A document with no block tags at all is split at blank lines instead.
    """
    if isinstance(markup, bytes):
        from engine.index.readers import decode_text

        markup = decode_text(markup)
    parser = _Paragraphs()
    for start in range(0, len(markup), FEED_CHARS):
        parser.feed(markup[start : start + FEED_CHARS])
        if check is not None:
            check()
    parser.close()
    parser._flush()
    if parser.saw_block:
        return parser.blocks
    from engine.index.readers import split_paragraphs

    return split_paragraphs("\n".join(parser.blocks))
