"""Build real documents of every supported format with the formats' own libraries."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence


def make_txt(path: Path, paragraphs: Sequence[str], encoding: str = "utf-8") -> Path:
    path.write_bytes("\n\n".join(paragraphs).encode(encoding))
    return path


def make_docx(path: Path, paragraphs: Sequence[str]) -> Path:
    import docx

    document = docx.Document()
    for p in paragraphs:
        document.add_paragraph(p)
    document.save(str(path))
    return path


def make_odt(path: Path, paragraphs: Sequence[str]) -> Path:
    from odf.opendocument import OpenDocumentText
    from odf.text import P

    document = OpenDocumentText()
    for p in paragraphs:
        document.text.addElement(P(text=p))
    document.save(str(path))
    return path


def make_pdf(path: Path, paragraphs: Sequence[str], user_password: str | None = None) -> Path:
    from fpdf import FPDF

    pdf = FPDF()
    if user_password:
        from fpdf.enums import EncryptionMethod

        pdf.set_encryption(owner_password="owner", user_password=user_password,
                           encryption_method=EncryptionMethod.RC4)
    pdf.add_page()
    pdf.set_font("Helvetica", size=11)
    for p in paragraphs:
        pdf.multi_cell(0, 6, p)
        pdf.ln(6)
    pdf.output(str(path))
    return path


def make_epub(path: Path, paragraphs: Sequence[str]) -> Path:
    from ebooklib import epub

    book = epub.EpubBook()
    book.set_identifier("killah-test")
    book.set_title("Test book")
    book.set_language("en")
    chapter = epub.EpubHtml(title="One", file_name="one.xhtml", lang="en")
    chapter.content = "<html><body><h1>Chapter One</h1>" + "".join(
        f"<p>{p}</p>" for p in paragraphs) + "</body></html>"
    book.add_item(chapter)
    book.toc = (chapter,)
    book.add_item(epub.EpubNcx())
    book.add_item(epub.EpubNav())
    book.spine = ["nav", chapter]
    epub.write_epub(str(path), book)
    return path


def make_rtf(path: Path, paragraphs: Sequence[str]) -> Path:
    body = "".join(r"\pard " + p.replace("\\", "\\\\").replace("{", r"\{").replace("}", r"\}")
                   + r"\par" + "\n" for p in paragraphs)
    path.write_text(r"{\rtf1\ansi\deff0{\fonttbl{\f0 Times;}}" + "\n" + body + "}",
                    encoding="ascii")
    return path


def make_html(path: Path, paragraphs: Sequence[str]) -> Path:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    path.write_text(f"<!doctype html><html><head><title>t</title><style>p{{}}</style>"
                    "<script>var x = 'not text';</script></head>"
                    f"<body><div>{body}</div></body></html>",
                    encoding="utf-8")
    return path


BUILDERS = {
    ".txt": make_txt, ".md": make_txt, ".docx": make_docx, ".odt": make_odt, ".pdf": make_pdf,
    ".epub": make_epub, ".rtf": make_rtf, ".html": make_html,
}


_WORDS = (
    "river lantern orchard whisper granite velvet harbour meadow thunder copper candle window "
    "violin parcel shadow ribbon marble feather compass teapot ladder blossom anchor saddle "
    "curtain pebble thimble garden kettle satchel beacon quarry hollow willow cinder lattice"
).split()


def sample_paragraphs(tag: str, n: int = 3) -> list[str]:
    """n distinct prose paragraphs carrying the unique searchable word `tag`.

    The rest of each paragraph is drawn from a vocabulary with a seed taken from
    the tag, so paragraphs of different tags are not near-duplicates.
    """
    import random

    rng = random.Random(tag)
    out = []
    for i in range(n):
        words = " ".join(rng.choice(_WORDS) for _ in range(18))
        out.append(f"In the {tag} morning the harbour was quiet, and paragraph {i} of this file "
                   f"lists {words} while the gulls circled overhead.")
    return out
