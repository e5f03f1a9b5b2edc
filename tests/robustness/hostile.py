"""Build a hostile folder: about 75 malformed, oversized, hanging or oddly named documents
beside a few good ones, the way issue 17's hostile user did.

    build_hostile_folder(folder) -> Expected(good=names, bad={name: reason fragment})

Names are display names (engine.index.ingest.display_path of the file name), so a
name that is not UTF-8 appears with its bytes backslash-escaped.

Run as a script to time two syncs of the folder, each in a fresh process, with the
peak RSS of each:

    python -m engine.runtime_exec -m tests.robustness.hostile /tmp/hostile [--bomb-mb 1260]
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import subprocess
import sys
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from tests.index.builders import (make_docx, make_epub, make_html, make_odt, make_pdf, make_rtf,
                                  make_txt, sample_paragraphs)

REPO = Path(__file__).resolve().parents[2]
GiB = 1 << 30
MiB = 1 << 20


@dataclass
class Expected:
    good: set[str] = field(default_factory=set)
    bad: dict[str, str] = field(default_factory=dict)  # name -> fragment of the recorded reason
    sockets: list[socket.socket] = field(default_factory=list)  # keep bound sockets alive

    def close(self) -> None:
        for s in self.sockets:
            s.close()


def _zip_member_of_zeros(z: zipfile.ZipFile, name: str, size: int, head: bytes = b"",
                         fill: bytes = b" ") -> None:
    """A deflated member of `size` bytes, streamed (never held in memory)."""
    info = zipfile.ZipInfo(name)
    info.compress_type = zipfile.ZIP_DEFLATED
    with z.open(info, "w", force_zip64=size > 2 * GiB) as out:
        out.write(head)
        block = fill * MiB
        left = size - len(head)
        while left > 0:
            out.write(block[: min(left, len(block))])
            left -= len(block)


def _zip_from(src: Path, dst: Path, replace: dict[str, bytes | None] | None = None,
              extra: dict[str, bytes] | None = None) -> Path:
    """Copy a real zip document, replacing or dropping some members and adding others."""
    replace = replace or {}
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            if info.filename in replace:
                if replace[info.filename] is not None:
                    zout.writestr(info.filename, replace[info.filename])
                continue
            zout.writestr(info, zin.read(info.filename))
        for name, data in (extra or {}).items():
            zout.writestr(name, data)
    return dst


def _bomb_from(src: Path, dst: Path, member: str, size: int, head: bytes) -> Path:
    """A real document whose `member` is replaced by `size` bytes (deflated to ~size/1000)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED,
                                                      compresslevel=9) as zout:
        for info in zin.infolist():
            if info.filename == member:
                continue
            zout.writestr(info, zin.read(info.filename))
        _zip_member_of_zeros(zout, member, size, head)
    return dst


def _raw_pdf(objects: list[bytes], root: int = 1) -> bytes:
    """A PDF file from numbered object bodies (1-based), with a correct xref table."""
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for i, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, root, xref)
    return bytes(out)


def _pdf_flate_bomb(size: int) -> bytes:
    """One page whose content stream inflates to `size` bytes of text operators."""
    comp = zlib.compressobj(9)
    chunk = b"BT /F1 12 Tf 72 720 Td (bomb) Tj ET\n" * 30000
    parts, left = [], size
    while left > 0:
        parts.append(comp.compress(chunk[: min(left, len(chunk))]))
        left -= len(chunk)
    parts.append(comp.flush())
    stream = b"".join(parts)
    return _raw_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream
        + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ])


def _pdf_page_loop() -> bytes:
    """A page tree whose Kids point back at itself."""
    return _raw_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 >>",
        b"<< /Type /Pages /Parent 2 0 R /Kids [3 0 R 2 0 R] /Count 1 >>",
    ])


def _pdf_many_pages(pages: int) -> bytes:
    """`pages` pages that share one tiny content stream."""
    kids = b" ".join(b"%d 0 R" % (5 + i) for i in range(pages))
    content = b"BT /F1 12 Tf 72 720 Td (page) Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % pages,
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    objects += [b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 3 0 R "
                b"/Resources << /Font << /F1 4 0 R >> >> >>"] * pages
    return _raw_pdf(objects)


def _sparse(path: Path, size: int, head: bytes = b"") -> None:
    with open(path, "wb") as f:
        f.write(head)
        f.truncate(size)


