"""Turn one document file into paragraphs of plain text.

One maintained library per format: charset-normalizer (.txt .md), striprtf
(.rtf), python-docx (.docx), odfpy (.odt), pypdf (.pdf), ebooklib +
beautifulsoup4 (.epub), beautifulsoup4 (.html). Anything that cannot be read
raises `ReadError` with one line that says why; the indexer records it and
moves on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

FORMATS = {
    ".txt": "text",
    ".md": "markdown",
    ".markdown": "markdown",
    ".rtf": "rtf",
    ".docx": "docx",
    ".odt": "odt",
    ".pdf": "pdf",
    ".epub": "epub",
    ".html": "html",
    ".htm": "html",
}

MAX_TEXT_FILE_BYTES = 20 * 1024 * 1024  # plain text, markdown, rtf, html
MAX_CONTAINER_BYTES = 200 * 1024 * 1024  # docx, odt, pdf, epub (compressed)
MAX_TEXT_CHARS = 20 * 1024 * 1024  # extracted text, any format
MAX_LINE_CHARS = 200_000  # a "line" longer than this is data, not prose

_BLOCK_TAGS = ("p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "blockquote", "pre", "dd", "dt")


class ReadError(Exception):
    """The file cannot be indexed; str(e) says why in one line."""


@dataclass(frozen=True)
class Document:
    format: str
    paragraphs: list[str]


def format_of(path: str | Path) -> str | None:
    """The format name for a supported file suffix, or None."""
    return FORMATS.get(Path(path).suffix.lower())


def read_document(path: str | Path) -> Document:
    """Read `path` into paragraphs (whitespace folded, empty ones dropped)."""
    path = Path(path)
    fmt = format_of(path)
    if fmt is None:
        raise ReadError(f"unsupported file type {path.suffix or '(none)'}")
    size = path.stat().st_size
    if size == 0:
        raise ReadError("empty file")
    cap = MAX_CONTAINER_BYTES if fmt in ("docx", "odt", "pdf", "epub") else MAX_TEXT_FILE_BYTES
    if size > cap:
        raise ReadError(f"file too large: {size / 2**20:.1f} MiB (limit {cap // 2**20} MiB)")
    reader = _READERS[fmt]
    try:
        blocks = reader(path)
    except ReadError:
        raise
    except Exception as e:  # noqa: BLE001 - every library raises its own kinds
        raise ReadError(f"cannot read {fmt}: {type(e).__name__}: {_one_line(e)}") from e
    total = sum(len(b) for b in blocks)
    if total > MAX_TEXT_CHARS:
        raise ReadError(f"too much text: {total:,} characters (limit {MAX_TEXT_CHARS:,})")
    paragraphs = [p for p in (_fold(b) for b in blocks) if p]
    if not paragraphs:
        raise ReadError("no text found")
    return Document(fmt, paragraphs)


def _one_line(e: Exception) -> str:
    return " ".join(str(e).split())[:200] or "no details"


def _fold(text: str) -> str:
    return " ".join(text.split())


def split_paragraphs(text: str) -> list[str]:
    """Blank lines separate paragraphs; hard-wrapped lines inside one are joined."""
    return [b for b in re.split(r"\n[ \t\f\v\r]*\n", text) if b.strip()]


def decode_text(data: bytes) -> str:
    """Decode bytes of unknown encoding, or raise ReadError for binary/undecodable data."""
    head = data[:8192]
    if b"\x00" in head and not (head.startswith((b"\xff\xfe", b"\xfe\xff"))):
        raise ReadError("binary file (NUL bytes), not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    matches = from_bytes(data)
    best = matches.best()
    if best is None:
        raise ReadError("undecodable text: no character encoding fits")
    # Near-ties between 8-bit code pages are common on short texts; Windows-1252 is by
    # far the commonest legacy encoding of Western prose, so it wins a near-tie.
    for match in matches:
        if (match.encoding == "cp1252" and match.chaos <= best.chaos + 0.05
                and match.coherence >= best.coherence - 0.05):
            best = match
            break
    text = str(best)
    if _garbage_ratio(text) > 0.05:
        raise ReadError(f"undecodable text: looks like binary data (best guess {best.encoding})")
    return text


def _garbage_ratio(text: str) -> float:
    sample = text[:20000]
    if not sample:
        return 0.0
    bad = sum(1 for ch in sample if (ord(ch) < 32 and ch not in "\t\n\r\f") or ch == "\ufffd")
    return bad / len(sample)


def _check_lines(text: str) -> str:
    longest = max((len(line) for line in text.splitlines()), default=0)
    if longest > MAX_LINE_CHARS:
        raise ReadError(f"a line of {longest:,} characters (limit {MAX_LINE_CHARS:,}): not prose")
    return text


def _read_text(path: Path) -> list[str]:
    return split_paragraphs(_check_lines(decode_text(path.read_bytes())))


def _read_markdown(path: Path) -> list[str]:
    text = _check_lines(decode_text(path.read_bytes()))
    text = re.sub(r"(?m)^\s{0,3}(#{1,6}|>|[-*+]|\d+\.)\s+", "", text)
    return split_paragraphs(text)


def _read_rtf(path: Path) -> list[str]:
    from striprtf.striprtf import rtf_to_text

    raw = decode_text(path.read_bytes())
    if not raw.lstrip().startswith("{\\rtf"):
        raise ReadError("not an RTF file (no {\\rtf header)")
    text = rtf_to_text(raw, errors="ignore")
    # striprtf ends each \par with one newline: every line is a paragraph.
    return [line for line in _check_lines(text).splitlines() if line.strip()]


def _read_docx(path: Path) -> list[str]:
    import docx

    document = docx.Document(str(path))
    blocks = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            blocks.extend(cell.text for cell in row.cells)
    return blocks


def _read_odt(path: Path) -> list[str]:
    from odf import teletype, text
    from odf.opendocument import load

    document = load(str(path))
    blocks = []
    for element in document.getElementsByType(text.H) + document.getElementsByType(text.P):
        blocks.append(teletype.extractText(element))
    return blocks


def _read_pdf(path: Path) -> list[str]:
    from pypdf import PdfReader

    reader = PdfReader(str(path))
    if reader.is_encrypted:
        try:
            ok = reader.decrypt("")
        except Exception as e:  # noqa: BLE001
            raise ReadError(f"encrypted PDF that cannot be opened: {_one_line(e)}") from e
        if not ok:
            raise ReadError("password-protected PDF")
    blocks: list[str] = []
    for page in reader.pages:
        blocks.extend(_pdf_page_paragraphs(page.extract_text() or ""))
    return blocks


def _pdf_page_paragraphs(text: str) -> list[str]:
    """PDF text has no paragraph marks: end one at a blank line or a short final line."""
    lines = [line.rstrip() for line in text.splitlines()]
    width = max((len(line) for line in lines), default=0)
    paragraphs, current = [], []
    for line in lines:
        if not line.strip():
            if current:
                paragraphs.append(" ".join(current))
                current = []
            continue
        current.append(line.strip())
        if line.endswith((".", "!", "?", '"', "\u201d")) and len(line) < 0.8 * width:
            paragraphs.append(" ".join(current))
            current = []
    if current:
        paragraphs.append(" ".join(current))
    return paragraphs


def html_paragraphs(markup: str | bytes) -> list[str]:
    """Text of the innermost block elements of an HTML document, in order."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(markup, "html.parser")
    for tag in soup(["script", "style", "head", "nav", "noscript"]):
        tag.decompose()
    blocks = [
        el.get_text(" ")
        for el in soup.find_all(_BLOCK_TAGS)
        if el.find(_BLOCK_TAGS) is None
    ]
    if not blocks:
        blocks = split_paragraphs(soup.get_text("\n"))
    return blocks


def _read_html(path: Path) -> list[str]:
    return html_paragraphs(_check_lines(decode_text(path.read_bytes())))


def _read_epub(path: Path) -> list[str]:
    import ebooklib
    from ebooklib import epub

    book = epub.read_epub(str(path), options={"ignore_ncx": True})
    blocks: list[str] = []
    for item in book.get_items_of_type(ebooklib.ITEM_DOCUMENT):
        blocks.extend(html_paragraphs(item.get_content()))
    return blocks


_READERS = {
    "text": _read_text,
    "markdown": _read_markdown,
    "rtf": _read_rtf,
    "docx": _read_docx,
    "odt": _read_odt,
    "pdf": _read_pdf,
    "epub": _read_epub,
    "html": _read_html,
}
