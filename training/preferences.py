"""`killah train preferences`: learn from the writer's own choices (engine.feedback).

    killah train preferences [--adapter NAME|FOLDER] [--name NAME] [--iters 40] [--json]

1. The preference pairs the app recorded (Settings › Learning), oldest first. The
   latest `heldout` share of the events that gave pairs is held out: later choices of
   the same writer, never trained on (the pairs of one event stay on one side).
2. Before: on the held-out pairs, how often the adapter being refined (`--adapter`, or
   the active style's adapter in settings.json, or none: the base model) gives the
   writer's choice the higher log-probability per token, and how often the WQRM
   scores it higher.
3. DPO (training.tasks.dpo) from that adapter (a new LoRA when there is none), on the
   training pairs, in the prompts the app builds (engine.tasks, with the document's
   memory); the DPO reference is the adapter it starts from.
4. The WQRM recalibrated to the writer (engine.calibration): their persona profile and
   their weights, fitted on the training pairs; kept in KILLAH_HOME/preferences/.
5. After: the same numbers for the new adapter and the recalibrated WQRM, with 95%
   bootstrap intervals; the adapter is registered as NAME in the adapters folder
   (the one refined is never overwritten).
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.errors import KillahError
from engine.progress import CancelToken, ProgressCallback, report_progress

LORA_LAYERS = 8  # a new adapter: LoRA on the last 8 decoder layers
LORA = {"rank": 8, "scale": 10.0, "dropout": 0.0,
        "keys": ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
                 "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"]}


@dataclass(frozen=True)
class PreferencesConfig:
    adapter: str | None = field(default=None, metadata={
        "help": "the adapter to refine: a folder or a name in the adapters folder (default: the "
                "active style's, else a new one)"})
    name: str | None = field(default=None, metadata={
        "help": "the new adapter's name (default: the refined one's + '-prefs')"})
    feedback: str | None = field(default=None, metadata={
        "help": "the feedback database (default: the app's feedback.sqlite)"})
    model: str | None = field(default=None, metadata={"help": "base model (default: bundled)"})
    min_pairs: int = field(default=40, metadata={"help": "refuse with fewer pairs than this"})
    heldout: float = field(default=0.2, metadata={
        "help": "share of the latest events held out for the before/after report"})
    iters: int = field(default=40, metadata={"help": "DPO steps"})
    beta: float = field(default=0.1, metadata={"help": "DPO beta"})
    learning_rate: float = field(default=1e-4, metadata={"help": "DPO learning rate"})
    batch_size: int = field(default=4, metadata={"help": "pairs per DPO step"})
    context_chars: int = field(default=400, metadata={
        "help": "characters of a continuation's context kept in its prompt"})
    run_dir: str | None = field(default=None, metadata={
        "help": "work folder (default: runs/preferences-NAME); re-running resumes DPO"})
    seed: int = field(default=0, metadata={"help": "random seed"})

    def __post_init__(self) -> None:
        if not 0 < self.heldout < 1:
            raise KillahError(f"--heldout must be between 0 and 1, got {self.heldout}")
        if self.min_pairs < 2 or self.iters < 1 or self.batch_size < 1:
            raise KillahError("--min-pairs (>= 2), --iters and --batch-size (>= 1) are too small")


def split(pairs: list, heldout: float) -> tuple[list, list]:
    """(train, held out): the pairs of the latest `heldout` share of events are held out."""
    events = sorted({(p.at, p.event) for p in pairs})
    n_held = max(1, math.ceil(len(events) * heldout))
    held_events = set(events[-n_held:])
    train = [p for p in pairs if (p.at, p.event) not in held_events]
    held = [p for p in pairs if (p.at, p.event) in held_events]
    return train, held


def clip_context(text: str, chars: int) -> str:
    """The last `chars` characters of a context, from a word start."""
    if len(text) <= chars:
        return text
    tail = text[-chars:]
    if text[-chars - 1].isspace():
        return tail
    cut = tail.find(" ")
    return tail[cut + 1:] if 0 <= cut < len(tail) - 1 else tail


def dpo_rows(pairs: list, settings, context_chars: int) -> list[dict]:
    from dataclasses import replace

    rows = []
    for p in pairs:
        if p.mode == "continue":
            p = replace(p, source=clip_context(p.source, context_chars))
        rows.append(p.dpo_row(settings))
    return rows


def active_adapter(cfg: PreferencesConfig) -> Path | None:
    """--adapter, else the style adapter of the app's active style (settings.json)."""
    from engine import paths
    from engine.style import AdapterSpec

    if cfg.adapter:
        path = Path(cfg.adapter).expanduser()
        path = path if path.is_dir() else paths.adapters_dir() / cfg.adapter
        if not (path / "adapter_config.json").is_file():
            raise KillahError(f"adapter {cfg.adapter!r}: no adapter folder of that name")
        return path
    try:
        data = json.loads(paths.settings_path().read_text(encoding="utf-8"))
        specs = [AdapterSpec.from_dict(a) for a in data.get("adapters") or []
                 if isinstance(a, dict)]
    except (OSError, ValueError, AttributeError):
        return None
    style = [s for s in specs if not s.is_task]
    return Path(style[0].path) if style and Path(style[0].path).is_dir() else None