def build_hostile_folder(folder: Path, bomb_bytes: int = 1260 * MiB) -> Expected:
    """Write the hostile folder; `bomb_bytes` is what the zip bombs expand to."""
    from engine.index.ingest import display_path

    folder.mkdir(parents=True)
    src = folder.parent / f"{folder.name}-sources"
    src.mkdir()
    rng = random.Random(17)
    paras = sample_paragraphs("source")
    sources = {
        ".docx": make_docx(src / "s.docx", paras), ".odt": make_odt(src / "s.odt", paras),
        ".pdf": make_pdf(src / "s.pdf", paras), ".epub": make_epub(src / "s.epub", paras),
    }
    exp = Expected()
    bad = exp.bad

    def write(name: str, data: bytes, reason: str) -> None:
        (folder / name).write_bytes(data)
        bad[name] = reason

    # -- broken and empty files of every format ------------------------------------------
    for ext in (".txt", ".md", ".rtf", ".html", ".docx", ".odt", ".pdf", ".epub"):
        write(f"empty{ext}", b"", "empty file")
    for ext, path in sources.items():
        data = path.read_bytes()
        write(f"truncated{ext}", data[: len(data) // 2], "cannot read")
        write(f"random{ext}", rng.randbytes(3000), "cannot read")
    write("not_a_zip.docx", b"This is plain text pretending to be a Word document.", "cannot read")
    write("old_word.docx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + rng.randbytes(4000), "cannot read")
    for ext, reason in ((".epub", "not an EPUB"), (".docx", "not a Word document"),
                        (".odt", "not an OpenDocument")):
        with zipfile.ZipFile(folder / f"wrong_zip{ext}", "w") as z:
            z.writestr("hello.txt", "a zip, but not this kind of document")
        bad[f"wrong_zip{ext}"] = reason
    write("header_only.pdf", b"%PDF-1.4\n", "cannot read")
    write("binary.txt", rng.randbytes(5000), "binary")
    write("binary.md", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + rng.randbytes(500), "binary")
    write("binary.html", b"<html>\x00\x01\x02\x00" * 50, "binary")
    write("sqlite.txt", b"SQLite format 3\x00" + bytes(4080), "binary")
    write("gzip.txt", zlib.compress(b"text " * 1000), "text")
    write("invalid_utf8.txt", bytes(rng.randrange(0x80, 0x100) for _ in range(4000)),
          "undecodable text")
    write("whitespace_only.txt", b"   \n\n\t\n   \n", "no text found")
    write("script_only.html", b"<html><head><script>var a = 1;</script></head><body></body></html>",
          "no text found")
    write("not_rtf.rtf", b"Just text with an rtf suffix.", "not an RTF file")
    write("long_line.txt", b"word " * 60_000, "a line of 300,000 characters")
    make_pdf(folder / "password.pdf", paras, user_password="secret")
    bad["password.pdf"] = "password-protected PDF"

    # -- sizes: refused before any open or hash ---------------------------------------------
    _sparse(folder / "sparse_8g.pdf", 8 * GiB, b"%PDF-1.4\n")
    bad["sparse_8g.pdf"] = "too large"
    _sparse(folder / "sparse_100m.txt", 100 * MiB, b"hello\n")
    bad["sparse_100m.txt"] = "too large"
    _sparse(folder / "sparse_1g.docx", GiB, b"PK")
    bad["sparse_1g.docx"] = "too large"
    with open(folder / "huge_line.txt", "wb") as f:  # 50 MB on a single line
        for _ in range(50):
            f.write(b"x" * MiB)
    bad["huge_line.txt"] = "too large"

    # -- not regular files: never opened ---------------------------------------------------
    os.mkfifo(folder / "fifo.txt")
    bad["fifo.txt"] = "not a regular file"
    os.mkfifo(folder / "fifo.epub")
    bad["fifo.epub"] = "not a regular file"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock_path = folder / "socket.md"
    if len(os.fsencode(sock_path)) < 100:  # AF_UNIX path limit
        sock.bind(os.fsencode(sock_path))
        exp.sockets.append(sock)
        bad["socket.md"] = "not a regular file"
    else:
        sock.close()

    # -- markup: nesting, unclosed tags, quadratic traps ------------------------------------
    write("unclosed_divs.html", b"<html><body>\n" + b"<div>\n" * (MiB // 6), "no text found")
    write("unclosed_divs_text.html", b"<html><body>\n" + b"<div>a line of text\n" * 60_000,
          "too many paragraphs")
    deep = 200_000
    write("deep_nesting.html", b"<div>" * deep + b"<p>deep text at the bottom of the page</p>"
          + b"</div>" * deep, "a line of")
    write("unclosed_script.html", b"<html><body><script>" + b"var a;\n" * MiB, "no text found")
    write("entities.html", b"<p>" + b"&amp;&lt;&#x41;&bogus;" * 200_000 + b"</p>", "a line of")
    write("tag_soup.html", b"<p><b><i><u>" * 100_000, "a line of")
    write("tag_soup_lines.html", b"<p><b><i><u>\n" * 100_000, "no text found")
    write("newlines_only.txt", b"\n" * (10 * MiB), "no text found")
    write("deep_braces.rtf", b"{\\rtf1 " + b"{" * 300_000 + b"text" + b"}" * 300_000,
          "nested too deeply")
    write("rtf_bin.rtf", b"{\\rtf1 \\bin999999999 " + rng.randbytes(2 * MiB) + b"}", "binary")
    write("many_paragraphs.txt", b"word\n\n" * 400_000, "too many paragraphs")

    # -- containers: zip bombs, nesting, odd members ---------------------------------------
    _bomb_from(sources[".docx"], folder / "bomb.docx", "word/document.xml", bomb_bytes,
               b'<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/'
               b'wordprocessingml/2006/main"><w:body>')
    bad["bomb.docx"] = "expands to"
    _bomb_from(sources[".odt"], folder / "bomb.odt", "content.xml", bomb_bytes,
               b'<?xml version="1.0"?><office:document-content>')
    bad["bomb.odt"] = "expands to"
    _bomb_from(sources[".epub"], folder / "bomb.epub", "EPUB/one.xhtml", bomb_bytes,
               b"<html><body><p>")
    bad["bomb.epub"] = "expands to"
    with zipfile.ZipFile(src / "s.epub") as z:
        chapter_names = [n for n in z.namelist() if n.endswith("one.xhtml")]
    _zip_from(sources[".epub"], folder / "divs_chapter.epub",
              replace={chapter_names[0]: b"<html><body>" + b"<div>\n" * (MiB // 6)})
    bad["divs_chapter.epub"] = "no text found"
    _zip_from(sources[".epub"], folder / "deep_chapter.epub",
              replace={chapter_names[0]: b"<html><body>" + b"<div>" * deep + b"</body></html>"})
    bad["deep_chapter.epub"] = "no text found"
    with zipfile.ZipFile(folder / "many_members.docx", "w", zipfile.ZIP_STORED) as z:
        for i in range(30_000):
            z.writestr(f"word/m{i}.xml", b"<x/>")
    bad["many_members.docx"] = "members"
    _zip_from(sources[".docx"], folder / "deep_xml.docx", replace={
        "word/document.xml": b'<w:document xmlns:w="http://schemas.openxmlformats.org/'
        b'wordprocessingml/2006/main"><w:body>' + b"<w:p>" * deep + b"</w:p>" * deep
        + b"</w:body></w:document>"})
    bad["deep_xml.docx"] = "nested too deeply"
    _zip_from(sources[".odt"], folder / "deep_xml.odt", replace={
        "content.xml": b'<?xml version="1.0"?><office:document-content xmlns:office="urn:oasis:'
        b'names:tc:opendocument:xmlns:office:1.0" xmlns:text="urn:oasis:names:tc:opendocument:'
        b'xmlns:text:1.0"><office:body><office:text>' + b"<text:span>" * deep
        + b"</text:span>" * deep + b"</office:text></office:body></office:document-content>"})
    bad["deep_xml.odt"] = "nested too deeply"
    laughs = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
              + b"".join(b'<!ENTITY lol%d "%s">' % (i + 1, (b"&lol%d;" % i if i else b"&lol;") * 10)
                         for i in range(9))
              + b']><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/'
              b'main"><w:body><w:p><w:r><w:t>&lol9;</w:t></w:r></w:p></w:body></w:document>')
    _zip_from(sources[".docx"], folder / "billion_laughs.docx",
              replace={"word/document.xml": laughs})
    bad["billion_laughs.docx"] = "declares XML entities"
    _zip_from(sources[".docx"], folder / "big_image.docx",
              extra={"word/media/image1.png": b"\x89PNG" + bytes(300 * MiB)})
    bad["big_image.docx"] = "expands to"
    _zip_from(sources[".epub"], folder / "no_opf.epub",
              replace={n: None for n in zipfile.ZipFile(src / "s.epub").namelist()
                       if n.endswith(".opf")})
    bad["no_opf.epub"] = "cannot read"
    _zip_from(sources[".epub"], folder / "missing_chapter.epub", replace={chapter_names[0]: None})
    bad["missing_chapter.epub"] = "cannot read"
    for ext, reason in ((".epub", "not an EPUB"), (".docx", "not a Word document"),
                        (".odt", "not an OpenDocument")):
        zipfile.ZipFile(folder / f"empty_zip{ext}", "w").close()
        bad[f"empty_zip{ext}"] = reason
    with zipfile.ZipFile(folder / "encrypted_member.docx", "w") as z:
        info = zipfile.ZipInfo("word/document.xml")
        info.flag_bits |= 0x1  # "encrypted": zipfile wants a password
        z.writestr(info, b"<w:document/>")
    bad["encrypted_member.docx"] = "cannot read"
    write("unknown_method.docx", _with_method(sources[".docx"], 99), "cannot read")
    _sparse(folder / "zeros_150m.odt", 150 * MiB)
    bad["zeros_150m.odt"] = "not a valid zip"
    xxe = (b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
           b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
           b"<w:body><w:p><w:r><w:t>&x;</w:t></w:r></w:p></w:body></w:document>")
    _zip_from(sources[".docx"], folder / "xxe.docx", replace={"word/document.xml": xxe})
    bad["xxe.docx"] = "declares XML entities"
    with open(folder / "lying_sizes.docx", "wb") as f:  # members whose headers lie
        f.write(_lying_zip(sources[".docx"]))
    bad["lying_sizes.docx"] = "cannot read"

    # -- PDFs ---------------------------------------------------------------------------------
    write("flate_bomb.pdf", _pdf_flate_bomb(min(bomb_bytes, 400 * MiB)), "Limit")
    write("page_loop.pdf", _pdf_page_loop(), "cannot read")
    write("many_pages.pdf", _pdf_many_pages(20_000), "too many pages")
    write("deep_arrays.pdf", _raw_pdf([
        b"<< /Type /Catalog /Pages 2 0 R /Deep " + b"[" * 100_000 + b"]" * 100_000 + b" >>",
        b"<< /Type /Pages /Kids [] /Count 0 >>"]), "cannot read")

    # -- good files, some with hostile names -------------------------------------------------
    good: list[str] = []

    def keep(name: str | bytes, maker, paragraphs) -> None:
        path = Path(os.fsdecode(os.path.join(os.fsencode(folder), os.fsencode(name))))
        maker(path, paragraphs)
        good.append(display_path(path.name))

    keep("good.txt", make_txt, sample_paragraphs("alpha"))
    keep("good.md", make_txt, sample_paragraphs("beta"))
    keep("good.docx", make_docx, sample_paragraphs("delta"))
    keep("good.odt", make_odt, sample_paragraphs("zeta"))
    keep("good.pdf", make_pdf, sample_paragraphs("epsilon"))
    keep("good.epub", make_epub, sample_paragraphs("eta"))
    keep("good.rtf", make_rtf, sample_paragraphs("theta"))
    keep("good.html", make_html, sample_paragraphs("iota"))
    keep("good_utf16.txt", lambda p, ps: make_txt(p, ps, "utf-16"), sample_paragraphs("gamma"))
    keep("good_cp1252.txt", lambda p, ps: make_txt(p, ps, "cp1252"),
         ["Crème brûlée à la façade, naïve résumé; déjà vu. " * 4] * 2)
    keep(b"caf\xe9\xff latin1 name.txt", make_txt, sample_paragraphs("kappa"))
    keep("new\nline name.txt", make_txt, sample_paragraphs("lambda"))
    keep("-starts with a dash.md", make_txt, sample_paragraphs("mu"))
    keep("x" * 240 + ".txt", make_txt, sample_paragraphs("nu"))
    keep("tab\tand 'quotes' \"x\".txt", make_txt, sample_paragraphs("xi"))
    keep("deep_nesting_lines.html", lambda p, ps: p.write_bytes(
        b"<div>\n" * 100_000 + ps[0].encode() + b"\n" + b"</div>\n" * 100_000),
        sample_paragraphs("pi"))
    keep("unclosed_comment.html", lambda p, ps: p.write_bytes(
        f"<html><body><p>{ps[0]}</p><!--".encode() + b"x\n" * MiB), sample_paragraphs("rho"))
    keep("attribute.html", lambda p, ps: p.write_bytes(
        b'<div title="' + b"a\n" * MiB + f'">{ps[0]}</div>'.encode()), sample_paragraphs("sigma"))
    keep("md_brackets.md", lambda p, ps: p.write_bytes(
        b"[" * 100_000 + b"\n\n" + b"> " * 50_000 + b"\n\n" + ps[0].encode()),
        sample_paragraphs("tau"))
    _zip_from(sources[".epub"], folder / "zip_slip.epub", extra={"../../escape.txt": b"x"})
    good.append("zip_slip.epub")  # a ../ member is never extracted, so harmless
    (folder / "folder.txt").mkdir()  # a folder with a document's suffix
    make_txt(folder / "folder.txt" / "inside.txt", sample_paragraphs("omicron"))
    good.append("folder.txt/inside.txt")
    os.link(folder / "good.txt", folder / "hard link to good.txt")
    good.append("hard link to good.txt")
    os.symlink("/dev/zero", folder / "zero.txt")  # symlinks are skipped without a word
    os.symlink(folder, folder / "loop")
    exp.good = set(good)
    return exp


def _with_method(src: Path, method: int) -> bytes:
    """A copy of a real zip document whose members claim compression method `method`."""
    import struct

    data = bytearray(src.read_bytes())
    for sig, offset in ((b"PK\x03\x04", 8), (b"PK\x01\x02", 10)):
        pos = data.find(sig)
        while pos != -1:
            struct.pack_into("<H", data, pos + offset, method)
            pos = data.find(sig, pos + 4)
    return bytes(data)


def _lying_zip(src: Path) -> bytes:
    """A copy of a real .docx whose central directory under-states document.xml's size."""
    import struct

    data = bytearray(src.read_bytes())
    name = b"word/document.xml"
    pos = data.find(b"PK\x01\x02")
    while pos != -1:
        n = struct.unpack_from("<H", data, pos + 28)[0]
        if bytes(data[pos + 46: pos + 46 + n]) == name:
            struct.pack_into("<I", data, pos + 24, 10)  # uncompressed size: 10 bytes
        pos = data.find(b"PK\x01\x02", pos + 4)
    return bytes(data)


# -- the measurement script ------------------------------------------------------------------

_SYNC = """
import json, resource, sys, time
from engine.index import IndexStore, sync
start = time.monotonic()
with IndexStore(sys.argv[1]) as store:
    if not store.folders():
        store.add_folder(sys.argv[2])
    report = sync(store, embed=False)
    status = store.status()
try:  # this process's own high-water mark (ru_maxrss can carry the parent's over exec)
    rss_mb = int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0]) / 1024
except OSError:
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # macOS: bytes
print(json.dumps({"seconds": round(time.monotonic() - start, 2), "peak_rss_mb": round(rss_mb),
                  "added": report.added, "unchanged": report.unchanged,
                  "errors_this_sync": len(report.errors), "documents": status["documents"],
                  "error_files": status["errors"]}))
"""


def timed_sync(db: Path, folder: Path, timeout: float = 1800) -> dict:
    """One sync of `folder` into `db` in a fresh process: seconds, peak RSS and counts."""
    import json

    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-c", _SYNC, str(db), str(folder)], env=env,
                         capture_output=True, text=True, timeout=timeout)
    if out.returncode:
        raise RuntimeError(f"sync failed ({out.returncode}): {out.stderr[-2000:]}")
    return json.loads(out.stdout)


def main(argv: list[str] | None = None) -> int:
    import json
    import tempfile

    p = argparse.ArgumentParser(description="Build the hostile folder and time two syncs of it.")
    p.add_argument("folder", type=Path, help="a folder to create (must not exist)")
    p.add_argument("--bomb-mb", type=int, default=1260, help="what the zip bombs expand to")
    args = p.parse_args(argv)
    exp = build_hostile_folder(args.folder, args.bomb_mb * MiB)
    print(f"{len(exp.bad)} bad and {len(exp.good)} good files in {args.folder}", file=sys.stderr)
    db = Path(tempfile.mkdtemp()) / "hostile.sqlite"
    try:
        for run in (1, 2):
            print(json.dumps({"sync": run, **timed_sync(db, args.folder)}))
    finally:
        exp.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
