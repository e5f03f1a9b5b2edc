"""The style evaluation protocol: held-out passages -> descriptions -> each condition writes.

    report = evaluate_conditions("corpora/en/austen", {"mine": my_writer}, n=20, seed=0)
    print(report.markdown())

A condition is any `(description, word_count) -> passage` callable. `run()`
builds the named ones (`base`, `exemplars`, `steering`, `lora:<adapter>`) on the
bundled model, scores them beside the real passages (the ceiling) and writes
the report, every passage and the exact configuration to a run folder. Same
seed, same numbers: passages, descriptions, sampling and bootstrap are seeded.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import asdict
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np

from engine.encoders.style import unavailable
from engine.errors import KillahError
from engine.progress import ProgressCallback, report_progress
from engine.text import GENERATION_HEADROOM, tokens_per_word, word_count
from training.chunking import detect_lang
from training.evaluation import metrics
from training.evaluation.judge import (
    AuthorSplit, JudgeConfig, author_passages, list_authors, split_works, train_judge,
)
from training.evaluation.report import Report, StyleEvalConfig
from training.evaluation.style_judge import from_judge

Condition = Callable[[str, int], str]
REAL = "real (ceiling)"

AUTHOR_NAMES = {
    "austen": "Jane Austen", "dickens": "Charles Dickens", "twain": "Mark Twain",
    "conan_doyle": "Arthur Conan Doyle", "wells": "H. G. Wells", "melville": "Herman Melville",
    "chesterton": "G. K. Chesterton", "wilde": "Oscar Wilde", "poe": "Edgar Allan Poe",
    "carroll": "Lewis Carroll", "lovecraft": "H. P. Lovecraft", "bronte_charlotte": "Charlotte Brontë",
    "conrad": "Joseph Conrad", "tolstoy": "Лев Толстой", "dostoevsky": "Фёдор Достоевский",
    "chekhov": "Антон Чехов", "gogol": "Николай Гоголь", "turgenev": "Иван Тургенев",
    "pushkin": "Александр Пушкин", "gorky": "Максим Горький",
}


def display_name(author: str) -> str:
    return AUTHOR_NAMES.get(author, author.replace("_", " ").title())


# ------------------------------------------------------------------- the protocol


def resolve_target(author: str | None, author_dir: str | None, candidates: str | None
                   ) -> tuple[str, Path, dict[str, Path]]:
    """(target name, its folder, candidate authors incl. the target: name -> folder).

    The target is `author_dir` (a folder of .txt works, or the name of a shipped
    reference author); `author` alone names one of the candidates, or a shipped
    author. The candidates are the author folders in `candidates`, or the shipped
    reference authors of the target's language (training/evaluation/reference.py).
    """
    from training.evaluation.reference import reference_authors, resolve_author_dir

    if not author and not author_dir:
        raise KillahError("name the target: --author-dir FOLDER (or a shipped reference author)")
    cands = list_authors(Path(candidates).expanduser()) if candidates else None
    if not author_dir and cands and author in cands:
        target_dir = cands[author]  # --author NAME picks NAME among the given candidates
    else:
        target_dir = resolve_author_dir(author_dir or author)
    name = author or target_dir.name
    works = sorted(target_dir.glob("*.txt"))
    if not works:
        raise KillahError(f"no .txt works in {target_dir}")
    if cands is None:
        try:
            sample = works[0].read_text("utf-8")[:20000]
        except (OSError, UnicodeDecodeError) as e:
            raise KillahError(f"cannot read {works[0]}: {e}") from e
        cands = reference_authors(detect_lang(sample))
    cands = dict(cands)
    cands[name] = target_dir
    return name, target_dir, cands


def held_out_passages(split: AuthorSplit, n: int, config: JudgeConfig, seed: int) -> list[str]:
    pool = author_passages(split, "test", config)
    if not pool:
        raise KillahError(f"{split.name}: no held-out passage of {config.min_words}-{config.max_words} words")
    rng = np.random.default_rng(seed)
    picks = sorted(rng.choice(len(pool), size=min(n, len(pool)), replace=False).tolist())
    return [pool[i][0] for i in picks]


def evaluate_conditions(
    author_dir: str | Path,
    conditions: Mapping[str, Condition],
    n: int = 40,
    seed: int = 0,
    candidates_dir: str | Path | None = None,
    author: str | None = None,
    neutralizer: str = "extractive",
    lm=None,
    judge_config: JudgeConfig | None = None,
    progress: ProgressCallback | None = None,
    notes: Mapping[str, str] | None = None,
    batch_size: int = 8,
) -> Report:
    """Score each condition's passages (and the real ones) for one target author.

    `lm` (optional) is the model perplexity is measured under; without it the
    fluency column is left out. A condition with a `many(descriptions, words)`
    method writes `batch_size` passages at a time (one decoding batch).
    """
    from training.neutralizers import describe_chunk, make_neutralizer

    name, target_dir, cands = resolve_target(author, str(author_dir), candidates_dir and str(candidates_dir))
    judge_config = judge_config or JudgeConfig(seed=seed)
    timings: dict[str, float] = {}

    tic = time.perf_counter()
    report_progress(progress, "judge", message=f"judge over {len(cands)} authors")
    judge = train_judge(cands, judge_config, progress=progress)
    style_judge = None
    missing = unavailable()
    if missing:  # the rows go without the second judge's column
        report_progress(progress, "judge", message=f"no style-encoder judge: {missing}")
    else:
        report_progress(progress, "judge", message="style judge (style-encoder author centroids)")
        style_judge = from_judge(judge)
    timings["judge"] = time.perf_counter() - tic

    split = split_works(target_dir, judge_config)
    originals = held_out_passages(split, n, judge_config, seed)
    lang = detect_lang(originals[0])
    tic = time.perf_counter()
    neut = make_neutralizer(neutralizer)
    descriptions = []
    for i, text in enumerate(originals):
        report_progress(progress, "describe", i, len(originals), "passage",
                        f"describing passage {i + 1}/{len(originals)}")
        descriptions.append(describe_chunk(text, neut, lang))
    timings["describe"] = time.perf_counter() - tic
    desc_texts = [d.text for d in descriptions]
    asked = [word_count(t) for t in originals]

    outputs: dict[str, list[str]] = {REAL: list(originals)}
    for cond, write in conditions.items():
        tic = time.perf_counter()
        outs: list[str] = []
        many = getattr(write, "many", None)
        step = batch_size if many is not None else 1
        for i in range(0, len(desc_texts), step):
            report_progress(progress, "write", i, len(originals), "passage",
                            f"{cond}: passages {i + 1}-{min(i + step, len(desc_texts))}/{len(originals)}",
                            condition=cond)
            if many is not None:
                outs.extend(many(desc_texts[i:i + step], asked[i:i + step]))
            else:
                outs.append(write(desc_texts[i], asked[i]))
        outputs[cond] = outs
        timings[cond] = time.perf_counter() - tic

    rows: dict[str, dict[str, metrics.Estimate]] = {}
    per_passage: dict[str, dict[str, np.ndarray]] = {}
    for cond, texts in outputs.items():
        report_progress(progress, "score", message=f"scoring {cond}", condition=cond)
        values = metrics.passage_metrics(
            texts, judge=judge, style_judge=style_judge, target=name, descriptions=desc_texts,
            originals=None if cond == REAL else originals,
            asked_words=None if cond == REAL else asked, lm=lm,
            generic=lang == "en", lang=lang,
        )
        per_passage[cond] = values
        rows[cond] = metrics.summarize(values, seed=seed)

    samples = []
    for i, (orig, d) in enumerate(zip(originals, descriptions)):
        row = {"i": i, "original": orig, "description": d.text, "description_backend": d.backend,
               "outputs": {c: outputs[c][i] for c in conditions}}
        row["metrics"] = {c: {m: _num(v[i]) for m, v in per_passage[c].items()} for c in outputs}
        samples.append(row)
    return Report(name, str(target_dir), judge.authors, judge.key, len(originals), rows,
                  dict(notes or {}), samples, timings)


def _num(x) -> float | None:
    x = float(x)
    return None if math.isnan(x) else round(x, 6)


# ------------------------------------------------------------------- named conditions


def _passage_seed(seed: int, description: str) -> int:
    return int(hashlib.sha256(f"{seed}:{description}".encode()).hexdigest()[:8], 16)


class Writer:
    """A condition that writes with engine.generate from the restyle prompt.

    Called with one description it generates one passage; `many()` writes a
    list of them as one decoding batch (engine.generate.generate_batch), the
    fast path on a bandwidth-bound machine. The two paths sample differently
    (one random stream per batch), so a run uses one or the other throughout.
    """

    def __init__(self, lm, author_name: str, options, lang: str, transforms: Sequence = (),
                 exemplars: Callable[[str], list[str]] | None = None, prompt_fn=None):
        self.lm, self.author_name, self.options = lm, author_name, options
        self.transforms, self.exemplars, self.prompt_fn = tuple(transforms), exemplars, prompt_fn
        self.factor = tokens_per_word(lang) * GENERATION_HEADROOM

    def prompt(self, description: str, words: int):
        from engine import tasks

        ex = self.exemplars(description) if self.exemplars else ()
        if self.prompt_fn is not None:
            return self.prompt_fn(description, words, ex)
        return tasks.restyle_prompt(description, self.author_name, words, exemplars=ex)

    def sampling(self, description: str, words: int):
        return self.options.replace(max_tokens=max(16, int(words * self.factor)),
                                    seed=_passage_seed(self.options.seed or 0, description))

    def __call__(self, description: str, words: int) -> str:
        from engine.generate import generate

        return generate(self.lm, self.prompt(description, words), self.sampling(description, words),
                        transforms=self.transforms).text.strip()

    def many(self, descriptions: Sequence[str], words: Sequence[int]) -> list[str]:
        from engine.generate import generate_batch

        prompts = [self.prompt(d, w) for d, w in zip(descriptions, words)]
        options = [self.sampling(d, w) for d, w in zip(descriptions, words)]
        return [c.text.strip() for c in generate_batch(self.lm, prompts, options,
                                                       transforms=self.transforms)]


def _persona_conditioning(lm, author: str, split: AuthorSplit, config: StyleEvalConfig, run_dir: Path,
                          cands: Mapping[str, Path]):
    """A persona built from a sample of the target's judge-training works (never its held-out ones).

    With `steering_neutral="index"` the other candidate authors' training passages
    are indexed beside it (not part of the persona) as the steering vector's
    neutral reference, as in research/style-baselines.md.
    """
    from engine import paths
    from engine.atomic import write_text
    from engine.index import IndexStore, sync
    from engine.persona import PersonaConditioning, PersonaStrengths, build_persona_from_folder

    jc = config.judge_config()
    passages = author_passages(split, "train", jc, limit=300, seed=config.seed)
    text = "\n\n".join(p for p, _w in passages) + "\n"
    # the same passages make the same persona in every run: its steering vectors and
    # calibration come from the index's cache the second time
    source = paths.runs_dir() / "eval-personas" / \
        f"{author}-{hashlib.sha256(text.encode()).hexdigest()[:12]}"
    if not (source / f"{author}.txt").is_file():
        write_text(source / f"{author}.txt", text)
    if config.steering_neutral == "index":
        others = run_dir / "neutral_source"
        for other, folder in sorted(cands.items()):
            if other == author:
                continue
            texts = author_passages(split_works(folder, jc), "train", jc, limit=40, seed=config.seed)
            write_text(others / f"{other}.txt", "\n\n".join(p for p, _w in texts) + "\n")
        store = IndexStore()
        sync(store, folders=[store.add_folder(others)], embed=False)
    name = f"eval-{author}-{hashlib.sha256(str(source).encode()).hexdigest()[:8]}"
    build_persona_from_folder(source, name=name)
    return PersonaConditioning.open(
        name, lm, PersonaStrengths(exemplars=3, steering=0.0, neutral=config.steering_neutral))


def _calibrated(persona, progress=None) -> str:
    """Calibrate the persona's steering (engine.persona.calibrate) on its own held-out
    paragraphs; a note for the report."""
    from engine.persona.steering import DEFAULT_STRENGTH

    tic = time.perf_counter()
    cal = persona.with_strengths(steering=DEFAULT_STRENGTH).calibrate(progress=progress)
    return f"calibrated in {time.perf_counter() - tic:.0f} s: {cal.describe()}"


PERSONA_CONDITIONS = ("exemplars", "steering", "both")


def _persona_condition(cond: str) -> tuple[str, float | None] | None:
    """'steering' / 'both' / 'exemplars', optionally ':<strength>' -> (kind, strength)."""
    kind, _, strength = cond.partition(":")
    if kind not in PERSONA_CONDITIONS:
        return None
    if not strength:
        return kind, None
    try:
        return kind, float(strength)
    except ValueError:
        raise KillahError(f"{cond}: the steering strength after ':' must be a number") from None


def check_conditions(names: Sequence[str]) -> None:
    """Refuse, before any model or data is loaded, condition names that cannot be built:
    unknown names, bad strengths, and lora:<X> whose adapter folder is missing or malformed
    (every problem listed in one KillahError)."""
    from engine import paths
    from engine.adapter_files import read_folder

    problems = []
    for cond in names:
        if cond == "base":
            continue
        if cond.startswith("lora:"):
            spec = cond[5:]
            path = Path(spec).expanduser()
            if not path.is_dir():
                path = paths.adapters_dir() / spec
            if not spec or not path.is_dir():
                problems.append(f"{cond}: no adapter folder {spec!r} (nor one of that name in "
                                f"{paths.adapters_dir()})")
            else:
                problems += [f"{cond}: {p}" for p in read_folder(path).problems]
            continue
        try:
            if _persona_condition(cond) is None:
                problems.append(f"{cond}: unknown condition (use base, exemplars, steering[:S], "
                                "both[:S], lora:<adapter>)")
        except KillahError as e:
            problems.append(str(e))
    if problems:
        raise KillahError(f"cannot evaluate: {'; '.join(problems)}")


def build_conditions(names: Sequence[str], lm, author: str, split: AuthorSplit,
                     config: StyleEvalConfig, run_dir: Path, lang: str,
                     cands: Mapping[str, Path] | None = None,
                     progress: ProgressCallback | None = None,
                     ) -> tuple[dict[str, Condition], dict[str, str]]:
    """Named conditions that can be built now; the others come back as notes saying why not."""
    from engine.generate import SamplingOptions

    options = SamplingOptions(temperature=config.temperature, min_p=config.min_p,
                              repetition_penalty=config.repetition_penalty, seed=config.seed)
    author_name = display_name(author)
    conds: dict[str, Condition] = {}
    notes: dict[str, str] = {}
    persona = None  # built once, shared by exemplars, steering and both
    for cond in names:
        try:
            if cond == "base":
                conds[cond] = Writer(lm, author_name, options, lang)
            elif (spec := _persona_condition(cond)) is not None:
                from engine.persona.steering import DEFAULT_STRENGTH

                kind, strength = spec
                if persona is None:
                    persona = _persona_conditioning(lm, author, split, config, run_dir, cands or {})
                    if config.calibrate and any(_persona_condition(c)[0] != "exemplars"
                                                for c in names if _persona_condition(c)):
                        notes["calibration"] = _calibrated(persona, progress)
                # an explicit strength (steering:S, --steering-strength) is absolute, at the
                # default layer; otherwise the persona's calibrated setting
                explicit = strength is not None or config.steering_strength is not None
                if strength is None:
                    strength = (DEFAULT_STRENGTH if config.steering_strength is None
                                else config.steering_strength)
                steer = 0.0 if kind == "exemplars" else strength
                shots = 0 if kind == "steering" else 3
                conditioned = persona.with_strengths(
                    exemplars=shots, steering=steer,
                    calibrated=config.calibrate and not explicit)
                conds[cond] = Writer(lm, author_name, options, lang, transforms=conditioned.transforms(),
                                     exemplars=conditioned.exemplars if shots else None)
            elif cond.startswith("lora:"):
                conds[cond] = _lora_writer(cond[5:], lm, author_name, options, lang)
            else:
                notes[cond] = ("skipped: unknown condition (use base, exemplars, steering[:S], "
                               "both[:S], lora:<adapter>)")
        except KillahError as e:
            notes[cond] = f"skipped: {e}"
        except Exception as e:  # noqa: BLE001 - one broken condition must not sink the others
            notes[cond] = f"skipped: {type(e).__name__}: {e}"
    return conds, notes


def _lora_writer(spec: str, lm, author_name: str, options, lang: str) -> Condition:
    from engine import paths
    from engine.adapters import AdapterStack, load_adapter

    path = Path(spec).expanduser()
    if not path.is_dir():
        path = paths.adapters_dir() / spec
    adapter = load_adapter(path)
    stack = AdapterStack.for_model(lm, [(adapter, adapter.lora_scale)])

    def prompt_fn(description: str, words: int, exemplars):
        return adapter.restyle_prompt(description, words, exemplars, key=description)

    return Writer(lm, adapter.author or author_name, options, lang, transforms=(stack,),
                       prompt_fn=prompt_fn)


def run(config: StyleEvalConfig, lm=None, progress: ProgressCallback | None = None) -> Report:
    """The whole protocol for named conditions; the report (its run folder in `run_dir`).

    `lm` is the loaded base model to use (default: load `config.model`); the
    conditions apply their adapters and steering to it and take them off again.
    """
    from engine import paths
    from engine.atomic import write_json, write_text
    from engine.models import load_model

    check_conditions(config.conditions)
    name, target_dir, cands = resolve_target(config.author, config.author_dir, config.candidates)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    run_dir = paths.runs_dir() / f"eval-style-{name}-{stamp}-s{config.seed}"
    run_dir.mkdir(parents=True, exist_ok=True)
    split = split_works(target_dir, config.judge_config())
    lang = detect_lang(split.test[0].read_text("utf-8")[:20000])
    if lm is None:
        report_progress(progress, "load", message=f"loading model {config.model or 'bundled'}")
        lm = load_model(config.model)
    conds, notes = build_conditions(config.conditions, lm, name, split, config, run_dir, lang, cands,
                                    progress=progress)
    cfg = asdict(config)
    cfg.update({"target": name, "target_dir": str(target_dir), "model_id": lm.model_id,
                "model_fingerprint": lm.fingerprint,
                "held_out_works": [w.name for w in split.test],
                "judge": asdict(config.judge_config())})
    write_json(run_dir / "config.json", cfg)
    report = evaluate_conditions(
        target_dir, conds, n=config.n, seed=config.seed, candidates_dir=config.candidates,
        author=name, neutralizer=config.neutralizer, lm=lm if config.perplexity else None,
        judge_config=config.judge_config(), progress=progress, notes=notes,
        batch_size=config.batch_size,
    )
    if config.candidates is None:
        report.candidates = sorted(cands)
    report.run_dir = str(run_dir)
    write_json(run_dir / "report.json", report.to_dict())
    write_text(run_dir / "report.md", report.markdown() + "\n")
    write_text(run_dir / "samples.jsonl",
               "".join(json.dumps(s, ensure_ascii=False) + "\n" for s in report.samples))
    return report
