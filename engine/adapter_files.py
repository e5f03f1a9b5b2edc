"""Adapter folders on disk: read one and check everything in it.

An adapter folder is mlx-lm's format (adapters.safetensors + adapter_config.json)
plus Killah's optional metadata.json. `read_folder` reads all three and collects
every problem it finds, in the config (a JSON object? LoRA? a sane rank and
scale?), the metadata (an object whose fields have the right types) and the
tensors (2-D LoRA factor pairs of one rank, finite, of plausible size), so that
`engine.adapters.load_adapter` can raise once with all of them listed, and a
listing can show a malformed folder with its problems instead of failing
(`read_folder(path, load_weights=False)` is the quick look).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

ADAPTER_WEIGHTS = "adapters.safetensors"
ADAPTER_CONFIG = "adapter_config.json"
ADAPTER_METADATA = "metadata.json"

MAX_JSON_BYTES = 1 << 20
MAX_WEIGHTS_BYTES = 4 << 30
MAX_RANK = 1024
MAX_LORA_SCALE = 1000.0  # mlx-lm trains with 20; 1e30 only ever produces inf
MAX_LORA_WEIGHT = 1e3  # |entry| of a LoRA factor; trained ones stay well under 1
_METADATA_TYPES = {
    "name": str, "author": (str, type(None)), "language": (str, type(None)), "format": str,
    "base_model": dict, "perturbation": dict, "corpus": dict, "training": dict,
    "evaluation": dict,
}


@dataclass
class AdapterFolder:
    """What is in an adapter folder, and everything wrong with it (empty when usable)."""

    path: Path
    config: dict = field(default_factory=dict)
    metadata: dict = field(default_factory=dict)
    weights: dict = field(default_factory=dict, repr=False)  # name -> mx.array
    problems: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return str(self.metadata.get("name") or self.path.name)

    @property
    def author(self) -> str:
        return str(self.metadata.get("author") or "")


def _read_json(path: Path, problems: list[str]) -> dict | None:
    try:
        size = path.stat().st_size
        if size > MAX_JSON_BYTES:
            problems.append(f"{path.name} is {size:,} bytes (limit {MAX_JSON_BYTES:,})")
            return None
        data = json.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as e:
        problems.append(f"unreadable {path.name}: {' '.join(str(e).split())[:160]}")
        return None
    if not isinstance(data, dict):
        problems.append(f"{path.name} is a JSON {type(data).__name__}, not an object")
        return None
    return data


def _is_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def config_problems(config: dict) -> list[str]:
    problems = []
    kind = config.get("fine_tune_type", "lora")
    if kind != "lora":
        problems.append(f"fine_tune_type {kind!r} is not supported (only 'lora')")
    params = config.get("lora_parameters", {})
    if not isinstance(params, dict):
        return problems + [f"lora_parameters is a {type(params).__name__}, not an object"]
    rank, scale = params.get("rank"), params.get("scale")
    if rank is not None and not (isinstance(rank, int) and 0 < rank <= MAX_RANK):
        problems.append(f"lora_parameters.rank {rank!r} is not a whole number in 1..{MAX_RANK}")
    if scale is not None and not (_is_number(scale) and math.isfinite(scale)
                                  and 0 < abs(scale) <= MAX_LORA_SCALE):
        problems.append(f"lora_parameters.scale {scale!r} is not a number with "
                        f"0 < |scale| <= {MAX_LORA_SCALE:g}")
    return problems


def metadata_problems(metadata: dict) -> list[str]:
    problems = []
    for key, kinds in _METADATA_TYPES.items():
        if key in metadata and not isinstance(metadata[key], kinds):
            wanted = " or ".join(t.__name__ for t in (kinds if isinstance(kinds, tuple)
                                                      else (kinds,)))
            problems.append(f"metadata {key} is a {type(metadata[key]).__name__}, not {wanted}")
    base = metadata.get("base_model")
    if isinstance(base, dict):
        problems += [f"metadata base_model.{k} is not text" for k in ("id", "hash")
                     if base.get(k) is not None and not isinstance(base[k], str)]
    return problems


def weight_problems(weights: dict, config: dict) -> list[str]:
    """Every tensor a 2-D LoRA factor, paired, of one rank per layer (and the config's), finite
    and of plausible size."""
    import mlx.core as mx

    problems = []
    leaves = {}
    for name, w in sorted(weights.items()):
        layer, _, leaf = name.rpartition(".")
        if leaf not in ("lora_a", "lora_b"):
            problems.append(f"{name} is not a LoRA tensor (lora_a or lora_b)")
            continue
        if w.ndim != 2 or not mx.issubdtype(w.dtype, mx.floating):
            problems.append(f"{name} has shape {tuple(w.shape)}: a LoRA factor is 2-D"
                            if w.ndim != 2 else f"{name} has dtype {w.dtype}, not floating point")
            leaves.setdefault(layer, {})[leaf] = None  # present, but no rank to compare
            continue
        if not mx.all(mx.isfinite(w)).item():
            problems.append(f"{name} holds NaN or infinite values")
        elif w.size and (peak := mx.max(mx.abs(w)).item()) > MAX_LORA_WEIGHT:
            problems.append(f"{name} holds values as large as {peak:.3g} "
                            f"(a trained LoRA stays under {MAX_LORA_WEIGHT:g})")
        leaves.setdefault(layer, {})[leaf] = w
    params = config.get("lora_parameters")
    params = params if isinstance(params, dict) else {}
    declared = params.get("rank") if isinstance(params.get("rank"), int) else None
    for layer, pair in sorted(leaves.items()):
        if "lora_a" not in pair or "lora_b" not in pair:
            problems.append(f"{layer} lacks {'lora_a' if 'lora_a' not in pair else 'lora_b'}")
            continue
        a, b = pair["lora_a"], pair["lora_b"]
        if a is None or b is None:
            continue
        if a.shape[1] != b.shape[0]:
            problems.append(f"{layer}: lora_a has rank {a.shape[1]} but lora_b has rank "
                            f"{b.shape[0]}")
        elif declared is not None and a.shape[1] != declared:
            problems.append(f"{layer}: rank {a.shape[1]}, but adapter_config.json says {declared}")
    if not weights:
        problems.append(f"{ADAPTER_WEIGHTS} holds no tensors")
    return problems


def read_folder(path: str | Path, load_weights: bool = True) -> AdapterFolder:
    """Read and check an adapter folder; `problems` lists everything wrong with it."""
    folder = AdapterFolder(Path(path).expanduser())
    problems = folder.problems
    if not folder.path.is_dir():
        problems.append("not a folder")
        return folder
    config_file = folder.path / ADAPTER_CONFIG
    weights_file = folder.path / ADAPTER_WEIGHTS
    metadata_file = folder.path / ADAPTER_METADATA
    if not config_file.is_file():
        problems.append(f"missing {ADAPTER_CONFIG}")
    elif (config := _read_json(config_file, problems)) is not None:
        folder.config = config
        problems += config_problems(config)
    if metadata_file.is_file() and (metadata := _read_json(metadata_file, problems)) is not None:
        bad = metadata_problems(metadata)
        problems += bad
        folder.metadata = metadata if not bad else {}
    if not weights_file.is_file():
        problems.append(f"missing {ADAPTER_WEIGHTS}")
    elif load_weights:
        size = weights_file.stat().st_size
        if size > MAX_WEIGHTS_BYTES:
            problems.append(f"{ADAPTER_WEIGHTS} is {size / 2**30:.1f} GiB: too large for a LoRA")
        else:
            import mlx.core as mx

            try:
                folder.weights = mx.load(str(weights_file))
            except Exception as e:  # noqa: BLE001 - mlx raises RuntimeError/ValueError for bad files
                problems.append(f"cannot read {ADAPTER_WEIGHTS}: {' '.join(str(e).split())[:160]}")
            else:
                problems += weight_problems(folder.weights, folder.config)
    return folder
