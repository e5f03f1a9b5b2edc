"""Preference pairs for DPO: the WQRM's best and worst candidate per prompt.

Each line of the output JSONL is
    {"prompt": ..., "chosen": ..., "rejected": ..., "score_gap": ..., "chosen_score": ..., "rejected_score": ...}
written only when the gap between the best and the worst candidate exceeds the
threshold (0-10 scale). The file is replaced atomically when all prompts are done.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, Sequence

from engine.atomic import write_text
from engine.quality.rerank import rerank

DEFAULT_MIN_GAP = 0.5


def _prompt_text(prompt) -> str:
    return prompt if isinstance(prompt, str) else getattr(prompt, "text", str(prompt))


def preference_pairs(
    lm,
    prompts: Sequence,
    n: int = 4,
    min_gap: float = DEFAULT_MIN_GAP,
    options=None,
    transforms: Sequence = (),
    persona_profile=None,
    cancel=None,
    callback: Callable[[int, int], None] | None = None,
) -> list[dict]:
    """For each prompt, rerank `n` candidates; keep (best, worst) when their gap > `min_gap`."""
    rows = []
    for i, prompt in enumerate(prompts):
        if cancel is not None and cancel.cancelled:
            break
        ranked = [r for r in rerank(lm, prompt, n, options, transforms, persona_profile, cancel) if r.text]
        if len(ranked) >= 2:
            best, worst = ranked[0], ranked[-1]
            gap = best.score - worst.score
            if round(gap, 4) > min_gap:  # as written: a gap that rounds to 0 is no preference
                rows.append({
                    "prompt": _prompt_text(prompt),
                    "chosen": best.text,
                    "rejected": worst.text,
                    "score_gap": round(gap, 4),
                    "chosen_score": round(best.score, 4),
                    "rejected_score": round(worst.score, 4),
                })
        if callback:
            callback(i + 1, len(prompts))
    return rows


def write_preference_pairs(path: str | Path, lm, prompts: Sequence, **kwargs) -> int:
    """Generate the pairs and write them as JSONL at `path` (atomically); returns the count."""
    rows = preference_pairs(lm, prompts, **kwargs)
    write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    return len(rows)
