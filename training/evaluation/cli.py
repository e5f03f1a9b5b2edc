"""`killah eval`: style evaluation from the command line.

    killah eval style --author-dir austen --conditions base,exemplars,lora:my-austen -n 20
    killah eval style --author-dir ~/Documents/Writing --conditions base --json
    killah eval judge --lang en --authors austen,dickens,twain,conan_doyle --json

The target is a folder of .txt works (or a shipped reference author by name); the judge's
candidates are the shipped reference authors of the target's language (resources/reference)
unless --candidates names a folder of author folders.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from engine import clikit
from engine.errors import KillahError
from training.config import add_config_option, add_options, from_args
from training.evaluation.judge import JudgeConfig
from training.evaluation.report import StyleEvalConfig


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="killah eval", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    style = sub.add_parser("style", help="score conditions (base, exemplars, steering, lora:X) "
                                         "against an author's held-out passages")
    add_options(style, StyleEvalConfig)  # every option is a StyleEvalConfig field
    add_config_option(style)
    clikit.add_output_options(style)

    judge = sub.add_parser("judge", help="train (or load) the authorship judge and report its "
                                         "accuracy on held-out works")
    judge.add_argument("--lang", default="en",
                       help="en or ru: the shipped reference authors of that language")
    judge.add_argument("--candidates", help="folder of author folders (instead of --lang)")
    judge.add_argument("--authors", help="comma-separated subset of the candidate authors")
    judge.add_argument("--train-per-author", type=int, default=None,
                       help="training passages per author "
                            f"(default {JudgeConfig.train_per_author})")
    judge.add_argument("--test-per-author", type=int, default=None,
                       help=f"held-out passages per author (default {JudgeConfig.test_per_author})")
    judge.add_argument("--seed", type=int, default=0, help="seed of the split and the sampling")
    clikit.add_output_options(judge)
    return parser


def _style(args) -> int:
    from training.evaluation.runner import run

    report = run(from_args(StyleEvalConfig, args), progress=clikit.log_progress)
    clikit.emit(args, report.to_dict(),
                human=lambda _d: report.markdown() + f"\n\nrun folder: {report.run_dir}")
    return 0


def _judge(args) -> int:
    from dataclasses import asdict, replace

    from training.evaluation.judge import evaluate_judge, list_authors, train_judge
    from training.evaluation.reference import reference_authors, reference_root

    if args.candidates:
        folder = Path(args.candidates).expanduser()
        authors = list_authors(folder)
    else:
        folder = reference_root(args.lang)
        authors = reference_authors(args.lang)
    if args.authors:
        wanted = [a for a in args.authors.split(",") if a]
        missing = [a for a in wanted if a not in authors]
        if missing:
            raise KillahError(f"not in {folder}: {', '.join(missing)}")
        authors = {a: authors[a] for a in wanted}
    config = JudgeConfig(seed=args.seed)
    if args.train_per_author:
        config = replace(config, train_per_author=args.train_per_author)
    if args.test_per_author:
        config = replace(config, test_per_author=args.test_per_author)
    judge = train_judge(authors, config, progress=clikit.log_progress)
    report = evaluate_judge(judge)
    clikit.emit(args, asdict(report), human=lambda _d: report.markdown())
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    try:
        return _style(args) if args.command == "style" else _judge(args)
    except KillahError as e:
        print(f"killah eval {args.command}: error: {e}", file=sys.stderr)
        return 1
