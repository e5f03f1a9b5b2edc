"""Killah's style encoder: vectors for how a text is written, not what it is about.

A LoRA + projection head over the first layers of multilingual-e5-small, trained in the
project with content held fixed (training/style_encoder.py, docs/style-encoder.md), shipped
in resources/style-encoder. English and Russian.

    killah style similarity FILE_A FILE_B [--json]   # {"similarity": cosine of style vectors}
    killah style stel [--json]                       # STEL and STEL-or-Content accuracy
"""

from __future__ import annotations

import argparse
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from engine.errors import KillahError

STYLE_ENCODER = Path(__file__).resolve().parents[2] / "resources" / "style-encoder"
_lock = threading.Lock()
_cached: dict[str, object] = {}


def style_encoder(path: str | Path | None = None):
    """The shipped style encoder (a TunedEncoder), loaded once per process."""
    from engine.encoders.tuning import TunedEncoder

    path = Path(path or STYLE_ENCODER)
    key = str(path.resolve())
    with _lock:
        if key not in _cached:
            if not (path / "encoder.json").is_file():
                raise KillahError(f"style encoder missing: {path}/encoder.json (reinstall Killah)")
            _cached[key] = TunedEncoder.load(path)
        return _cached[key]


def unavailable(path: str | Path | None = None) -> str | None:
    """Why the product cannot rely on the style encoder (one line), or None when it can.

    A cheap check (the files, the format line and the metadata; the weights are not loaded),
    so callers can fall back to stylometry and say why before any work starts. Weights whose
    metadata says `"product": false` (they did not beat the baselines; the reason is in
    `"product_note"`) still serve `killah style ...` but not the product's meters.
    """
    import json

    from engine.encoders.tuning import FORMAT

    path = Path(path or STYLE_ENCODER)
    try:
        info = json.loads((path / "encoder.json").read_text())
    except FileNotFoundError:
        return f"style encoder missing: {path}/encoder.json (reinstall Killah)"
    except (OSError, ValueError) as e:
        return f"style encoder unreadable: {path}/encoder.json: {e}"
    if not isinstance(info, dict) or info.get("format") != FORMAT:
        return f"style encoder {path}: not a {FORMAT!r} folder"
    if not (path / "weights.safetensors").is_file():
        return f"style encoder missing: {path}/weights.safetensors (reinstall Killah)"
    meta = info.get("meta") or {}
    if meta.get("product") is False:
        return "style encoder not used: " + str(meta.get("product_note") or "not validated")
    return None


def version(path: str | Path | None = None) -> str:
    """A short hash of the shipped weights: stored vectors are keyed by it (engine.embeddings)."""
    import hashlib

    path = Path(path or STYLE_ENCODER) / "weights.safetensors"
    key = f"version:{path}"
    with _lock:
        if key not in _cached:
            try:
                _cached[key] = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
            except OSError as e:
                raise KillahError(f"style encoder missing: {path}: {e.strerror}") from e
        return _cached[key]


def style_vectors(texts: Sequence[str]) -> np.ndarray:
    """(n, d) unit style vectors."""
    return style_encoder().encode(list(texts))


def style_similarity(a: str, b: str) -> float:
    """Cosine of the two texts' style vectors, in [-1, 1]."""
    if not a.strip() or not b.strip():
        raise KillahError("style similarity needs two non-empty texts")
    va, vb = style_vectors([a, b])
    return float(va @ vb)


def _warn_if_unvalidated() -> None:
    """The commands always run the shipped encoder; say so when the product does not trust it."""
    import sys

    why = unavailable()
    if why:
        print(f"killah style: warning: {why}", file=sys.stderr)


def _similarity(args: argparse.Namespace) -> int:
    from engine.clikit import emit, read_input

    _warn_if_unvalidated()
    a, b = read_input(args.file_a, "FILE_A"), read_input(args.file_b, "FILE_B")
    emit(args, {"similarity": round(style_similarity(a, b), 6)},
         lambda d: f"style similarity: {d['similarity']:.3f}")
    return 0


def _stel(args: argparse.Namespace) -> int:
    from engine.clikit import emit
    from engine.encoders import stel

    _warn_if_unvalidated()
    result = stel.scores(style_vectors, stel.load_tasks(args.tasks))

    def human(r: dict) -> str:
        head = (f"STEL {r['stel']:.3f}   STEL-or-Content {r['stel_or_content']:.3f}   "
                f"({r['n']} public STEL tasks)")
        lines = [head, "", "| style type | n | STEL | STEL-or-Content |", "|---|---|---|---|"]
        lines += [f"| {k} | {v['n']} | {v['stel']:.3f} | {v['stel_or_content']:.3f} |"
                  for k, v in r["by_type"].items()]
        return "\n".join(lines)

    emit(args, result, human)
    return 0


def build_parser() -> argparse.ArgumentParser:
    from engine.clikit import add_output_options

    p = argparse.ArgumentParser(prog="killah style", description="Compare texts by style.")
    sub = p.add_subparsers(dest="command", required=True)
    sim = sub.add_parser("similarity", help="style similarity of two texts (cosine, -1..1)")
    sim.add_argument("file_a", help="a text file ('-' for standard input)")
    sim.add_argument("file_b", help="another text file")
    add_output_options(sim)
    st = sub.add_parser("stel", help="STEL and STEL-or-Content accuracy of the style encoder")
    st.add_argument("--tasks", help="a STEL tasks JSONL file (default: the shipped public tasks)")
    add_output_options(st)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return {"similarity": _similarity, "stel": _stel}[args.command](args)
