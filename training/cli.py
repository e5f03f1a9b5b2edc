"""`killah train STAGE ...`: each stage of the style-LoRA pipeline, or all of them.

    killah train curate FILES... --author NAME
    killah train neutralize --corpus corpus.txt [--neutralizer extractive|local|endpoint]
    killah train dataset --neutralized neutralized.jsonl
    killah train fit --data DATA_DIR [--iters N]
    killah train evaluate --run-dir RUN
    killah train register --run-dir RUN
    killah train all --author NAME FILES... [--neutralizer ...] [--iters N] [--out DIR] [--json]

`all` keeps everything in one work folder and resumes when re-run: a finished
stage is not redone, neutralization continues from its JSONL checkpoint, and
training from its last checkpoint.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

STAGES = {
    "curate": "training.curate",
    "neutralize": "training.describe",
    "dataset": "training.dataset",
    "fit": "training.fit",
    "evaluate": "training.assess",
    "register": "training.register",
}


def build_all_parser() -> argparse.ArgumentParser:
    from engine.clikit import add_output_options

    p = argparse.ArgumentParser(prog="killah train all", description="Curate, neutralize, build the dataset, "
                                "fine-tune, evaluate and register a style LoRA, resuming when re-run.")
    p.add_argument("files", nargs="+", help="the author's texts (.txt .md .docx .epub ...)")
    p.add_argument("--author", required=True, help="the author's name")
    p.add_argument("--out", help="work folder (default: runs/<author>)")
    p.add_argument("--model", help="base model (default: the bundled Gemma 3 270M)")
    p.add_argument("--neutralizer", default="extractive", help="extractive, local[:MODEL] or endpoint")
    p.add_argument("--endpoint", help="OpenAI-compatible URL for --neutralizer endpoint")
    p.add_argument("--endpoint-model", help="model name for the endpoint")
    p.add_argument("--workers", type=int, default=4, help="parallel endpoint requests")
    p.add_argument("--target-tokens", type=int, default=900_000, help="curation token budget")
    p.add_argument("--limit-chunks", type=int, help="describe and train on at most N chunks (quick runs)")
    p.add_argument("--iters", type=int, help="training steps (default: ~0.87 epoch)")
    p.add_argument("--fit-config", help="YAML file with fit options (rank, scale, learning_rate, ...)")
    p.add_argument("--perturb", type=float, default=0.0, help="input noise on descriptions, also at inference")
    for flag in ("info-dropout", "abstract", "topic-swap", "perspective"):
        p.add_argument(f"--{flag}", action="store_true", help=f"add {flag} training variants")
    p.add_argument("--harness-author", help="corpora author folder for the style harness")
    p.add_argument("--harness-author-dir", help="folder of the author's works for the style harness")
    p.add_argument("--harness-n", type=int, default=20, help="passages per harness condition")
    p.add_argument("--no-harness", action="store_true", help="skip the style harness")
    p.add_argument("--name", help="adapter name (default: from the author)")
    add_output_options(p)
    return p


def run_all(args: argparse.Namespace, progress=None, cancel=None) -> dict:
    from engine import paths
    from engine.errors import KillahError
    from training import assess, curate, dataset, describe, fit, register
    from training.config import resolve

    out = Path(args.out).expanduser() if args.out else paths.runs_dir() / curate.slug(args.author)
    out.mkdir(parents=True, exist_ok=True)
    files = [str(Path(f).expanduser().resolve()) for f in args.files]
    corpus = out / "corpus.txt"
    report_file = out / "curation_report.json"
    previous = json.loads(report_file.read_text("utf-8")) if report_file.is_file() else {}
    if not (corpus.is_file() and previous.get("files") == files and previous.get("target_tokens") == args.target_tokens):
        curate.run(curate.CurateConfig(files=files, author=args.author, out=str(corpus),
                                       target_tokens=args.target_tokens), progress=progress)
    ncfg = describe.NeutralizeConfig(corpus=str(corpus), out=str(out / "neutralized.jsonl"),
                                     neutralizer=args.neutralizer, endpoint=args.endpoint,
                                     endpoint_model=args.endpoint_model, workers=args.workers,
                                     limit=args.limit_chunks)
    neutral = describe.run(ncfg, progress=progress, cancel=cancel)
    if neutral["status"] != "done":
        return {"status": "cancelled", "stage": "neutralize", "work_dir": str(out)}
    data = dataset.run(dataset.DatasetConfig(
        neutralized=neutral["out"], out=str(out / "data"), author=args.author, perturb=args.perturb,
        info_dropout=args.info_dropout, abstract=args.abstract, topic_swap=args.topic_swap,
        perspective=args.perspective), progress=progress)
    fcfg = resolve(fit.FitConfig, {"data": data["out"], "model": args.model, "run_dir": str(out / "fit"),
                                   "iters": args.iters}, args.fit_config)
    summary = fit.run(fcfg, progress=progress, cancel=cancel)
    if summary["status"] != "done":
        return {"status": "cancelled", "stage": "fit", "step": summary["step"], "work_dir": str(out)}
    run_dir = Path(summary["run_dir"])
    report_path = run_dir / "report.json"
    fit_time = (run_dir / "fit.json").stat().st_mtime
    if report_path.is_file() and report_path.stat().st_mtime >= fit_time:
        report = json.loads(report_path.read_text("utf-8"))
    else:
        report = assess.run(assess.EvaluateConfig(
            run_dir=str(run_dir), model=args.model, harness=not args.no_harness, harness_n=args.harness_n,
            harness_author=args.harness_author, harness_author_dir=args.harness_author_dir), progress=progress)
    reg = register.run(register.RegisterConfig(run_dir=str(run_dir), name=args.name, author=args.author),
                       progress=progress)
    if not reg.get("adapter"):
        raise KillahError("register produced no adapter")
    return {"status": "done", "adapter": reg["adapter"], "work_dir": str(out), "report": report,
            "curation": str(report_file), "dataset": data, "fit": summary}


def all_main(argv: list[str]) -> int:
    from engine.clikit import emit
    from training.progress import CliProgress

    args = build_all_parser().parse_args(argv)
    with CliProgress() as progress:
        result = run_all(args, progress=progress)
    emit(args, result, human=_human_all)
    return 0 if result["status"] == "done" else 1


def _human_all(r: dict) -> str:
    if r["status"] != "done":
        return f"{r['status']} during {r['stage']} (work folder {r['work_dir']}); re-run to resume"
    from training.assess import human

    return f"adapter: {r['adapter']}\n{human(r['report'])}"


def usage() -> str:
    lines = ["usage: killah train STAGE [options]", "", "stages:"]
    lines += [f"  {name}" for name in [*STAGES, "all"]]
    lines += ["", "Run `killah train STAGE --help` for a stage's options."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    import importlib

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
