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
   the style encoder's vectors when the product may rely on it (engine.encoders.style).
4. **Guards.** A setting is allowed only if, against the unsteered model on the same
   prompts, its continuations keep their vocabulary (distinct-2 no more than 0.05
   lower, repeated 3-gram share no more than 0.05 higher) and their topic (content cosine
   to the opening no more than 0.1 lower), and, checked last for the best-scoring
   settings only (a forward pass over Gemma's 262k-word vocabulary per token is the
   costliest measure), their fluency: median perplexity under the plain base model at
   most PERPLEXITY_FACTOR times that of the writer's own paragraphs (cut to the same
   length).
5. **Search.** Strengths STRENGTHS at the default layer, extended past whichever end wins
   (doubling up to MAX_STRENGTH, halving once down to MIN_STRENGTH), then the best
   strength at the layers LAYER_FRACTIONS of the depth: the allowed setting with the
   highest score wins, and no steering when none beats the unsteered model. About six
   settings of CALIBRATION_PARAGRAPHS continuations each.

The result is cached in the index beside the steering vectors (persona_cache), keyed by
the persona's document fingerprint, the model and the neutral reference: editing a
document recalibrates. conditioning.PersonaConditioning applies it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace

import numpy as np

from engine.errors import KillahError
from engine.progress import CancelToken, ProgressCallback, report_progress

CALIBRATION_PARAGRAPHS = 16
MIN_PARAGRAPHS = 6  # fewer held-out paragraphs than this: no calibration
CALIBRATION_TOKENS = 64
OPENING_WORDS = 25
STRENGTHS = (2.0, 4.0)  # tried first at the default layer, then extended (MIN..MAX_STRENGTH)
MIN_STRENGTH, MAX_STRENGTH = 1.0, 8.0
LAYER_FRACTIONS = (0.3, 0.6)  # tried at the best strength, beside the default layer (0.45)
PERPLEXITY_FACTOR = 1.5
PERPLEXITY_WORDS = 48  # the writer's paragraphs are measured on this many words
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
    content: float  # cosine of continuation to its opening (content embedder)
    perplexity: float | None = None  # median, under the plain base model (None: not measured)
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
    writer_perplexity: float | None = None
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
    """The style encoder's embed function when the product may rely on it
    (engine.encoders.style.unavailable), else None: char n-grams alone."""
    from engine.encoders.style import unavailable

    if unavailable() is not None:
        return None
    from engine.embeddings import STYLE_EMBEDDER, embed

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
    # the writer's paragraphs cut to about the continuations' length (perplexity falls
    # with context, so a long text would look more fluent than a short one)
    writer_ppl = _perplexity(lm, [" ".join(t.split()[:PERPLEXITY_WORDS]) for t in writer])

    n_layers = len(steering.decoder_layers(lm.model))
    default = steering.default_layers(lm.model)[0]
    others = sorted({max(0, min(n_layers - 1, round(f * n_layers))) for f in LAYER_FRACTIONS}
                    - {default})
    vectors, _ = cond.vectors((default, *others))
    planned = len(strengths) + len(others) + 2  # + the unsteered model and one extension
    texts_of: dict[tuple[int, float], list[str]] = {}

    def run(layer: int | None, strength: float) -> Setting:
        if cancel is not None:
            cancel.raise_if_cancelled()
        report_progress(progress, "calibrate", len(texts_of), planned, "setting",
                        "unsteered" if layer is None else f"layer {layer}, strength {strength:g}")
        transforms = () if layer is None else (
            steering.SteeringTransform({layer: vectors[layer]}, strength, f"cal:{layer}"),)
        texts = _write(lm, prompts, transforms, cancel, tokens)
        texts_of[(layer or 0, strength)] = texts
        return _measure(scorer, texts, openings, layer or 0, strength)

    base = run(None, 0.0)
    tried = [_guard(run(default, s), base) for s in strengths]
    # past the end of the range the best setting sits at: up (doubling) while the strongest
    # wins, down once (halving) when the weakest does
    while (best := _best(tried)) is not None:
        top, low = max(s.strength for s in tried), min(s.strength for s in tried)
        if best.strength == top and 2 * top <= MAX_STRENGTH:
            tried.append(_guard(run(default, 2 * top), base))
        elif best.strength == low == min(strengths) and low / 2 >= MIN_STRENGTH:
            tried.append(_guard(run(default, low / 2), base))
        else:
            break
    if (best := _best(tried)) is not None:
        for layer in others:
            tried.append(_guard(run(layer, best.strength), base))
    # fluency last (perplexity under the plain model costs a forward pass over the whole
    # vocabulary per token): the best-scoring settings are checked until one passes
    chosen = None
    for i, setting in sorted(enumerate(tried), key=lambda p: -p[1].score):
        if not setting.allowed or setting.score <= base.score:
            continue
        ppl = _perplexity(lm, texts_of[(setting.layer, setting.strength)])
        tried[i] = setting = _guard(replace(setting, perplexity=ppl), base, writer_ppl)
        if setting.allowed:
            chosen = setting
            break
    report_progress(progress, "calibrate", planned, planned, "setting", "done")
    layer, strength = (chosen.layer, chosen.strength) if chosen else (default, 0.0)
    return Calibration(layer, strength, base, tuple(tried), len(prompts), k,
                       time.perf_counter() - tic, writer_ppl,
                       meta={"layers": n_layers, "default_layer": default, "tokens": tokens})


