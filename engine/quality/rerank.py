"""Reranked suggestions: N candidates in one batch, scored by the WQRM, best first.

For a rewrite (`source` given: rephrase, the presets, restyling a selection) each
candidate is also checked for faithfulness (engine.quality.faithfulness): faithful
candidates come first, each group by score, and a failing one carries its reasons.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from engine.quality.composite import QualityScore, score_texts

# min-p varied across candidates, as in the design: conservative to adventurous.
MIN_P_LADDER: tuple[float, ...] = (0.05, 0.1, 0.15)


@dataclass(frozen=True)
class Ranked:
    text: str
    quality: QualityScore
    completion: object  # engine.generate.Completion (tokens, logprobs, finish_reason, options)
    index: int  # position in the generated batch
    faithfulness: object = None  # engine.quality.faithfulness.Faithfulness, for rewrites

    @property
    def faithful(self) -> bool | None:
        return None if self.faithfulness is None else self.faithfulness.ok

    @property
    def score(self) -> float:
        return self.quality.score

    def to_dict(self) -> dict:
        c = self.completion
        return {
            "text": self.text,
            "index": self.index,
            "min_p": getattr(c.options, "min_p", None),
            "finish_reason": c.finish_reason,
            **self.quality.to_dict(),
            **({} if self.faithfulness is None else {"faithfulness": self.faithfulness.to_dict()}),
        }


# A rewrite should stay close to its source: its candidates run from conservative to free
# (temperature, min-p), instead of the user's one temperature (docs/rewrite.md).
REWRITE_LADDER: tuple[tuple[float, float], ...] = ((0.3, 0.1), (0.5, 0.1), (0.7, 0.1), (0.9, 0.1))


def candidate_options(options, n: int, rewrite: bool = False) -> list:
    """One SamplingOptions per candidate, min-p cycling through MIN_P_LADDER.

    Everything else comes from `options` (or the generator's defaults); a seed, when
    given, is kept for the batch (the generator seeds once per batch). For a rewrite,
    temperature and min-p cycle through REWRITE_LADDER instead.
    """
    from engine.generate import SamplingOptions

    base = options or SamplingOptions()
    if rewrite:
        return [base.replace(temperature=t, min_p=p)
                for t, p in (REWRITE_LADDER[i % len(REWRITE_LADDER)] for i in range(n))]
    return [base.replace(min_p=MIN_P_LADDER[i % len(MIN_P_LADDER)]) for i in range(n)]


def rerank(
    lm,
    prompt,
    n: int = 4,
    options=None,
    transforms: Sequence = (),
    persona_profile=None,
    cancel=None,
    source: str | None = None,
    task: str = "rephrase",
) -> list[Ranked]:
    """Generate `n` candidates for `prompt` as one batch and return them best first.

    `options` is one SamplingOptions (min-p is varied across candidates; for a rewrite,
    temperature and min-p follow REWRITE_LADDER) or a list of n of them (used as given). The candidates' own log-probs feed the
    perplexity-variation component; `persona_profile` (a StyleProfile) the style ones.
    Candidates with no text sort last. A cancelled batch is scored as far as it got.
    With `source` (the text being rewritten) and `task` (rephrase or a preset), faithful
    candidates rank first (engine.quality.faithfulness; its model checks use `lm`).
    """
    from engine.generate import SamplingOptions, generate_candidates

    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    if options is not None and not isinstance(options, SamplingOptions):
        per = list(options)
    else:
        per = candidate_options(options, n, rewrite=source is not None)
    cands = generate_candidates(lm, prompt, n, per, transforms=transforms, cancel=cancel)
    return rank(cands, persona_profile, source=source, task=task, lm=lm)


def rank(cands: Sequence, persona_profile=None, source: str | None = None, task: str = "rephrase",
         lm=None) -> list[Ranked]:
    """Score generated Completions (and check them against `source`), best first.

    A text that an earlier candidate already has (ignoring case and spacing) is dropped, so
    the same suggestion is never offered twice; `Ranked.index` stays its place in the batch.
    """
    seen: set[str] = set()
    unique = []
    for i, c in enumerate(cands):
        key = " ".join(c.text.split()).casefold()
        if key and key in seen:
            continue
        seen.add(key)
        unique.append((i, c))
    positions = [i for i, _ in unique]
    cands = [c for _, c in unique]
    texts = [c.text.strip() for c in cands]
    scored_idx = [i for i, t in enumerate(texts) if t]
    qualities = score_texts(
        [texts[i] for i in scored_idx], persona_profile, [cands[i].logprobs for i in scored_idx]
    )
    by_index = dict(zip(scored_idx, qualities))
    empty = QualityScore(0.0, {}, {}, {})
    checks = [None] * len(cands)
    if source is not None:
        from engine.quality.faithfulness import assess

        checks = assess(source, texts, task, lm=lm)
    ranked = [Ranked(texts[i], by_index.get(i, empty), cands[i], positions[i], checks[i])
              for i in range(len(cands))]
    return sorted(ranked, key=lambda r: (r.faithful is False, -r.score, r.index))
