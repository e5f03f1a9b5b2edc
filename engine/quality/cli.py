"""`killah score FILE|-`: the WQRM score, its reasons and breakdown, per paragraph and overall.

The whole text's score is the mean of its paragraphs' scores weighted by their word counts.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from engine import clikit
from engine.errors import KillahError
from engine.text import word_count

_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")


def paragraphs(text: str) -> list[str]:
    """Blank-line separated paragraphs, inner line breaks folded to spaces."""
    return [" ".join(p.split()) for p in _PARAGRAPH_BREAK.split(text) if p.strip()]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="killah score",
        description="Score text with the writing-quality reward model (0-10), per paragraph and for the whole text.",
    )
    parser.add_argument("file", help="a UTF-8 text file, or '-' for stdin")
    parser.add_argument(
        "--profile",
        help="style reference: a style-profile JSON, or a .txt of the target voice (default: the general profile)",
    )
    clikit.add_output_options(parser)
    return parser


def _read(path: str) -> str:
    return clikit.read_input(path, "text to score")


def load_profile_arg(path: str | None):
    if not path:
        return None
    from engine.quality.profile import StyleProfile, load_profile

    if path.endswith(".json"):
        return load_profile(path)
    return StyleProfile.from_texts(paragraphs(_read(path)), name=Path(path).stem)


def _human(data: dict) -> str:
    lines = []
    for i, p in enumerate(data["paragraphs"], 1):
        preview = p["text"][:60] + ("..." if len(p["text"]) > 60 else "")
        lines.append(f"¶{i}  {p['score']:5.2f}/10  {preview}")
        lines.extend(f"      - {r}" for r in p["reasons"])
    whole = data["whole"]
    lines.append(f"whole text  {whole['score']:5.2f}/10")
    if len(data["paragraphs"]) == 1:
        lines.append("")
        lines.append(f"{'component':<22} {'value':>6}")
        for name, value in data["paragraphs"][0]["components"].items():
            lines.append(f"{name:<22} {'   -  ' if value is None else f'{value:6.3f}'}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    text = _read(args.file)
    paras = paragraphs(text)
    if not paras:
        raise KillahError(f"{args.file}: nothing to score (no text)")
    from engine.quality.composite import score_texts, whole_text

    profile = load_profile_arg(args.profile)
    scores = score_texts(paras, profile)
    reasons = list(dict.fromkeys(r for s in scores for r in s.reasons))
    data = {
        "file": args.file,
        "paragraphs": [{"text": p, **s.to_dict()} for p, s in zip(paras, scores)],
        "whole": {"score": round(whole_text(scores, [word_count(p) for p in paras]), 2), "reasons": reasons},
    }
    clikit.emit(args, data, human=_human)
    return 0
