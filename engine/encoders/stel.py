"""STEL and STEL-or-Content: does a text similarity measure follow style rather than content?

A STEL task (Wegmann & Nguyen, EMNLP 2021) is a quadruple: anchors A1, A2 and alternatives
S1, S2, where A1/A2 (and S1/S2) are paraphrases that differ along one style dimension
(formality, simplicity, contractions, number substitution, ...). The model must pair the
alternatives with the anchors: it answers "A1-S1, A2-S2" when
cos(A1, S1) + cos(A2, S2) > cos(A1, S2) + cos(A2, S1), else the crossed order (ties: half a
point). STEL-or-Content (Wegmann et al., 2022) keeps anchor A1 and asks which is closer:
the alternative in A1's style (other content) or A2 (A1's content, the other style); a
content embedder prefers A2 and scores near 0.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from engine.errors import KillahError

TASKS = Path(__file__).resolve().parents[2] / "resources" / "style" / "stel_public_tasks.jsonl"
Embed = Callable[[Sequence[str]], np.ndarray]  # texts -> (n, d) unit rows


def load_tasks(path: str | Path | None = None) -> list[dict]:
    path = Path(path or TASKS)
    try:
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    except (OSError, ValueError) as e:
        raise KillahError(f"STEL tasks {path}: {e}") from e
    keys = ("anchor1", "anchor2", "alternative1", "alternative2", "correct_alternative")
    bad = [i for i, r in enumerate(rows) if any(k not in r for k in keys)]
    if bad or not rows:
        raise KillahError(f"STEL tasks {path}: rows {bad[:5]} lack {keys}" if bad else
                          f"STEL tasks {path}: empty")
    return rows


def decisions(tasks: Sequence[dict], embed: Embed) -> tuple[np.ndarray, np.ndarray]:
    """Per task: STEL credit (1, 0.5 for a tie, 0) and STEL-or-Content credit."""
    texts = sorted({t[k] for t in tasks for k in ("anchor1", "anchor2", "alternative1",
                                                  "alternative2")})
    index = {t: i for i, t in enumerate(texts)}
    vecs = np.asarray(embed(texts), dtype=np.float64)

    def cos(a: str, b: str) -> float:
        return float(vecs[index[a]] @ vecs[index[b]])

    stel, soc = np.zeros(len(tasks)), np.zeros(len(tasks))
    for i, t in enumerate(tasks):
        a1, a2, s1, s2 = t["anchor1"], t["anchor2"], t["alternative1"], t["alternative2"]
        straight = cos(a1, s1) + cos(a2, s2)
        crossed = cos(a1, s2) + cos(a2, s1)
        said = 1 if straight > crossed else 2 if crossed > straight else 0
        stel[i] = 0.5 if said == 0 else float(said == int(t["correct_alternative"]))
        same_style = s1 if int(t["correct_alternative"]) == 1 else s2
        style_sim, content_sim = cos(a1, same_style), cos(a1, a2)
        soc[i] = 0.5 if style_sim == content_sim else float(style_sim > content_sim)
    return stel, soc


def scores(embed: Embed, tasks: Sequence[dict] | None = None) -> dict:
    """Accuracy overall and per style type, for STEL and STEL-or-Content."""
    tasks = list(tasks or load_tasks())
    stel, soc = decisions(tasks, embed)
    types = sorted({t.get("style_type", "?") for t in tasks})
    kind = np.array([t.get("style_type", "?") for t in tasks])
    return {
        "n": len(tasks),
        "stel": float(stel.mean()),
        "stel_or_content": float(soc.mean()),
        "by_type": {k: {"n": int((kind == k).sum()), "stel": float(stel[kind == k].mean()),
                        "stel_or_content": float(soc[kind == k].mean())} for k in types},
    }
