"""Steering calibrated per persona: which layer and strength move text toward this writer.

One default strength tuned on one author does not carry over to another (docs/persona.md):
a writer close to the neutral reference has a short steering vector and needs a larger
multiplier, and too large a one loses the content or loops. So each persona chooses its
own, from its own documents:

1. **Split.** `CALIBRATION_PARAGRAPHS` paragraphs, evenly spread over the persona, are held
   out. They never enter the steering vector (conditioning.py leaves them out of its
   sample) nor the exemplars used while calibrating.
2. **Prompts.** The opening of each held-out paragraph (its first sentences, about 25
   words) after the persona's exemplars for it, in the continuation frame the app uses:
   the model writes CALIBRATION_TOKENS tokens under each setting.
3. **Toward the writer.** Each continuation is scored by how much closer its style is to
   the held-out paragraphs than to the neutral reference prose the steering vector
   subtracts: the mean cosine of x to the writer's held-out paragraphs minus its mean
   cosine to the reference paragraphs, over character 2-4-gram TF-IDF profiles
   (the features authorship attribution rests on; no classifier is trained, and the
   evaluation judge, a calibrated SVM over other authors' works, is not used, so
   `killah eval style` stays an independent measurement), plus the same difference on
   the style encoder's vectors when its weights are installed.
4. **Guards.** A setting is allowed only if, against the unsteered model on the same
   prompts, its continuations keep their vocabulary (distinct-2 no more than 0.05
   lower, repeated 3-gram share no more than 0.05 higher), their fluency (median
   perplexity under the plain base model at most PERPLEXITY_FACTOR times that of the
   writer's own held-out paragraphs) and their topic (content cosine to the opening no
   more than 0.1 lower).
5. **Search.** Strengths STRENGTHS at the default layer, then the best strength at the
   neighbouring layers LAYER_FRACTIONS of the depth: the allowed setting with the highest
   score wins (no steering when none beats the unsteered model).

The result is cached in the index beside the steering vectors (persona_cache), keyed by
the persona's document fingerprint, the model and the neutral reference: editing a
document recalibrates. conditioning.PersonaConditioning applies it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from engine.errors import KillahError
from engine.progress import CancelToken, ProgressCallback, report_progress

CALIBRATION_PARAGRAPHS = 16
MIN_PARAGRAPHS = 6  # fewer held-out paragraphs than this: no calibration
CALIBRATION_TOKENS = 80
OPENING_WORDS = 25
STRENGTHS = (1.0, 2.0, 4.0, 6.0)
LAYER_FRACTIONS = (0.3, 0.6)  # tried at the best strength, beside the default layer (0.45)
PERPLEXITY_FACTOR = 1.5
MAX_DISTINCT_DROP = 0.05
MAX_REPETITION_RISE = 0.05
MAX_CONTENT_DROP = 0.1
VERSION = 1


@dataclass(frozen=True)
class Setting:
    """One tried setting and what its continuations measured (means over the prompts)."""

    layer: int
    strength: float
    score: float  # toward the writer (see the module docstring); higher is better
    score_se: float  # its standard error over prompts
    distinct_2: float
    repetition_3: float
    perplexity: float  # median, under the plain base model
    content: float  # cosine of continuation to its opening (content embedder)
    allowed: bool = True
    reason: str = ""  # why not allowed


@dataclass(frozen=True)
class Calibration:
    """The chosen layer and strength for a persona, and the evidence."""

    layer: int
    strength: float  # 0: steering did not help this persona
    base: Setting  # the unsteered model on the same prompts
    settings: tuple[Setting, ...] = ()
    prompts: int = 0
    exemplars: int = 0
    seconds: float = 0.0
    writer_perplexity: float = float("nan")
    version: int = VERSION
    meta: dict = field(default_factory=dict)

    @property
    def chosen(self) -> Setting:
        return next((s for s in self.settings
                     if s.layer == self.layer and s.strength == self.strength), self.base)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Calibration | None:
        """The calibration stored by to_json, or None when damaged or of another version."""
        try:
            d = json.loads(text)
            if d.get("version") != VERSION:
                return None
            d["base"] = Setting(**d["base"])
            d["settings"] = tuple(Setting(**s) for s in d["settings"])
            return cls(**d)
        except (ValueError, TypeError, KeyError, AttributeError):
            return None

    def describe(self) -> str:
        if self.strength == 0:
            return (f"no steering: no setting moved text toward the writer within the guards "
                    f"({len(self.settings)} tried, {self.seconds:.0f} s)")
        c = self.chosen
        return (f"layer {self.layer}, strength {self.strength:g}: score {c.score:+.3f} vs "
                f"{self.base.score:+.3f} unsteered ({len(self.settings)} settings, "
                f"{self.prompts} prompts, {self.seconds:.0f} s)")


def held_out(n_paragraphs: int, k: int = CALIBRATION_PARAGRAPHS) -> list[int]:
    """Indices of the calibration paragraphs: k evenly spread, none at the very ends."""
    k = min(k, n_paragraphs // 4)
    if k < MIN_PARAGRAPHS:
        return []
    step = n_paragraphs / k
    return sorted({int(step * (i + 0.5)) for i in range(k)})


def opening(text: str, words: int = OPENING_WORDS) -> str:
    """The paragraph's first sentences, about `words` words (at least a dozen)."""
    from engine.text import sentences

    out: list[str] = []
    for s in sentences(text):
        out.append(s)
        if len(" ".join(out).split()) >= words:
            break
    head = " ".join(out).split()
    if len(head) > 2 * words or len(head) < 12:
        head = text.split()[:words]
    return " ".join(head)


