"""`killah models|generate|continue|rephrase`: thin wrappers over engine.models and
engine.generate."""

from __future__ import annotations

import argparse
import sys
from dataclasses import fields
from pathlib import Path

from engine import clikit, tasks
from engine.errors import KillahError


def add_model_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model", default=None,
        help="'default' (bundled Gemma 3 270M base), an MLX folder, a .gguf file "
             "or a Hugging Face id",
    )
    parser.add_argument(
        "--dtype", default=None,
        help="float32, float16, bfloat16, q4 or q8 (default: q4 on Metal/CUDA, float32 on CPU)",
    )


def add_sampling_options(parser: argparse.ArgumentParser, **defaults) -> None:
    from engine.generate import SamplingOptions

    for f in fields(SamplingOptions):
        if f.name == "stop":
            parser.add_argument("--stop", action="append", default=[], help=f.metadata["help"])
            continue
        flag = "--" + f.name.replace("_", "-")
        default = defaults.get(f.name, f.default)
        if isinstance(f.default, bool):
            shown = "on" if default else "off"
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=default,
                                help=f"{f.metadata['help']} (default: {shown})")
            continue
        kind = (int if f.name in ("top_k", "max_tokens", "repetition_context_size", "seed")
                else float)
        shown = ("the task's length budget" if f.name == "max_tokens" and default is None
                 else default)
        parser.add_argument(flag, type=kind, default=default,
                            help=f"{f.metadata['help']} (default: {shown})")


def sampling_from_args(args: argparse.Namespace):
    from engine.generate import SamplingOptions

    values = {f.name: getattr(args, f.name) for f in fields(SamplingOptions)}
    values["stop"] = tuple(args.stop)
    try:
        return SamplingOptions(**values)
    except ValueError as e:
        raise KillahError(str(e)) from e


def load_from_args(args: argparse.Namespace):
    from engine.models import load_model

    return load_model(args.model, args.dtype, progress=clikit.log_progress)


# -- killah models -------------------------------------------------------------


def models_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="killah models",
                                     description="List, prepare and locate models.")
    sub = parser.add_subparsers(dest="action", required=True)
    p = sub.add_parser("list", help="models already prepared in the models folder")
    clikit.add_output_options(p)
    p = sub.add_parser("prepare", help="convert or download a model so it loads in seconds")
    p.add_argument("model", nargs="?", default=None, help="default: the bundled Gemma 3 270M")
    p.add_argument("--dtype", default=None, help="float32, float16, bfloat16, q4 or q8")
    clikit.add_output_options(p)
    p = sub.add_parser("where", help="print the folder of a prepared model (and the models folder)")
    p.add_argument("model", nargs="?", default=None, help="default: the bundled Gemma 3 270M")
    p.add_argument("--dtype", default=None, help="float32, float16, bfloat16, q4 or q8")
    clikit.add_output_options(p)
    args = parser.parse_args(argv)

    from engine import models, paths
    from engine.runtime import backend

    if args.action == "list":
        items = models.list_models()
        data = {"models_dir": str(paths.models_dir()), "backend": backend().describe(),
                "models": items}
        clikit.emit(args, data,
                    human=lambda d: "\n".join(
                        [f"models folder: {d['models_dir']}", f"backend: {d['backend']}"]
                        + [f"  {m['name']}  ({m['model_id']}, {m['dtype']})" for m in d["models"]]
                        or ["  (none prepared yet: run `killah models prepare`)"]))
    elif args.action == "prepare":
        path = models.prepare(args.model, args.dtype, progress=clikit.log_progress)
        clikit.emit(args, {"path": str(path)}, human=lambda d: d["path"])
    else:
        path = models.cached_path(args.model, args.dtype)
        data = {"models_dir": str(paths.models_dir()), "path": str(path) if path else None}
        clikit.emit(args, data, human=lambda d: d["path"]
                    or f"not prepared yet (models folder: {d['models_dir']})")
    return 0


# -- killah generate / continue ------------------------------------------------


def _stream_to_stdout(lm, prompt, options, as_json: bool, transforms: tuple = ()) -> dict:
    from engine.generate import stream_generate

    parts, last = [], None
    for r in stream_generate(lm, prompt, options, transforms=transforms):
        parts.append(r.text)
        if not as_json:
            sys.stdout.write(r.text)
            sys.stdout.flush()
        last = r
    if not as_json:
        sys.stdout.write("\n")
    return {
        "text": "".join(parts),
        "finish_reason": last.finish_reason,
        "prompt_tokens": last.prompt_tokens,
        "generation_tokens": last.generation_tokens,
        "generation_tps": round(last.generation_tps, 2),
        "model": lm.model_id,
    }


def generate_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="killah generate",
                                     description="Generate text from a raw prompt (no template).")
    parser.add_argument("--prompt", required=True, help="the prompt text ('-' reads stdin)")
    add_model_options(parser)
    add_sampling_options(parser)
    clikit.add_output_options(parser)
    args = parser.parse_args(argv)
    prompt = clikit.read_input("-", "prompt") if args.prompt == "-" else args.prompt
    if not prompt:
        raise KillahError("the prompt is empty")
    options = sampling_from_args(args)
    lm = load_from_args(args)
    result = _stream_to_stdout(lm, prompt, options, args.json)
    if args.json:
        clikit.emit(args, result)
    return 0