def prompt_settings(adapter: Path | None):
    from engine import tasks

    meta = _metadata(adapter)
    return tasks.PromptSettings(author=str(meta.get("author") or ""),
                                task_frame=str(meta.get("prompt_format") or ""))


def _metadata(adapter: Path | None) -> dict:
    try:
        meta = json.loads((adapter / "metadata.json").read_text(encoding="utf-8"))
        return meta if isinstance(meta, dict) else {}
    except (OSError, ValueError, TypeError):
        return {}


def new_adapter(lm, folder: Path, seed: int) -> Path:
    """A LoRA adapter that changes nothing yet (B = 0): DPO's start when none is active."""
    import mlx.core as mx
    from mlx.utils import tree_flatten
    from mlx_lm.tuner.utils import linear_to_lora_layers, remove_lora_layers

    from engine import atomic

    mx.random.seed(seed)
    model = lm.model
    model.freeze()
    linear_to_lora_layers(model, LORA_LAYERS, LORA)
    try:
        weights = dict(tree_flatten(model.trainable_parameters()))
        folder.mkdir(parents=True, exist_ok=True)
        mx.save_safetensors(str(folder / "adapters.safetensors"), weights)
    finally:
        remove_lora_layers(model)
    atomic.write_json(folder / "adapter_config.json", {
        "fine_tune_type": "lora", "num_layers": LORA_LAYERS, "lora_parameters": LORA})
    return folder


def pair_logps(lm, adapter: Path | None, rows: list[dict]) -> np.ndarray:
    """Per pair: [log p(chosen), log p(rejected), chosen tokens, rejected tokens] under the
    model with `adapter` (None: the base model)."""
    import mlx.core as mx
    from mlx_lm.tuner.utils import linear_to_lora_layers, remove_lora_layers

    from training.tasks.dpo import batch_arrays, encode_pairs, sequence_logps

    model = lm.model
    if adapter is not None:
        config = json.loads((adapter / "adapter_config.json").read_text(encoding="utf-8"))
        layers = config.get("num_layers", -1)
        model.freeze()
        linear_to_lora_layers(model, layers if layers > 0 else len(model.layers),
                              config["lora_parameters"])
        model.load_weights(list(mx.load(str(adapter / "adapters.safetensors")).items()),
                           strict=False)
    out = []
    try:
        model.eval()
        for c, cs, r, rs in encode_pairs(lm.tokenizer, rows):
            lc = sequence_logps(model, *batch_arrays([(c, cs)]))
            lr = sequence_logps(model, *batch_arrays([(r, rs)]))
            mx.eval(lc, lr)
            out.append([float(lc[0].item()), float(lr[0].item()), len(c) - cs, len(r) - rs])
    finally:
        if adapter is not None:
            remove_lora_layers(model)
    return np.asarray(out, float).reshape(-1, 4)


def bootstrap(values, n: int = 2000, seed: int = 0) -> dict:
    v = np.asarray(values, float)
    if not len(v):
        return {"mean": None, "low": None, "high": None, "n": 0}
    idx = np.random.default_rng(seed).integers(0, len(v), (n, len(v)))
    means = v[idx].mean(1)
    return {"mean": round(float(v.mean()), 4), "low": round(float(np.percentile(means, 2.5)), 4),
            "high": round(float(np.percentile(means, 97.5)), 4), "n": int(len(v))}


def lm_report(lp: np.ndarray) -> dict:
    per_token = lp[:, 0] / np.maximum(lp[:, 2], 1) > lp[:, 1] / np.maximum(lp[:, 3], 1)
    return {"prefers_writer": bootstrap(per_token.astype(float)),
            "margin": bootstrap(lp[:, 0] - lp[:, 1])}


def wqrm_report(held: list, calibration=None) -> dict:
    chosen = [p.chosen.strip() for p in held]
    rejected = [p.rejected.strip() for p in held]
    if calibration is None:
        from engine.quality.composite import score_texts

        sc = [q.score for q in score_texts(chosen)]
        sr = [q.score for q in score_texts(rejected)]
    else:
        sc, sr = calibration.score_texts(chosen), calibration.score_texts(rejected)
    return {"prefers_writer": bootstrap([float(a > b) for a, b in zip(sc, sr)])}


