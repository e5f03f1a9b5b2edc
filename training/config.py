"""Settings as frozen dataclasses that are also the command lines and the YAML files.

Each stage's options are one frozen dataclass (CurateConfig, NeutralizeConfig,
DatasetConfig, FitConfig, EvaluateConfig, RegisterConfig); the whole pipeline's
are training.pipeline.PipelineConfig, made of them as sections. A field's help
text sits in `metadata["help"]`, so the command line, the docs and the desktop
read it from one place:

- `add_options` generates a parser's options from the fields (a section's
  options get the destination "section.field");
- `resolve` builds a config from its defaults, then a YAML file, then the
  command line (highest), nested sections included (mlx-lm's `lora.main` order);
- `stage_parser` / `from_args` are the two calls a stage's `main()` makes.

Field metadata: "help" (the option's help), "positional" (a positional argument
instead of a --flag; a tuple field takes one or more values), "aliases" (more
option strings, e.g. ("-n",)), "choices", and "split" (a tuple field given as one
string, split at this separator: --conditions base,lora:x).
"""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from engine.errors import KillahError

T = TypeVar("T")

def _strip_optional(tp):
    """X | None -> X."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return args[0] if len(args) == 1 else tp
    return tp


def _kind(tp) -> tuple[type, bool]:
    """(element type, is a sequence) of a field annotation."""
    tp = _strip_optional(tp)
    if typing.get_origin(tp) in (tuple, list):
        args = [a for a in typing.get_args(tp) if a is not Ellipsis]
        return (args[0] if args else str), True
    return (tp if isinstance(tp, type) else str), False


def is_section(tp) -> bool:
    return dataclasses.is_dataclass(_strip_optional(tp))


def _hints(cls) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _help(f: dataclasses.Field) -> str:
    text = f.metadata.get("help", "")
    if "default" in text or f.default in (None, dataclasses.MISSING, "", ()):
        return text
    return f"{text} (default: {f.default})".strip()


def add_options(parser: argparse.ArgumentParser, cls, section: str = "",
                flags: Mapping[str, str] | None = None, skip: tuple[str, ...] = ()) -> None:
    """One option per field of `cls` (sections skipped): `--field-name`, or `flags[field]`.

    Every option defaults to None ("not given"), so `resolve` can tell a value set
    on the command line from a default.
    """
    hints = _hints(cls)
    for f in dataclasses.fields(cls):
        if f.name in skip or is_section(hints[f.name]):
            continue
        dest = f"{section}.{f.name}" if section else f.name
        base, seq = _kind(hints[f.name])
        value_type = base if base in (int, float) else str
        if f.metadata.get("positional"):
            parser.add_argument(dest, metavar=f.name.upper(), nargs="*" if seq else "?",
                                type=value_type, default=None, help=_help(f))
            continue
        names = (*f.metadata.get("aliases", ()),
                 "--" + (flags or {}).get(f.name, f.name).replace("_", "-"))
        if base is bool:
            parser.add_argument(*names, dest=dest, action=argparse.BooleanOptionalAction,
                                default=None, help=_help(f))
            continue
        if f.metadata.get("split"):
            seq, value_type = False, str
        parser.add_argument(*names, dest=dest, type=value_type, nargs="+" if seq else None,
                            choices=f.metadata.get("choices"), default=None,
                            metavar=None if f.metadata.get("choices") else f.name.upper(),
                            help=_help(f))


def cli_values(args: argparse.Namespace | Mapping | None, cls=None) -> dict:
    """The options given on a command line, nested by section ("fit.iters" -> fit: iters).

    With `cls`, parser entries that are not its fields (-c, --json, a sub-command's
    name) are left out.
    """
    flat = vars(args) if isinstance(args, argparse.Namespace) else dict(args or {})
    names = {f.name for f in dataclasses.fields(cls)} if cls is not None else None
    out: dict = {}
    for key, value in flat.items():
        if value is None or value == [] or (names is not None
                                            and key.split(".")[0] not in names):
            continue
        *path, name = key.split(".")
        node = out
        for part in path:
            node = node.setdefault(part, {})
        node[name] = value
    return out


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
    return _underscored(data)


def _underscored(data: dict) -> dict:
    return {str(k).replace("-", "_"): (_underscored(v) if isinstance(v, dict) else v)
            for k, v in data.items()}


def _merge(low: Mapping, high: Mapping) -> dict:
    out = dict(low)
    for k, v in high.items():
        both = isinstance(v, Mapping) and isinstance(out.get(k), Mapping)
        out[k] = _merge(out[k], v) if both else v
    return out


def _coerce(value, tp, where: str):
    base, seq = _kind(tp)
    if value is None:
        return None
    if seq:
        items = value if isinstance(value, (list, tuple)) else [value]
        return tuple(_coerce(v, base, where) for v in items)
    if base is bool:
        if not isinstance(value, bool):
            raise KillahError(f"{where}: expected true or false, got {value!r}")
        return value
    if base in (int, float):
        expected = "a whole number" if base is int else "a number"
        if isinstance(value, bool) or (base is int and isinstance(value, float)
                                       and not value.is_integer()):
            raise KillahError(f"{where}: expected {expected}, got {value!r}")
        try:
            return base(value)
        except (TypeError, ValueError):
            raise KillahError(f"{where}: expected {expected}, got {value!r}") from None
    return str(value) if base is str else value


def build(cls: type[T], values: Mapping, source: str = "options") -> T:
    """`cls` from a nested mapping of values (unknown keys and bad values raise KillahError)."""
    hints = _hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise KillahError(f"{source}: unknown option(s): {', '.join(unknown)}")
    kwargs = {}
    for name, value in values.items():
        tp = hints[name]
        if is_section(tp):
            if not isinstance(value, Mapping):
                raise KillahError(f"{source}: {name} must be a section of options")
            kwargs[name] = build(_strip_optional(tp), value, f"{source} [{name}]")
        else:
            sep = fields[name].metadata.get("split")
            if sep and isinstance(value, str):
                value = [part.strip() for part in value.split(sep) if part.strip()]
            kwargs[name] = _coerce(value, tp, f"{source}: {name}")
    return cls(**kwargs)


def resolve(cls: type[T], cli: argparse.Namespace | Mapping | None = None,
            yaml_path: str | Path | None = None) -> T:
    """Defaults, then the YAML file, then the command line (highest): one config."""
    values = _merge(load_yaml(yaml_path), cli_values(cli, cls))
    return build(cls, values, f"config file {yaml_path}" if yaml_path else "options")


def stage_parser(prog: str, description: str, cls) -> argparse.ArgumentParser:
    """The parser every stage shares: its config's options, -c YAML, --json."""
    from engine.clikit import add_output_options

    parser = argparse.ArgumentParser(prog=prog, description=description)
    add_options(parser, cls)
    add_config_option(parser)
    add_output_options(parser)
    return parser


def add_config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-c", "--config", metavar="YAML",
                        help="YAML file with these options (the command line wins)")


def from_args(cls: type[T], args: argparse.Namespace) -> T:
    """A parsed command line > its -c YAML file > the dataclass defaults."""
    return resolve(cls, args, getattr(args, "config", None))


def to_dict(obj) -> dict:
    """A config as plain JSON-able data (tuples as lists, paths as strings)."""
    def plain(v):
        if isinstance(v, (list, tuple)):
            return [plain(x) for x in v]
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        return str(v) if isinstance(v, Path) else v

    return plain(dataclasses.asdict(obj))
