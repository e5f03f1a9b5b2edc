"""`killah eval`: style evaluation from the command line.

    killah eval style --author austen --conditions base,exemplars,lora:my-austen -n 20
    killah eval style --author-dir ../shared/data/heldout/en/conrad --conditions base --json
    killah eval judge --lang en --authors austen,dickens,twain,conan_doyle --json
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from engine import clikit
from engine.errors import KillahError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="killah eval", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    style = sub.add_parser("style", help="score conditions (base, exemplars, steering, lora:X) "
                                         "against an author's held-out passages")
    style.add_argument("--author", help="author folder name in ../shared/data/corpora/{en,ru}")
    style.add_argument("--author-dir", help="any folder of .txt works of the target author")
    style.add_argument("--candidates", help="folder of candidate author folders the judge chooses "
                                            "among (default: the corpora of the same language)")
    style.add_argument("--conditions", default="base",
                       help="comma-separated: base, exemplars, steering[:S], both[:S] (exemplars + "
                            "steering at strength S), lora:<adapter dir or name>")
    style.add_argument("-n", type=int, default=40, help="held-out passages (default 40)")
    style.add_argument("--seed", type=int, default=0)
    style.add_argument("--model", help="base model (default: the bundled one)")
    style.add_argument("--neutralizer", default="extractive",
                       help="extractive | local:<model> | endpoint:<url>[#model]")
    style.add_argument("--min-words", type=int, default=150)
    style.add_argument("--max-words", type=int, default=300)
    style.add_argument("--temperature", type=float, default=0.8)
    style.add_argument("--no-perplexity", action="store_true", help="skip the fluency column")
    style.add_argument("--judge-train-per-author", type=int, default=None,
                       help="training passages per candidate author for the judge (default 1500)")
    style.add_argument("--steering-strength", type=float, default=None,
                       help="strength for steering/both without ':S' (default: engine.persona's)")
    style.add_argument("--steering-neutral", choices=("reference", "plain", "index"),
                       default="reference",
                       help="steering reference: built-in mixed-author prose (the app's default), "
                            "built-in plain prose, or the other candidate authors' training works")
    style.add_argument("--batch", type=int, default=8, help="passages decoded together (default 8)")
    clikit.add_output_options(style)

    judge = sub.add_parser("judge", help="train (or load) the authorship judge and report its "
                                         "accuracy on held-out works")
    judge.add_argument("--lang", default="en", help="en or ru: the shared corpora of that language")
    judge.add_argument("--candidates", help="folder of author folders (instead of --lang)")
    judge.add_argument("--authors", help="comma-separated subset of the candidate authors")
    judge.add_argument("--train-per-author", type=int, default=None)
    judge.add_argument("--test-per-author", type=int, default=None)
    judge.add_argument("--seed", type=int, default=0)
    clikit.add_output_options(judge)
    return parser


def _style(args) -> int:
    from training.evaluation.runner import StyleEvalConfig, run

    if args.n < 1:
        raise KillahError(f"-n must be at least 1, got {args.n}")
    config = StyleEvalConfig.from_dict({
        "author": args.author, "author_dir": args.author_dir, "candidates": args.candidates,
        "conditions": args.conditions, "n": args.n, "seed": args.seed, "model": args.model,
        "neutralizer": args.neutralizer, "min_words": args.min_words, "max_words": args.max_words,
        "temperature": args.temperature, "perplexity": not args.no_perplexity,
        "judge_train_per_author": args.judge_train_per_author,
        "steering_strength": args.steering_strength, "steering_neutral": args.steering_neutral,
        "batch_size": args.batch,
    })
    if args.batch < 1:
        raise KillahError(f"--batch must be at least 1, got {args.batch}")
    report, run_dir = run(config, progress=clikit.log_progress)
    data = report.to_dict()
    data["run_dir"] = str(run_dir)
    clikit.emit(args, data, human=lambda _d: report.markdown() + f"\n\nrun folder: {run_dir}")
    return 0


def _judge(args) -> int:
    from dataclasses import asdict, replace

    from training.evaluation.judge import JudgeConfig, evaluate_judge, list_authors, train_judge
    from training.evaluation.runner import CORPORA

    folder = Path(args.candidates).expanduser() if args.candidates else CORPORA / args.lang
    authors = list_authors(folder)
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
