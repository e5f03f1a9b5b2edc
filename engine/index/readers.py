"""Turn one document file into paragraphs of plain text.

One maintained library per format: charset-normalizer (.txt .md), striprtf
(.rtf), python-docx (.docx), odfpy (.odt), pypdf (.pdf), ebooklib (.epub), and
the standard library's streaming html.parser for HTML and EPUB chapters
(engine.index.html). Every reader works on the file's bytes, read once, and stays
within engine.index.limits: containers are checked (member count, inflated sizes,
XML depth) before a library opens them, and the time budget is checked between
pages, chunks and members. Anything that cannot be read raises `ReadError` with one
line that says why; the indexer records it and moves on.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path

from engine.index.html import html_paragraphs
from engine.index.limits import (
    MAX_LINE_CHARS,
    MAX_PARAGRAPH_CHARS,
    MAX_PARAGRAPHS,
    MAX_PDF_PAGES,
    MAX_TEXT_CHARS,
    PDF_STREAM_BYTES,
    PDF_STREAM_OPERATIONS,
    PIECE_CHARS,
    Budget,
    Cancelled,
    ReadError,
    check_size,
    check_xml_depth,
    open_zip,
    read_regular,
)

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

__all__ = [
    "FORMATS",
    "Document",
    "ReadError",
    "format_of",
    "html_paragraphs",
    "read_bytes",
    "read_document",
]


@dataclass(frozen=True)
class Document:
    format: str
    paragraphs: list[str]


def format_of(path: str | Path) -> str | None:
    """The format name for a supported file suffix, or None."""
    return FORMATS.get(Path(path).suffix.lower())


def read_document(path: str | Path, budget: Budget | None = None) -> Document:
    """Read `path` into paragraphs (whitespace folded, empty ones dropped).

    The file must be a regular file within its format's size limit; it is opened
    once, without following symlinks or blocking.
    """
    fmt = format_of(path)
    if fmt is None:
        raise ReadError(f"unsupported file type {Path(path).suffix or '(none)'}")
    return read_bytes(read_regular(path, fmt, budget), fmt, budget)


def read_bytes(data: bytes, fmt: str, budget: Budget | None = None) -> Document:
    """Paragraphs of a document of format `fmt` held in memory."""
    budget = budget or Budget()
    check_size(len(data), fmt)
    try:
        blocks = _READERS[fmt](data, budget)
    except (ReadError, Cancelled):
        raise
    except RecursionError:
        raise ReadError(f"cannot read {fmt}: nested too deeply") from None
    except MemoryError:
        raise ReadError(f"cannot read {fmt}: out of memory", "too large") from None
    except Exception as e:
        raise ReadError(f"cannot read {fmt}: {type(e).__name__}: {_one_line(e)}") from e
    total = sum(len(b) for b in blocks)
    if total > MAX_TEXT_CHARS:
        raise ReadError(f"too much text: {total:,} characters (limit {MAX_TEXT_CHARS:,})",
                        "too large")
    paragraphs = [p for b in blocks for p in _bounded(_fold(b)) if p]
    if not paragraphs:
        raise ReadError("no text found")
    if len(paragraphs) > MAX_PARAGRAPHS:
        raise ReadError(f"too many paragraphs: {len(paragraphs):,} (limit {MAX_PARAGRAPHS:,}), "
                        "more like data than prose", "too large")
    budget.check()
    return Document(fmt, paragraphs)


def _one_line(e: Exception) -> str:
    return " ".join(str(e).split())[:200] or "no details"


def _fold(text: str) -> str:
    return " ".join(text.split())


def _bounded(paragraph: str) -> list[str]:
    """A paragraph longer than MAX_PARAGRAPH_CHARS (a text with no blank lines, a page of
    unterminated markup) is cut at spaces into pieces of about PIECE_CHARS."""
    if len(paragraph) <= MAX_PARAGRAPH_CHARS:
        return [paragraph]
    pieces, start = [], 0
    while start < len(paragraph):
        end = min(len(paragraph), start + PIECE_CHARS)
        if end < len(paragraph):
            cut = paragraph.rfind(" ", start + PIECE_CHARS // 2, end)
            end = cut if cut > start else end
        pieces.append(paragraph[start:end].strip())
        start = end
    return pieces


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


def _read_text(data: bytes, budget: Budget) -> list[str]:
    return split_paragraphs(_check_lines(decode_text(data)))


def _read_markdown(data: bytes, budget: Budget) -> list[str]:
    text = _check_lines(decode_text(data))
    text = re.sub(r"(?m)^[ \t]{0,3}(#{1,6}|>|[-*+]|\d+\.)[ \t]+", "", text)
    return split_paragraphs(text)


def _read_rtf(data: bytes, budget: Budget) -> list[str]:
    from striprtf.striprtf import rtf_to_text

    raw = decode_text(data)
    if not raw.lstrip().startswith("{\\rtf"):
        raise ReadError("not an RTF file (no {\\rtf header)")
    _check_brace_depth(raw)
    budget.check()
    text = rtf_to_text(raw, errors="ignore")
    # striprtf ends each \par with one newline: every line is a paragraph.
    return [line for line in _check_lines(text).splitlines() if line.strip()]


def _check_brace_depth(raw: str, limit: int = 1000) -> None:
    """RTF groups nested deeper than `limit` are not a document (striprtf keeps a stack)."""
    depth = 0
    for m in re.finditer(r"\\[{}\\]|[{}]", raw):
        token = m.group()
        if token == "{":
            depth += 1
            if depth > limit:
                raise ReadError(f"RTF groups nested too deeply (over {limit} levels)")
        elif token == "}":
            depth -= 1


def _read_docx(data: bytes, budget: Budget) -> list[str]:
    import docx

    with open_zip(data, "docx", budget) as z:
        if "word/document.xml" not in z.namelist():
            raise ReadError("not a Word document (no word/document.xml)")
        check_xml_depth(z.read("word/document.xml"), "word/document.xml")
    budget.check()
    document = docx.Document(io.BytesIO(data))
    budget.check()
    blocks = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            blocks.extend(cell.text for cell in row.cells)
        budget.check()
    return blocks


def _read_odt(data: bytes, budget: Budget) -> list[str]:
    from odf import teletype, text
    from odf.opendocument import load

    with open_zip(data, "odt", budget) as z:
        if "content.xml" not in z.namelist():
            raise ReadError("not an OpenDocument text (no content.xml)")
        for name in ("content.xml", "styles.xml", "meta.xml"):
            if name in z.namelist():
                check_xml_depth(z.read(name), name)
    budget.check()
    document = load(io.BytesIO(data))
    budget.check()
    blocks = []
    for element in document.getElementsByType(text.H) + document.getElementsByType(text.P):
        blocks.append(teletype.extractText(element))
    return blocks


def _read_pdf(data: bytes, budget: Budget) -> list[str]:
    import logging

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # its warnings are not ours to print
    try:  # pypdf >= 6.x: tighter per-stream limits than its defaults (a page is rarely 50k ops)
        from pypdf import apply_configuration
    except ImportError:
        return _pdf_blocks(data, budget)
    with apply_configuration(stream_parsing_work_maximum_count=PDF_STREAM_OPERATIONS,
                             zlib_maximum_output_length=PDF_STREAM_BYTES):
        return _pdf_blocks(data, budget)


def _pdf_blocks(data: bytes, budget: Budget) -> list[str]:
    from pypdf import PdfReader


    reader = PdfReader(io.BytesIO(data))
    if reader.is_encrypted:
        try:
            ok = reader.decrypt("")
        except Exception as e:
            raise ReadError(f"encrypted PDF that cannot be opened: {_one_line(e)}") from e
        if not ok:
            raise ReadError("password-protected PDF")
    try:  # the page count the file declares, before pypdf flattens its page tree
        declared = int(reader.trailer["/Root"]["/Pages"].get("/Count", 0))
    except (KeyError, TypeError, ValueError, AttributeError):
        declared = 0
    pages = declared if declared > MAX_PDF_PAGES else len(reader.pages)
    if pages > MAX_PDF_PAGES:
        raise ReadError(f"too many pages: {pages:,} (limit {MAX_PDF_PAGES:,})", "too large")
    blocks: list[str] = []
    for page in reader.pages:
        budget.check()
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


def _read_html(data: bytes, budget: Budget) -> list[str]:
    return html_paragraphs(_check_lines(decode_text(data)), budget.check)


def _read_epub(data: bytes, budget: Budget) -> list[str]:
    import ebooklib
    from ebooklib import epub

    with open_zip(data, "epub", budget) as z:
        if "META-INF/container.xml" not in z.namelist():
            raise ReadError("not an EPUB (no META-INF/container.xml)")
        for info in z.infolist():
            if info.filename.lower().endswith((".opf", ".ncx", ".xml")):
                check_xml_depth(z.read(info), info.filename)
    budget.check()
    book = epub.read_epub(io.BytesIO(data), options={"ignore_ncx": True})
    blocks: list[str] = []
    for item in book.get_items_of_type(ebooklib.ITEM_DOCUMENT):
        budget.check()
        blocks.extend(html_paragraphs(decode_text(item.get_content()), budget.check))
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
