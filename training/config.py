"""Stage settings: dataclasses whose fields are also the command-line options.

Precedence lives in one function, `resolve`: command line > YAML file > the
dataclass defaults (mlx-lm's `lora.main` order). A field's help text sits in its
`metadata["help"]`, so the CLI and the desktop wizard read it from one place.
"""

from __future__ import annotations

import argparse
import dataclasses
import typing
from pathlib import Path
from typing import Any, TypeVar

from engine.errors import KillahError

T = TypeVar("T")


def _base_type(tp) -> type:
    if isinstance(tp, str):
        tp = eval(tp, vars(typing))  # noqa: S307 - our own annotations only
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    origin = typing.get_origin(tp)
    if origin in (list, tuple):
        return list
    if args and origin is not None and origin not in (list, tuple):
        return _base_type(args[0])
    return tp if isinstance(tp, type) else str


def add_dataclass_options(parser: argparse.ArgumentParser, cls, skip: tuple[str, ...] = ()) -> None:
    """One `--field-name` option per dataclass field; unset options stay None."""
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if f.name in skip or f.metadata.get("cli") is False:
            continue
        flag = "--" + f.name.replace("_", "-")
        help_ = f.metadata.get("help", "")
        tp = _base_type(hints[f.name])
        if tp is bool:
            parser.add_argument(flag, dest=f.name, action=argparse.BooleanOptionalAction, default=None, help=help_)
        elif tp is list:
            parser.add_argument(flag, dest=f.name, nargs="+", default=None, help=help_)
        else:
            parser.add_argument(flag, dest=f.name, type=tp if tp in (int, float) else str, default=None, help=help_)


def load_yaml(path: str | Path | None) -> dict:
    if not path:
        return {}
    import yaml

    p = Path(path).expanduser()
    try:
        data = yaml.safe_load(p.read_text("utf-8")) or {}
    except OSError as e:
        raise KillahError(f"config file {p}: {e.strerror or e}") from e
    except yaml.YAMLError as e:
        raise KillahError(f"config file {p}: not valid YAML: {e}") from e
    if not isinstance(data, dict):
        raise KillahError(f"config file {p}: expected a mapping of option: value")
    return {str(k).replace("-", "_"): v for k, v in data.items()}


def resolve(cls: type[T], cli: argparse.Namespace | dict | None = None, yaml_path: str | Path | None = None) -> T:
    """Build `cls` from defaults, then the YAML file, then the command line (highest)."""
    names = {f.name for f in dataclasses.fields(cls)}
    values: dict[str, Any] = {}
    from_yaml = load_yaml(yaml_path)
    unknown = sorted(set(from_yaml) - names)
    if unknown:
        raise KillahError(f"config file {yaml_path}: unknown option(s): {', '.join(unknown)}")
    values.update(from_yaml)
    cli_values = vars(cli) if isinstance(cli, argparse.Namespace) else dict(cli or {})
    values.update({k: v for k, v in cli_values.items() if k in names and v is not None})
    return cls(**values)


def to_dict(obj) -> dict:
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in dataclasses.asdict(obj).items()}


def stage_parser(prog: str, description: str, cls) -> argparse.ArgumentParser:
    """The parser every stage shares: its config dataclass's options, -c YAML, --json."""
    from engine.clikit import add_output_options

    parser = argparse.ArgumentParser(prog=prog, description=description)
    add_dataclass_options(parser, cls)
    parser.add_argument("-c", "--config", help="YAML file with these options (the command line wins)")
    add_output_options(parser)
    return parser


def resolve_args(cls: type[T], args: argparse.Namespace | dict) -> T:
    """CLI namespace (or dict) > its -c YAML file > dataclass defaults."""
    ns = args if isinstance(args, dict) else vars(args)
    return resolve(cls, ns, ns.get("config"))