class StyleScorer:
    """Mean cosine to the writer minus mean cosine to the reference, over char n-gram
    profiles (and over style-encoder vectors when the encoder is installed)."""

    def __init__(self, writer: Sequence[str], reference: Sequence[str]):
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4),
                                          sublinear_tf=True, min_df=2, max_features=50000)
        self.vectorizer.fit(list(writer) + list(reference))
        # mean of unit rows: x @ mean = the mean cosine of x to the set's texts, which does not
        # favour the larger set as a renormalised centroid would
        self.writer = self._profiles(writer).mean(axis=0)
        self.reference = self._profiles(reference).mean(axis=0)
        self.encoder = _style_encoder()
        if self.encoder is not None:
            self.writer_style = self.encoder(list(writer)).mean(axis=0)
            self.reference_style = self.encoder(list(reference)).mean(axis=0)

    def _profiles(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length TF-IDF rows (the vectorizer normalises them; an empty text is zeros)."""
        return self.vectorizer.transform(list(texts)).toarray().astype(np.float32)

    def scores(self, texts: Sequence[str]) -> np.ndarray:
        """Per text: mean cosine to the writer's paragraphs minus that to the reference's."""
        rows = self._profiles(texts)
        out = rows @ self.writer - rows @ self.reference
        if self.encoder is not None:
            vecs = self.encoder(list(texts))
            out = 0.5 * out + 0.5 * (vecs @ self.writer_style - vecs @ self.reference_style)
        return out.astype(np.float64)


def _style_encoder():
    """The style encoder's embed function when its weights are installed, else None."""
    try:
        from engine.embeddings import STYLE_EMBEDDER, embed

        embed(["A test."], name=STYLE_EMBEDDER)
    except Exception:  # noqa: BLE001 - no weights yet: char n-grams alone
        return None
    return lambda texts: embed(texts, name=STYLE_EMBEDDER)


def calibrate(cond, progress: ProgressCallback | None = None,
              cancel: CancelToken | None = None, strengths: Sequence[float] = STRENGTHS,
              tokens: int = CALIBRATION_TOKENS) -> Calibration:
    """Choose `cond`'s steering layer and strength from its persona's held-out paragraphs.

    `cond` is an engine.persona.PersonaConditioning with a model. Slow (minutes on a
    CPU: it writes CALIBRATION_TOKENS tokens for each prompt under each setting): run it
    in the background; progress reports each setting, `cancel` stops between batches.
    """
    from engine.persona import steering
    from engine.quality.faithfulness import mean_logprobs

    tic = time.perf_counter()
    data, lm = cond.data, cond.lm
    if lm is None:
        raise KillahError("calibrating steering needs the model")
    cal = cond.calibration_indices()
    if not cal:
        raise KillahError(f"persona {cond.persona.name!r} has too few paragraphs to calibrate "
                          f"steering ({len(data.texts)}; at least {4 * MIN_PARAGRAPHS})")
    writer = [data.texts[i] for i in cal]
    openings = [opening(t) for t in writer]
    k = cond.strengths.exemplars
    exclude = set(int(data.ids[i]) for i in cal)
    prompts = [cond.calibration_prompt(o, exclude) for o in openings]
    neutral = cond.neutral_texts()
    scorer = StyleScorer(writer, neutral)
    writer_ppl = float(np.median(np.exp(-np.array(mean_logprobs(lm, [("", t) for t in writer])))))

    n_layers = len(steering.decoder_layers(lm.model))
    default = steering.default_layers(lm.model)[0]
    others = sorted({max(0, min(n_layers - 1, round(f * n_layers))) for f in LAYER_FRACTIONS}
                    - {default})
    vectors, _ = cond.vectors((default, *others))
    planned = len(strengths) + len(others) + 1
    done = [0]

    def run(layer: int | None, strength: float) -> tuple[list[str], Setting]:
        if cancel is not None:
            cancel.raise_if_cancelled()
        report_progress(progress, "calibrate", done[0], planned, "setting",
                        "unsteered" if layer is None else f"layer {layer}, strength {strength:g}")
        transforms = () if layer is None else (
            steering.SteeringTransform({layer: vectors[layer]}, strength, f"cal:{layer}"),)
        texts = _write(lm, prompts, transforms, cancel, tokens)
        done[0] += 1
        return texts, _measure(scorer, lm, texts, openings, layer or 0, strength)

    _, base = run(None, 0.0)
    tried: list[Setting] = []
    for s in strengths:
        tried.append(_guard(run(default, s)[1], base, writer_ppl))
    best = _best(tried)
    if best is not None:
        for layer in others:
            tried.append(_guard(run(layer, best.strength)[1], base, writer_ppl))
    best = _best(tried)
    report_progress(progress, "calibrate", planned, planned, "setting", "done")
    layer, strength = (best.layer, best.strength) if best and best.score > base.score \
        else (default, 0.0)
    return Calibration(layer, strength, base, tuple(tried), len(prompts), k,
                       time.perf_counter() - tic, writer_ppl,
                       meta={"layers": n_layers, "default_layer": default})


def _write(lm, prompts, transforms, cancel, tokens: int) -> list[str]:
    from engine.generate import SamplingOptions, generate_batch

    options = [SamplingOptions(temperature=0.8, min_p=0.05, repetition_penalty=1.1,
                               max_tokens=tokens, seed=1000 + i)
               for i in range(len(prompts))]
    out = generate_batch(lm, prompts, options, transforms=transforms, cancel=cancel)
    if cancel is not None:
        cancel.raise_if_cancelled()
    return [c.text.strip() for c in out]


def _measure(scorer: StyleScorer, lm, texts: list[str], openings: list[str], layer: int,
             strength: float) -> Setting:
    from engine.embeddings import embed, embedder_for
    from engine.quality.faithfulness import mean_logprobs
    from engine.text import detect_lang, distinct_n, repeated_ngram_share, words

    scores = scorer.scores(texts)
    toks = [words(t) for t in texts]
    d2 = np.nanmean([distinct_n(t, 2) if len(t) > 2 else 0.0 for t in toks])
    rep = np.nanmean([repeated_ngram_share(t, 3) if len(t) > 3 else 1.0 for t in toks])
    lp = [x for x in mean_logprobs(lm, [("", t) for t in texts if t.strip()])]
    ppl = float(np.median(np.exp(-np.array(lp)))) if lp else float("inf")
    name = embedder_for(detect_lang(" ".join(openings)))
    a, b = embed([t or "." for t in texts], name=name), embed(openings, name=name)
    content = float(np.mean(np.einsum("ij,ij->i", a, b)))
    se = float(scores.std(ddof=1) / np.sqrt(len(scores))) if len(scores) > 1 else 0.0
    return Setting(layer, strength, float(scores.mean()), se, float(d2), float(rep), ppl, content)


def _guard(s: Setting, base: Setting, writer_ppl: float) -> Setting:
    from dataclasses import replace

    reasons = []
    if s.distinct_2 < base.distinct_2 - MAX_DISTINCT_DROP:
        reasons.append(f"distinct-2 {s.distinct_2:.2f} < {base.distinct_2:.2f} - "
                       f"{MAX_DISTINCT_DROP}")
    if s.repetition_3 > base.repetition_3 + MAX_REPETITION_RISE:
        reasons.append(f"repeated 3-grams {s.repetition_3:.2f} > {base.repetition_3:.2f} + "
                       f"{MAX_REPETITION_RISE}")
    if not s.perplexity <= PERPLEXITY_FACTOR * writer_ppl:
        reasons.append(f"perplexity {s.perplexity:.1f} > {PERPLEXITY_FACTOR} x "
                       f"{writer_ppl:.1f} (the writer's)")
    if s.content < base.content - MAX_CONTENT_DROP:
        reasons.append(f"content {s.content:.2f} < {base.content:.2f} - {MAX_CONTENT_DROP}")
    return replace(s, allowed=not reasons, reason="; ".join(reasons))


def _best(settings: Sequence[Setting]) -> Setting | None:
    allowed = [s for s in settings if s.allowed]
    return max(allowed, key=lambda s: s.score) if allowed else None