def add_memory_option(parser: argparse.ArgumentParser, default: str = "") -> None:
    parser.add_argument("--memory", metavar="FILE", default=None,
                        help="the document's note (characters, setting, facts, tone) that the "
                             f"model reads before the text ('-' reads stdin) {default}".strip())


def memory_from_args(args: argparse.Namespace, document: Path | None = None) -> str:
    """--memory's note, else the one the app keeps for `document` (engine.memory), else ''."""
    if args.memory is not None:
        return clikit.read_input(args.memory, "note")
    if document is None:
        return ""
    from engine import memory

    return memory.load(document)


def continue_main(argv: list[str]) -> int:
    from engine.style import add_style_options, style_from_args

    parser = argparse.ArgumentParser(prog="killah continue",
                                     description="Stream a continuation of the end of a file.")
    parser.add_argument("--file", required=True, type=Path,
                        help="a UTF-8 text file ('-' reads stdin)")
    parser.add_argument("--context-chars", type=clikit.bounded_int(1, clikit.MAX_INPUT_BYTES),
                        default=4000, help="how much of the file's end to use")
    add_model_options(parser)
    add_sampling_options(parser, max_tokens=tasks.DEFAULT_TOKENS["continue"])
    add_style_options(parser)
    add_memory_option(parser, "(default: the note the app keeps for --file)")
    clikit.add_output_options(parser)
    args = parser.parse_args(argv)
    style = style_from_args(args)
    text = clikit.read_input(str(args.file), "text to continue")
    note = memory_from_args(args, None if str(args.file) == "-" else args.file)
    if not text.strip():
        raise KillahError(f"{args.file} is empty: nothing to continue")
    options = sampling_from_args(args)
    lm = load_from_args(args)
    active = style.open(lm, progress=clikit.log_progress)
    context = text[-args.context_chars:]
    result = _stream_to_stdout(lm, active.prompt("continue", context, memory=note), options,
                               args.json, transforms=active.transforms("continue"))
    if args.json:
        clikit.emit(args, result)
    return 0


# -- killah rephrase -----------------------------------------------------------


def rephrase_main(argv: list[str]) -> int:
    from engine.style import add_style_options, style_from_args

    parser = argparse.ArgumentParser(
        prog="killah rephrase",
        description="Print N rephrasings of a text, generated as one batch.")
    parser.add_argument("text", help="the text to rephrase ('-' reads stdin)")
    from engine.generate import MAX_CANDIDATES

    parser.add_argument("-n", type=clikit.bounded_int(1, MAX_CANDIDATES), default=4,
                        help=f"how many candidates, 1 to {MAX_CANDIDATES} (default: 4)")
    parser.add_argument("--mode", choices=tasks.REWRITE_MODES, default="rephrase",
                        help="rephrase, a preset (formal, casual, shorter, longer) or like_me "
                             "(in the voice of --persona or a style --adapter); default: rephrase")
    parser.add_argument("--show-scores", action="store_true",
                        help="rank the candidates best first with the writing-quality reward "
                             "model (min-p varied per candidate) and show their scores")
    add_model_options(parser)
    add_sampling_options(parser, max_tokens=None)
    add_style_options(parser)
    add_memory_option(parser)
    clikit.add_output_options(parser)
    args = parser.parse_args(argv)
    style = style_from_args(args)
    text = clikit.read_input("-", "text to rephrase") if args.text == "-" else args.text
    note = memory_from_args(args)
    if not text.strip():
        raise KillahError("nothing to rephrase: the text is empty")
    if args.max_tokens is None:
        args.max_tokens = tasks.max_tokens(args.mode, text)
    from engine.generate import generate_candidates

    options = sampling_from_args(args)
    lm = load_from_args(args)
    active = style.open(lm, progress=clikit.log_progress)
    if not active.offers(args.mode):
        raise KillahError(f"--mode {args.mode} needs --persona (with --exemplars > 0) "
                          "or a style --adapter")
    prompt = active.prompt(args.mode, text, memory=note)
    transforms = active.transforms(args.mode, text)
    if args.show_scores:
        from engine.quality.rerank import rerank

        ranked = rerank(lm, prompt, args.n, options, transforms=transforms,
                        persona_profile=active.quality_profile, source=text, task=args.mode)
        data = {"original": text, "candidates": [r.to_dict() for r in ranked]}
        clikit.emit(args, data, human=lambda d: "\n".join(
            f"{i + 1}. [{c['score']:.1f}/10, {_faithful_label(c)}] {c['text']}"
            for i, c in enumerate(d["candidates"])))
        return 0
    cands = generate_candidates(lm, prompt, args.n, options, transforms=transforms)
    data = {
        "original": text,
        "candidates": [
            {"text": c.text.strip(), "mean_logprob": round(c.mean_logprob, 4),
             "finish_reason": c.finish_reason}
            for c in cands
        ],
    }
    clikit.emit(args, data, human=lambda d: "\n".join(
        f"{i + 1}. {c['text']}" for i, c in enumerate(d["candidates"])))
    return 0


def _faithful_label(candidate: dict) -> str:
    f = candidate.get("faithfulness")
    if f is None:
        return "not checked"
    return "faithful" if f["ok"] else "unfaithful: " + "; ".join(f["reasons"])
