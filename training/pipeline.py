"""The whole style-LoRA pipeline as one frozen config and one call.

    cfg = PipelineConfig(files=("emma.txt",), author="Jane Austen",
                         fit=FitConfig(iters=200), evaluate=EvaluateConfig(harness=False))
    result = run(cfg, progress=print, cancel=token)

`PipelineConfig` is made of the six stage configs as sections; the pipeline sets
the fields that join the stages (file paths in one work folder, the author, the
base model, the adapter name: `WIRED`) and leaves every other option to the
sections. `killah train all` is generated from it (`build_parser`): the files are
positional, the top-level fields and every section's options are flags (a name
that two sections share gets the section as a prefix: --fit-seed), and a YAML
file (-c) has the top-level keys plus one mapping per section.

`run` keeps everything in the work folder and resumes when called again: a
finished stage is not redone, neutralization continues from its JSONL
checkpoint, and training from its last checkpoint.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

from engine.errors import KillahError
from engine.progress import CancelToken, ProgressCallback
from training.curate import CurateConfig
from training.dataset import DatasetConfig
from training.evaluate import EvaluateConfig
from training.fitplan import FitConfig
from training.neutralize import NeutralizeConfig
from training.register import RegisterConfig

SECTIONS: dict[str, type] = {
    "curate": CurateConfig, "neutralize": NeutralizeConfig, "dataset": DatasetConfig,
    "fit": FitConfig, "evaluate": EvaluateConfig, "register": RegisterConfig,
}
STAGES = tuple(SECTIONS)

# Fields the pipeline sets itself, per stage: they join one stage's output to the next.
WIRED: dict[str, tuple[str, ...]] = {
    "curate": ("files", "author", "out"),
    "neutralize": ("corpus", "out"),
    "dataset": ("neutralized", "out", "author"),
    "fit": ("data", "model", "run_dir"),
    "evaluate": ("run_dir", "data", "model"),
    "register": ("run_dir", "name", "author", "out"),
}


@dataclass(frozen=True)
class PipelineConfig:
    files: tuple[str, ...] = field(default=(), metadata={
        "help": "the author's texts (.txt .md .docx .odt .rtf .pdf .epub .html)",
        "positional": True})
    author: str = field(default="", metadata={
        "help": "the author's name (as it appears in prompts)"})
    out: str | None = field(default=None, metadata={
        "help": "work folder (default: runs/<author>)"})
    model: str | None = field(default=None, metadata={
        "help": "base model (default: the bundled Gemma 3 270M)"})
    name: str | None = field(default=None, metadata={
        "help": "adapter name (default: from the author)"})
    curate: CurateConfig = field(default_factory=CurateConfig)
    neutralize: NeutralizeConfig = field(default_factory=NeutralizeConfig)
    dataset: DatasetConfig = field(default_factory=DatasetConfig)
    fit: FitConfig = field(default_factory=FitConfig)
    evaluate: EvaluateConfig = field(default_factory=EvaluateConfig)
    register: RegisterConfig = field(default_factory=RegisterConfig)

    def work_dir(self) -> Path:
        from engine import paths
        from training.curate import slug

        return Path(self.out).expanduser() if self.out else paths.runs_dir() / slug(self.author)

    def stage_configs(self) -> dict[str, object]:
        """Each stage's config with the wired fields filled in (paths inside the work folder)."""
        work = self.work_dir()
        files = tuple(str(Path(f).expanduser().resolve()) for f in self.files)
        run_dir = str(work / "fit")
        return {
            "curate": replace(self.curate, files=files, author=self.author,
                              out=str(work / "corpus.txt")),
            "neutralize": replace(self.neutralize, corpus=str(work / "corpus.txt"),
                                  out=str(work / "neutralized.jsonl")),
            "dataset": replace(self.dataset, neutralized=str(work / "neutralized.jsonl"),
                               out=str(work / "data"), author=self.author),
            "fit": replace(self.fit, data=str(work / "data"), model=self.model, run_dir=run_dir),
            "evaluate": replace(self.evaluate, run_dir=run_dir, model=self.model),
            "register": replace(self.register, run_dir=run_dir, name=self.name, author=self.author),
        }


