"""The shipped reference authors: the judge's candidates when the user names none.

resources/reference/<lang>/<author>/<work>.txt holds a compact, attributed sample
of public-domain prose (11 English and 6 Russian authors; see
resources/reference/SOURCES.md): evenly spaced excerpts of each work, one file
per work, so the judge can still train on some works of an author and hold out
others. resources/reference/make_sample.py rebuilds it from a data folder.

    reference_authors("en")            # {"austen": Path(...), ...}
    resolve_author_dir("austen")       # a shipped author by name, or any folder
"""

from __future__ import annotations

from pathlib import Path

from engine.errors import KillahError

REFERENCE_DIR = Path(__file__).resolve().parents[2] / "resources" / "reference"
LANGS = ("en", "ru")


def reference_root(lang: str) -> Path:
    if lang not in LANGS:
        raise KillahError(f"no shipped reference authors for language {lang!r} "
                          f"(have: {', '.join(LANGS)})")
    return REFERENCE_DIR / lang


def reference_authors(lang: str) -> dict[str, Path]:
    """author name -> folder of the shipped sample of that language."""
    root = reference_root(lang)
    if not root.is_dir():
        raise KillahError(f"the shipped reference authors are missing: {root}")
    return {d.name: d for d in sorted(root.iterdir()) if d.is_dir() and any(d.glob("*.txt"))}


def shipped_author(name: str) -> Path | None:
    """The folder of a shipped reference author, or None."""
    for lang in LANGS:
        folder = REFERENCE_DIR / lang / name
        if folder.is_dir():
            return folder
    return None


def resolve_author_dir(spec: str) -> Path:
    """A folder of .txt works: a path, or the name of a shipped reference author."""
    path = Path(spec).expanduser()
    if path.is_dir():
        return path
    shipped = shipped_author(spec) if "/" not in spec and "\\" not in spec else None
    if shipped is not None:
        return shipped
    names = sorted(n for lang in LANGS for n in reference_authors(lang))
    raise KillahError(f"author folder not found: {spec} (not a folder, nor a shipped reference "
                      f"author: {', '.join(names)})")
