"""`killah train STAGE ...`: each stage of the style-LoRA pipeline, or all of them.

    killah train curate FILES... --author NAME
    killah train neutralize --corpus corpus.txt [--neutralizer extractive|local|endpoint]
    killah train dataset --neutralized neutralized.jsonl
    killah train fit --data DATA_DIR [--iters N]
    killah train evaluate --run-dir RUN
    killah train register --run-dir RUN
    killah train all --author NAME FILES... [--neutralizer ...] [--iters N] [--out DIR] [--json]
    killah train preferences [--adapter NAME] [--name NAME] [--iters N] [--json]

Every parser is generated from the stage's config dataclass (training.config);
`all` from training.pipeline.PipelineConfig, which keeps everything in one work
folder and resumes when re-run.
"""

from __future__ import annotations

import importlib
import sys

STAGES = {
    "curate": "training.curate",
    "neutralize": "training.neutralize",
    "dataset": "training.dataset",
    "fit": "training.fit",
    "evaluate": "training.evaluate",
    "register": "training.register",
    "preferences": "training.preferences",
}


def build_parser(stage: str):
    """The parser of `killah train STAGE` ("all" included)."""
    if stage == "all":
        from training.pipeline import build_parser as all_parser

        return all_parser()
    return importlib.import_module(STAGES[stage]).build_parser()


def all_main(argv: list[str]) -> int:
    from engine.clikit import emit
    from training import pipeline
    from training.progress import CliProgress

    args = pipeline.build_parser().parse_args(argv)
    cfg = pipeline.from_args(args)
    with CliProgress() as progress:
        result = pipeline.run(cfg, progress=progress)
    emit(args, result, human=_human_all)
    return 0 if result["status"] == "done" else 1


def _human_all(r: dict) -> str:
    if r["status"] != "done":
        return f"{r['status']} during {r['stage']} (work folder {r['work_dir']}); re-run to resume"
    from training.evaluate import EvaluationReport, human

    return f"adapter: {r['adapter']}\n{human(EvaluationReport.from_dict(r['report']))}"


def usage() -> str:
    lines = ["usage: killah train STAGE [options]", "", "stages:"]
    lines += [f"  {name}" for name in [*STAGES, "all"]]
    lines += ["", "Run `killah train STAGE --help` for a stage's options."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(usage())
        return 0
    stage, rest = argv[0], argv[1:]
    if stage == "all":
        return all_main(rest)
    if stage not in STAGES:
        print(f"killah train: unknown stage {stage!r}\n\n{usage()}", file=sys.stderr)
        return 2
    return int(importlib.import_module(STAGES[stage]).main(rest) or 0)


if __name__ == "__main__":
    from engine.runtime import ensure_openblas

    ensure_openblas()
    sys.exit(main())
