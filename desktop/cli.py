"""The `killah` command: one dispatcher over the engine's and training's commands.

Each subcommand lives beside its library code as a `main(argv)` function; this
module only finds it by name and runs it through `engine.clikit.run_guarded`, the
one place where failures become one clean line and an exit status.
"""

from __future__ import annotations

import importlib
import sys

# name -> (module, function, one-line help)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "app": ("desktop.app", "main", "open the Killah window"),
    "models": ("engine.cli", "models_main", "list, prepare and locate models"),
    "generate": ("engine.cli", "generate_main", "generate text from a raw prompt"),
    "continue": ("engine.cli", "continue_main", "stream a continuation of the end of a file"),
    "rephrase": ("engine.cli", "rephrase_main", "print N rephrasings of a text"),
    "score": ("engine.quality.cli", "main", "score text with the writing-quality reward model"),
    "index": ("engine.index.cli", "main", "index your documents and search them"),
    "persona": ("engine.persona.cli", "main", "create and inspect personas"),
    "transcribe": ("engine.voice.cli", "transcribe_main", "transcribe a WAV file"),
    "listen": ("engine.voice.cli", "listen_main", "parse a WAV file into dictation and commands"),
    "vocabulary": ("engine.voice.cli", "vocabulary_main",
                   "your names and terms, for dictation and suggestions"),
    "train": ("training.cli", "main", "train a style LoRA: curate, neutralize, fit, evaluate"),
    "eval": ("training.evaluation.cli", "main", "evaluate style: attribution, content, fluency"),
    "style": ("engine.encoders.style", "main", "compare texts by style (style encoder, STEL)"),
}


def usage() -> str:
    width = max(len(n) for n in COMMANDS)
    lines = ["usage: killah COMMAND [options]", "", "commands:"]
    lines += [f"  {name:<{width}}  {help_}" for name, (_, _, help_) in COMMANDS.items()]
    lines += ["", "Run `killah COMMAND --help` for a command's options."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(usage())
        return 0
    if argv[0] in ("-V", "--version"):
        from engine import __version__

        print(f"killah {__version__}")
        return 0
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"killah: unknown command {name!r}\n\n{usage()}", file=sys.stderr)
        return 2

    from engine.runtime import ensure_openblas

    ensure_openblas()
    from engine.clikit import run_guarded

    module, func, _ = COMMANDS[name]
    return run_guarded(f"killah {name}", lambda args: getattr(
        importlib.import_module(module), func)(args), rest)


if __name__ == "__main__":
    sys.exit(main())
