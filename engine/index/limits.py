"""What the indexer will read, and how it refuses the rest: sizes, time, containers, nesting.

Every limit here is checked before the work it protects: a file's size before it is
opened or hashed, a zip's declared member sizes before any member is inflated, an XML
member's depth before a DOM is built, and the time spent on one file at each safe
point of its reader (`Budget.check`). A refusal is a `ReadError` whose `kind` says
which state the index records: "unreadable", "too large", "too slow" or
"not a regular file".
"""

from __future__ import annotations

import io
import os
import stat
import time
import zipfile

from engine import progress

KB, MiB = 1024, 1024 * 1024

MAX_TEXT_FILE_BYTES = 20 * MiB  # plain text, markdown, rtf, html
MAX_CONTAINER_BYTES = 200 * MiB  # docx, odt, pdf, epub (on disk)
MAX_TEXT_CHARS = 20 * MiB  # extracted text, any format
MAX_LINE_CHARS = 200_000  # a "line" longer than this is data, not prose
MAX_PARAGRAPH_CHARS = 100_000  # a longer "paragraph" (no blank lines) is cut into pieces
PIECE_CHARS = 2_000
MAX_PARAGRAPHS = 50_000  # per document; more is a data dump, and costs ~1 ms each to index
MAX_PDF_PAGES = 10_000
PDF_STREAM_OPERATIONS = 300_000  # operators and operands in one content stream (pypdf's limit)
PDF_STREAM_BYTES = 32 * MiB  # one inflated stream (pypdf's limit)
MAX_ZIP_MEMBERS = 10_000
MAX_ZIP_TOTAL = 400 * MiB  # all members of a container, inflated
MAX_MARKUP_MEMBER = 32 * MiB  # one XML/XHTML member, inflated
MAX_ZIP_RATIO = 200  # inflated/compressed, for members over 8 MiB: real documents stay far below
MAX_XML_DEPTH = 512
READ_SECONDS = 120.0  # wall time for one file: read, parse and paragraph features

CONTAINERS = ("docx", "odt", "pdf", "epub")
_MARKUP_SUFFIXES = (".xml", ".xhtml", ".html", ".htm", ".opf", ".ncx", ".rels")


class ReadError(Exception):
    """The file cannot be indexed; str(e) says why in one line, `kind` which state to record."""

    def __init__(self, message: str, kind: str = "unreadable"):
        super().__init__(message)
        self.kind = kind


# Raised when the sync is cancelled in the middle of a file (nothing about it is recorded).
Cancelled = progress.Cancelled


def size_limit(fmt: str) -> int:
    return MAX_CONTAINER_BYTES if fmt in CONTAINERS else MAX_TEXT_FILE_BYTES


def describe_size(n: int) -> str:
    return f"{n / 2**30:.1f} GiB" if n >= 2**30 else f"{n / MiB:.1f} MiB"


def check_size(size: int, fmt: str) -> None:
    """Refuse by the size on disk (from stat), before anything is opened."""
    if size == 0:
        raise ReadError("empty file")
    cap = size_limit(fmt)
    if size > cap:
        raise ReadError(f"file too large: {describe_size(size)} (limit {cap // MiB} MiB)",
                        "too large")


_KINDS = {stat.S_IFIFO: "named pipe", stat.S_IFSOCK: "socket", stat.S_IFCHR: "character device",
          stat.S_IFBLK: "block device", stat.S_IFDIR: "folder", stat.S_IFLNK: "symbolic link"}


def check_regular(st: os.stat_result) -> None:
    if not stat.S_ISREG(st.st_mode):
        kind = _KINDS.get(stat.S_IFMT(st.st_mode), "special file")
        raise ReadError(f"not a regular file ({kind}): never opened", "not a regular file")


def read_regular(path: str | os.PathLike, fmt: str, budget: Budget | None = None) -> bytes:
    """The bytes of a regular file of at most the format's size limit.

    Opened without following a symlink and without blocking (a FIFO swapped in after
    the walk cannot hang the open), then checked again on the open descriptor.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)
    except OSError as e:
        raise ReadError(f"cannot open: {e.strerror}") from None
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(fd)
        check_regular(st)
        check_size(st.st_size, fmt)
        cap = size_limit(fmt)
        chunks, total = [], 0
        while True:
            block = f.read(4 * MiB)
            if not block:
                break
            total += len(block)
            if total > cap:
                raise ReadError(f"file too large: it grew past {cap // MiB} MiB while read",
                                "too large")
            chunks.append(block)
            if budget is not None:
                budget.check()
    return b"".join(chunks)


class Budget:
    """Time left for one file, and the sync's cancel flag; `check()` at every safe point."""

    def __init__(self, seconds: float = READ_SECONDS, cancel: progress.CancelToken | None = None):
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds
        self.cancel = cancel

    def check(self) -> None:
        if self.cancel is not None:
            self.cancel.raise_if_cancelled()
        if time.monotonic() > self.deadline:
            raise ReadError(f"reading took longer than {self.seconds:.0f} s: skipped", "too slow")


def open_zip(data: bytes, fmt: str, budget: Budget | None = None) -> zipfile.ZipFile:
    """A zip whose declared member sizes are within the limits (zipfile never inflates a
    member past its declared size: it stops there and fails the CRC check)."""
    try:
        z = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise ReadError(f"cannot read {fmt}: not a valid zip container ({e})") from None
    infos = z.infolist()
    if len(infos) > MAX_ZIP_MEMBERS:
        raise ReadError(f"{len(infos):,} zip members (limit {MAX_ZIP_MEMBERS:,})", "too large")
    total = 0
    for info in infos:
        total += info.file_size
        if info.file_size > 8 * MiB and info.file_size > MAX_ZIP_RATIO * max(info.compress_size, 1):
            raise ReadError(
                f"member {info.filename[:80]} expands to {describe_size(info.file_size)} from "
                f"{describe_size(info.compress_size)}: a zip bomb", "too large")
        if info.filename.lower().endswith(_MARKUP_SUFFIXES) and info.file_size > MAX_MARKUP_MEMBER:
            raise ReadError(f"member {info.filename[:80]} expands to "
                            f"{describe_size(info.file_size)} "
                            f"(limit {MAX_MARKUP_MEMBER // MiB} MiB)", "too large")
    if total > MAX_ZIP_TOTAL:
        raise ReadError(f"its members expand to {describe_size(total)} "
                        f"(limit {MAX_ZIP_TOTAL // MiB} MiB)", "too large")
    if budget is not None:
        budget.check()
    return z


def check_xml_depth(data: bytes, name: str, limit: int = MAX_XML_DEPTH) -> None:
    """Refuse XML nested deeper than `limit` or declaring entities, in one streaming pass."""
    from xml.parsers import expat

    parser = expat.ParserCreate()
    depth = 0

    def start(_name, _attrs):
        nonlocal depth
        depth += 1
        if depth > limit:
            raise ReadError(f"{name} is nested too deeply (over {limit} levels)")

    def end(_name):
        nonlocal depth
        depth -= 1

    def entity(*_args):
        raise ReadError(f"{name} declares XML entities (refused)")

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.EntityDeclHandler = entity
    try:
        parser.Parse(data, True)
    except expat.ExpatError as e:
        raise ReadError(f"{name} is not well-formed XML: {e}") from None