# -- the command line ---------------------------------------------------------------------------


def option_names() -> dict[str, dict[str, str]]:
    """section -> {field: option name}: the field's own name unless two sections share it."""
    free = {s: [f.name for f in dataclasses.fields(SECTIONS[s]) if f.name not in WIRED[s]]
            for s in STAGES}
    top = {f.name for f in dataclasses.fields(PipelineConfig) if f.name not in STAGES}
    counts = Counter(name for names in free.values() for name in names)
    return {s: {n: (f"{s}_{n}" if counts[n] > 1 or n in top else n) for n in names}
            for s, names in free.items()}


def build_parser() -> argparse.ArgumentParser:
    from engine.clikit import add_output_options
    from training.config import add_config_option, add_options

    parser = argparse.ArgumentParser(
        prog="killah train all", description="Curate, neutralize, build the dataset, fine-tune, "
        "evaluate and register a style LoRA, resuming when re-run.")
    add_options(parser, PipelineConfig)
    names = option_names()
    for section in STAGES:
        group = parser.add_argument_group(f"{section} options")
        add_options(group, SECTIONS[section], section=section, flags=names[section],
                    skip=WIRED[section])
    add_config_option(parser)
    add_output_options(parser)
    return parser


def from_args(args: argparse.Namespace) -> PipelineConfig:
    from training.config import from_args as resolve_args

    return resolve_args(PipelineConfig, args)


# -- the run ------------------------------------------------------------------------------------


def run(cfg: PipelineConfig, progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None) -> dict:
    """Every stage in order, resuming; {"status": "done", "adapter", ...} or "cancelled"."""
    from training import curate, dataset, evaluate, fit, neutralize, register

    if not cfg.files:
        raise KillahError("the pipeline needs the author's files")
    if not cfg.author.strip():
        raise KillahError("the pipeline needs --author (whose writing is it?)")
    stages = cfg.stage_configs()
    out = cfg.work_dir()
    out.mkdir(parents=True, exist_ok=True)
    corpus = Path(stages["curate"].out)
    report_file = corpus.with_name("curation_report.json")
    previous = json.loads(report_file.read_text("utf-8")) if report_file.is_file() else {}
    if not (corpus.is_file() and previous.get("files") == list(stages["curate"].files)
            and previous.get("target_tokens") == stages["curate"].target_tokens):
        curate.run(stages["curate"], progress=progress)
    neutral = neutralize.run(stages["neutralize"], progress=progress, cancel=cancel)
    if neutral["status"] != "done":
        return {"status": "cancelled", "stage": "neutralize", "work_dir": str(out)}
    data = dataset.run(stages["dataset"], progress=progress)
    summary = fit.run(stages["fit"], progress=progress, cancel=cancel)
    if summary["status"] != "done":
        return {"status": "cancelled", "stage": "fit", "step": summary["step"],
                "work_dir": str(out)}
    run_dir = Path(summary["run_dir"])
    report_path = run_dir / "report.json"
    fitted_at = (run_dir / "fit.json").stat().st_mtime
    if report_path.is_file() and report_path.stat().st_mtime >= fitted_at:
        report = evaluate.EvaluationReport.from_dict(json.loads(report_path.read_text("utf-8")))
    else:
        report = evaluate.run(stages["evaluate"], progress=progress)
    reg = register.run(stages["register"], progress=progress)
    if not reg.get("adapter"):
        raise KillahError("register produced no adapter")
    return {"status": "done", "adapter": reg["adapter"], "work_dir": str(out),
            "report": report.to_dict(), "curation": str(report_file), "dataset": data,
            "fit": summary}