def run(cfg: PreferencesConfig, progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None) -> dict:
    from engine import calibration, paths
    from engine.feedback import FeedbackStore
    from engine.models import load_model
    from training.tasks import dpo

    say = lambda stage, message, **kw: report_progress(progress, stage, message=message, **kw)  # noqa: E731
    with FeedbackStore(cfg.feedback) as store:
        pairs = store.pairs()
    if len(pairs) < cfg.min_pairs:
        raise KillahError(f"only {len(pairs)} preference pairs are recorded; at least "
                          f"{cfg.min_pairs} are needed (write on with Settings › Learning on)")
    train, held = split(pairs, cfg.heldout)
    base = active_adapter(cfg)
    name = cfg.name or (f"{base.name}-prefs" if base else "my-preferences")
    run_dir = Path(cfg.run_dir) if cfg.run_dir else paths.runs_dir() / f"preferences-{name}"
    run_dir.mkdir(parents=True, exist_ok=True)
    say("load", "loading the model")
    lm = load_model(cfg.model)
    start = base or new_adapter(lm, run_dir / "start", cfg.seed)
    settings = prompt_settings(base)
    train_rows = dpo_rows(train, settings, cfg.context_chars)
    held_rows = dpo_rows(held, settings, cfg.context_chars)
    (run_dir / "pairs.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in train_rows), encoding="utf-8")
    say("evaluate", f"before: {len(held)} held-out pairs")
    before = {"model": lm_report(pair_logps(lm, base, held_rows)), "wqrm": wqrm_report(held)}
    if cancel is not None:
        cancel.raise_if_cancelled()
    say("fit", f"DPO on {len(train)} pairs, {cfg.iters} steps")
    # dpo's own defaults for everything this config does not set; no second split of the
    # pairs (the held-out ones above are the measure), so the last step is the adapter
    args = dpo.build_parser().parse_args(["--pairs", str(run_dir / "pairs.jsonl"), "--adapter",
                                          str(start), "--run-dir", str(run_dir / "dpo")])
    vars(args).update(model=cfg.model, beta=cfg.beta, learning_rate=cfg.learning_rate,
                      batch_size=cfg.batch_size, iters=cfg.iters, seed=cfg.seed, valid_share=0.0)
    fit = dpo.run(args, progress=progress, cancel=cancel)
    say("calibrate", "recalibrating the WQRM to the writer")
    cal = calibration.fit([p.chosen.strip() for p in train], [p.rejected.strip() for p in train])
    say("evaluate", "after")
    after = {"model": lm_report(pair_logps(lm, run_dir / "dpo", held_rows)),
             "wqrm": wqrm_report(held, cal)}
    report = {"pairs": len(pairs), "train_pairs": len(train), "heldout_pairs": len(held),
              "refined": str(base) if base else None, "before": before, "after": after,
              "dpo": {k: fit.get(k) for k in ("step", "beta", "learning_rate", "batch_size",
                                               "wall_seconds", "last")}}
    adapter = register(lm, run_dir / "dpo", name, base, report)
    report["adapter"] = str(adapter)
    report["calibration"] = str(cal.save())
    (run_dir / "report.json").write_text(json.dumps(report, indent=1), encoding="utf-8")
    return report


def register(lm, fitted: Path, name: str, base: Path | None, report: dict) -> Path:
    """The fitted adapter as adapters/NAME, with its metadata (staged, then renamed in)."""
    import time

    from engine import paths
    from engine.adapters import METADATA_FORMAT, base_identity
    from engine.atomic import staging_dir

    meta = {k: v for k, v in _metadata(base).items() if k not in ("name", "created")}
    meta.update({"format": METADATA_FORMAT, "name": name,
                 "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                 "base_model": meta.get("base_model") or base_identity(lm),
                 "preferences": report})
    target = paths.adapters_dir() / name
    if target.exists():
        shutil.rmtree(target)  # an earlier run of this command; never the refined adapter
    with staging_dir(target) as stage:
        for f in ("adapters.safetensors", "adapter_config.json"):
            shutil.copyfile(fitted / f, stage / f)
        (stage / "metadata.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
    return target


def human(r: dict) -> str:
    def fmt(m: dict) -> str:
        return f"{m['mean']:.2f} [{m['low']:.2f}, {m['high']:.2f}]"

    b, a = r["before"], r["after"]
    return "\n".join([
        f"{r['pairs']} pairs: {r['train_pairs']} trained on, {r['heldout_pairs']} held out "
        "(the latest choices)",
        "held-out pairs where the writer's choice is preferred    before              after",
        f"  the model (log-prob per token)      {fmt(b['model']['prefers_writer']):>22}  "
        f"{fmt(a['model']['prefers_writer']):>22}",
        f"  the WQRM (score)                    {fmt(b['wqrm']['prefers_writer']):>22}  "
        f"{fmt(a['wqrm']['prefers_writer']):>22}",
        f"adapter: {r['adapter']}", f"WQRM calibration: {r['calibration']}"])


def build_parser() -> argparse.ArgumentParser:
    from training.config import stage_parser

    return stage_parser("killah train preferences", __doc__.split("\n\n")[0],
                        PreferencesConfig)


def main(argv: list[str] | None = None) -> int:
    from engine.clikit import emit
    from training.config import from_args
    from training.progress import CliProgress

    args = build_parser().parse_args(argv)
    cfg = from_args(PreferencesConfig, args)
    if cfg.name and (cfg.name == Path(cfg.adapter or "").name):
        raise KillahError("--name must differ from the adapter being refined")
    with CliProgress() as progress:
        report = run(cfg, progress=progress)
    emit(args, report, human=human)
    return 0