def _write(lm, prompts, transforms, cancel, tokens: int) -> list[str]:
    from engine.generate import SamplingOptions, generate_batch

    options = [SamplingOptions(temperature=0.8, min_p=0.05, repetition_penalty=1.1,
                               max_tokens=tokens, seed=1000 + i)
               for i in range(len(prompts))]
    out = generate_batch(lm, prompts, options, transforms=transforms, cancel=cancel)
    if cancel is not None:
        cancel.raise_if_cancelled()
    return [c.text.strip() for c in out]


def _measure(scorer: StyleScorer, texts: list[str], openings: list[str], layer: int,
             strength: float) -> Setting:
    """Everything but the perplexity (measured for the best settings only)."""
    from engine.embeddings import embed, embedder_for
    from engine.text import detect_lang, distinct_n, repeated_ngram_share, words

    scores = scorer.scores(texts)
    toks = [words(t) for t in texts]
    d2 = np.mean([distinct_n(t, 2) if len(t) > 2 else 0.0 for t in toks])
    rep = np.mean([repeated_ngram_share(t, 3) if len(t) > 3 else 1.0 for t in toks])
    name = embedder_for(detect_lang(" ".join(openings)))
    a, b = embed([t or "." for t in texts], name=name), embed(openings, name=name)
    content = float(np.mean(np.einsum("ij,ij->i", a, b)))
    se = float(scores.std(ddof=1) / np.sqrt(len(scores))) if len(scores) > 1 else 0.0
    return Setting(layer, strength, float(scores.mean()), se, float(d2), float(rep), content)


def _perplexity(lm, texts: Sequence[str]) -> float:
    """Median perplexity of the texts under the plain base model (inf when all are empty)."""
    from engine.quality.faithfulness import mean_logprobs

    lp = mean_logprobs(lm, [("", t) for t in texts if t.strip()]) if any(map(str.strip, texts)) \
        else []
    return float(np.median(np.exp(-np.array(lp)))) if lp else float("inf")


def _guard(s: Setting, base: Setting, writer_ppl: float | None = None) -> Setting:
    """`s` with allowed/reason set against the unsteered model's measures (and against the
    writer's perplexity when `s` has one and `writer_ppl` is given)."""
    reasons = []
    if s.distinct_2 < base.distinct_2 - MAX_DISTINCT_DROP:
        reasons.append(f"distinct-2 {s.distinct_2:.2f} < {base.distinct_2:.2f} - "
                       f"{MAX_DISTINCT_DROP}")
    if s.repetition_3 > base.repetition_3 + MAX_REPETITION_RISE:
        reasons.append(f"repeated 3-grams {s.repetition_3:.2f} > {base.repetition_3:.2f} + "
                       f"{MAX_REPETITION_RISE}")
    if s.content < base.content - MAX_CONTENT_DROP:
        reasons.append(f"content {s.content:.2f} < {base.content:.2f} - {MAX_CONTENT_DROP}")
    if writer_ppl is not None and s.perplexity is not None \
            and not s.perplexity <= PERPLEXITY_FACTOR * writer_ppl:
        reasons.append(f"perplexity {s.perplexity:.1f} > {PERPLEXITY_FACTOR} x "
                       f"{writer_ppl:.1f} (the writer's)")
    return replace(s, allowed=not reasons, reason="; ".join(reasons))


def _best(settings: Sequence[Setting]) -> Setting | None:
    allowed = [s for s in settings if s.allowed]
    return max(allowed, key=lambda s: s.score) if allowed else None
