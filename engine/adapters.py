"""LoRA adapters at run time: a stack of them over one base model, each with a scale.

On disk an adapter is mlx-lm's format (adapters.safetensors + adapter_config.json,
so `mlx_lm.generate --adapter-path` loads it) plus Killah's metadata.json (base
model id and hash, author, corpus stats, training and perturbation settings,
evaluation scores).

At run time adapters stay unfused: `AdapterStack.apply(model)` wraps each
targeted linear layer so that

    y = W x + sum_i  s_i * (x @ A_i) @ B_i

(s_i the scale given for adapter i in the stack, mlx-lm's LoRA `scale`; by default
the one it was trained with, `adapter.lora_scale`; 0 turns it off), and returns a
function that puts the original layers back. The generator applies a stack for
one call (`transforms=(stack,)`), so switching adapters never reloads the base
model, and fusing into a quantized base (which silently loses the low-rank
update) never happens. `fuse_and_export` is the explicit way to bake a stack into
a float model.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import mlx.core as mx
from mlx import nn
from mlx.utils import tree_flatten, tree_unflatten

from engine.adapter_files import (
    ADAPTER_CONFIG,
    ADAPTER_METADATA,
    ADAPTER_WEIGHTS,
    MAX_LORA_SCALE,
    read_folder,
)
from engine.errors import AdapterMismatch, KillahError

__all__ = ["ADAPTER_CONFIG", "ADAPTER_METADATA", "ADAPTER_WEIGHTS", "Adapter", "AdapterStack",
           "StackEntry", "fuse_and_export", "load_adapter"]
METADATA_FORMAT = "killah-adapter v1"

# Config fields that fix every weight shape: two models that agree on them (and on
# the base id) can share adapters, whatever their dtype or quantization.
_ARCH_FIELDS = (
    "model_type",
    "hidden_size",
    "num_hidden_layers",
    "intermediate_size",
    "num_attention_heads",
    "num_key_value_heads",
    "head_dim",
    "vocab_size",
)
_ID_SUFFIXES = ("-4bit", "-8bit", "-6bit", "-3bit", "-bf16", "-fp16", "-f16", "-f32", "-mlx",
                "-gguf", "-q4_k_m", "-q8_0")


# -- base model identity --------------------------------------------------------------------


def architecture_hash(config: dict) -> str:
    """A short hash of the shape-defining fields of a model config."""
    merged = dict(config or {})
    merged.update(merged.get("text_config") or {})
    key = {name: merged.get(name) for name in _ARCH_FIELDS}
    if key["model_type"]:
        key["model_type"] = str(key["model_type"]).removesuffix("_text")
    blob = json.dumps(key, sort_keys=True).encode("utf-8")
    return hashlib.sha256(blob).hexdigest()[:16]


def normalize_model_id(model_id: str | None) -> str:
    """'mlx-community/gemma-3-270m-4bit' and 'google/gemma-3-270m' both give 'gemma-3-270m'."""
    name = str(model_id or "").strip().rstrip("/").lower()
    name = name.rsplit("/", 1)[-1]
    changed = True
    while changed:
        changed = False
        for suffix in _ID_SUFFIXES:
            if name.endswith(suffix):
                name, changed = name[: -len(suffix)], True
    return name


def base_identity(lm) -> dict:
    """What an adapter records about the model it was trained on (`lm`: a LoadedModel)."""
    return {"id": getattr(lm, "model_id", None),
            "hash": architecture_hash(getattr(lm, "config", {}) or {})}


# -- one adapter ------------------------------------------------------------------------------


@dataclass(eq=False)
class Adapter:
    """An adapter folder read into memory: config, metadata and the low-rank weights."""

    path: Path
    config: dict
    metadata: dict
    weights: dict[str, mx.array] = field(repr=False)

    @property
    def name(self) -> str:
        return self.metadata.get("name") or self.path.name

    @property
    def lora_scale(self) -> float:
        return float((self.config.get("lora_parameters") or {}).get("scale", 20.0))

    @property
    def rank(self) -> int:
        a = next((w for k, w in self.weights.items() if k.endswith(".lora_a")), None)
        return int(a.shape[1]) if a is not None else 0

    @property
    def author(self) -> str | None:
        return self.metadata.get("author")

    @property
    def perturbation(self) -> dict:
        return dict(self.metadata.get("perturbation") or {})

    def layer_paths(self) -> list[str]:
        """Module paths (e.g. 'model.layers.3.self_attn.q_proj') this adapter changes."""
        return sorted({k.rsplit(".", 1)[0] for k in self.weights})

    def restyle_prompt(self, description: str, word_count: int, exemplars: Sequence[str] = (),
                       key: str = ""):
        """The restyle prompt this adapter was trained on, with its perturbation applied."""
        from engine import tasks

        return tasks.restyle_prompt(description, self.author or "the author", word_count, exemplars,
                                    perturbation=self.perturbation, key=key)


def load_adapter(path: str | Path) -> Adapter:
    """Read an adapter folder (mlx-lm format, with or without Killah's metadata.json).

    Everything is checked first (engine.adapter_files.read_folder): a malformed folder
    raises one KillahError that lists every problem found.
    """
    folder = read_folder(path)
    if folder.problems:
        raise KillahError(f"adapter {folder.path}: {len(folder.problems)} problem(s): "
                          + "; ".join(folder.problems))
    return Adapter(path=folder.path, config=folder.config, metadata=folder.metadata,
                   weights=folder.weights)


# -- the stack ------------------------------------------------------------------------------


class _Deltas:
    """Plain holder (not an nn.Module child) so the low-rank factors are not model parameters."""

    def __init__(self, items: list[tuple[mx.array, mx.array, float]]):
        self.items = items


class StackedLoRALinear(nn.Module):
    """A linear layer plus the unfused low-rank updates of every adapter in a stack."""

    def __init__(self, base: nn.Module, deltas: list[tuple[mx.array, mx.array, float]]):
        super().__init__()
        self.base = base
        self._deltas = _Deltas(deltas)

    def __call__(self, x):
        y = self.base(x)
        for a, b, scale in self._deltas.items:
            y = y + (scale * ((x @ a) @ b)).astype(x.dtype)
        return y


def _linear_dims(module: nn.Module) -> tuple[int, int] | None:
    if isinstance(module, nn.QuantizedLinear):
        out_dims, packed = module.weight.shape
        return packed * 32 // module.bits, out_dims
    if isinstance(module, nn.Linear):
        out_dims, in_dims = module.weight.shape
        return in_dims, out_dims
    if isinstance(module, StackedLoRALinear):
        return _linear_dims(module.base)
    return None


@dataclass(frozen=True)
class StackEntry:
    """One adapter in a stack and its LoRA scale (mlx-lm's meaning: the multiplier of B A x)."""

    adapter: Adapter
    scale: float


class AdapterStack:
    """Adapters applied together (style/persona first, task on top), each with a scale.

    Use it as a generator transform: `apply(model)` wraps the layers and returns
    the undo function. Build it with `AdapterStack.for_model(lm, ...)` so the base
    model is checked once, with every problem listed in one error.
    """

    def __init__(self, entries: Iterable[StackEntry | tuple[Adapter | str | Path, float]]):
        self.entries: tuple[StackEntry, ...] = tuple(_entry(e) for e in entries)

    @classmethod
    def for_model(cls, lm, entries: Iterable) -> AdapterStack:
        stack = cls(entries)
        stack.validate(lm)
        return stack

    def with_scales(self, *scales: float) -> AdapterStack:
        """The same adapters with new scales (no reloading)."""
        if len(scales) != len(self.entries):
            raise ValueError(f"expected {len(self.entries)} scales, got {len(scales)}")
        return AdapterStack(StackEntry(e.adapter, _checked_scale(s, e.adapter))
                            for e, s in zip(self.entries, scales))

    @property
    def cache_key(self) -> tuple:
        """Identifies this stack for the generator's prompt cache."""
        return ("adapters",) + tuple((str(e.adapter.path), e.scale) for e in self.entries)

    @property
    def perturbation(self) -> dict:
        """Perturbation settings of the style adapter (the first one that has any)."""
        for e in self.entries:
            if e.adapter.perturbation:
                return e.adapter.perturbation
        return {}

    # validation -----------------------------------------------------------------------

    def problems(self, model: nn.Module, lm=None) -> list[str]:
        """Every reason this stack cannot go on `model` (empty when it can)."""
        errors: list[str] = []
        modules = dict(model.named_modules())
        identity = base_identity(lm) if lm is not None else None
        for e in self.entries:
            ad = e.adapter
            label = f"adapter {ad.path}"
            base = ad.metadata.get("base_model") or {}
            if identity and base:
                if base.get("hash") and base["hash"] != identity["hash"]:
                    errors.append(
                        f"{label}: trained on {base.get('id')!r} (architecture {base['hash']}), "
                        f"but the loaded model {identity['id']!r} has architecture "
                        f"{identity['hash']}"
                    )
                elif base.get("id") and identity["id"] and (
                    normalize_model_id(base["id"]) != normalize_model_id(identity["id"])
                ):
                    errors.append(
                        f"{label}: trained on base model {base['id']!r}, not on the loaded "
                        f"{identity['id']!r}"
                    )
            for name, w in sorted(ad.weights.items()):
                layer, leaf = name.rsplit(".", 1)
                module = modules.get(layer)
                dims = _linear_dims(module) if module is not None else None
                if dims is None:
                    errors.append(f"{label}: {layer} is not a linear layer of the model")
                    continue
                in_dims, out_dims = dims
                if leaf == "lora_a" and w.shape[0] != in_dims:
                    errors.append(f"{label}: {name} has {w.shape[0]} input rows, "
                                  f"the layer takes {in_dims}")
                if leaf == "lora_b" and w.shape[1] != out_dims:
                    errors.append(f"{label}: {name} has {w.shape[1]} outputs, "
                                  f"the layer gives {out_dims}")
            for layer in ad.layer_paths():
                if f"{layer}.lora_a" not in ad.weights or f"{layer}.lora_b" not in ad.weights:
                    errors.append(f"{label}: {layer} lacks lora_a or lora_b")
        return errors

    def validate(self, lm) -> None:
        errors = self.problems(lm.model, lm)
        if errors:
            raise AdapterMismatch(
                f"{len(errors)} problem(s) with the adapter stack: " + "; ".join(errors)
            )

    # applying ------------------------------------------------------------------------

    def _deltas_by_layer(self) -> dict[str, list[tuple[mx.array, mx.array, float]]]:
        by_layer: dict[str, list] = {}
        for e in self.entries:
            if e.scale == 0:
                continue
            c = e.scale
            for layer in e.adapter.layer_paths():
                a = e.adapter.weights[f"{layer}.lora_a"]
                b = e.adapter.weights[f"{layer}.lora_b"]
                by_layer.setdefault(layer, []).append((a, b, c))
        return by_layer

    def apply(self, model: nn.Module) -> Callable[[], None]:
        """Wrap the adapted layers of `model`; call the result to restore them."""
        errors = self.problems(model)
        if errors:
            raise AdapterMismatch(f"{len(errors)} problem(s) with the adapter stack: "
                                  + "; ".join(errors))
        modules = dict(model.named_modules())
        originals, wrapped = [], []
        for layer, deltas in self._deltas_by_layer().items():
            base = modules[layer]
            dtype = _dtype_of(base)
            deltas = [(a.astype(dtype), b.astype(dtype), c) for a, b, c in deltas]
            originals.append((layer, base))
            wrapped.append((layer, StackedLoRALinear(base, deltas)))
        if wrapped:
            model.update_modules(tree_unflatten(wrapped))

        def undo() -> None:
            if originals:
                model.update_modules(tree_unflatten(originals))

        return undo

    # fusing -------------------------------------------------------------------------

    def fused_weights(self, model: nn.Module) -> dict[str, mx.array]:
        """{'<layer>.weight': W + sum of scaled deltas} for every adapted float layer."""
        modules = dict(model.named_modules())
        out = {}
        for layer, deltas in self._deltas_by_layer().items():
            base = modules[layer]
            if isinstance(base, StackedLoRALinear):
                base = base.base
            if isinstance(base, nn.QuantizedLinear):
                raise KillahError(
                    f"cannot fuse into quantized layer {layer}: fusing into a quantized base loses "
                    "the adapter's effect; load the model in float (dtype float32/bfloat16) first"
                )
            w = base.weight
            delta = sum(((c * b.T.astype(mx.float32)) @ a.T.astype(mx.float32))
                        for a, b, c in deltas)
            out[f"{layer}.weight"] = (w.astype(mx.float32) + delta).astype(w.dtype)
        return out

    def fuse_into(self, model: nn.Module) -> None:
        """Bake the stack into a float model's weights, in place (for export, not for run time)."""
        weights = self.fused_weights(model)
        model.load_weights(list(weights.items()), strict=False)
        mx.eval(model.parameters())


def fuse_and_export(lm, stack: AdapterStack, out_dir: str | Path) -> Path:
    """Write a standalone MLX model folder: the float base with `stack` fused in."""
    from mlx_lm.utils import save

    from engine.atomic import staging_dir

    stack.validate(lm)
    weights = stack.fused_weights(lm.model)
    original = {k: v for k, v in tree_flatten(lm.model.parameters()) if k in weights}
    out_dir = Path(out_dir).expanduser()
    lm.model.load_weights(list(weights.items()), strict=False)
    try:
        with staging_dir(out_dir) as tmp:
            save(tmp, lm.path, lm.model, lm.tokenizer, dict(lm.config), donate_model=False)
            (tmp / "killah_fused.json").write_text(
                json.dumps(
                    {
                        "base_model": base_identity(lm),
                        "adapters": [
                            {"path": str(e.adapter.path), "scale": e.scale, "name": e.adapter.name}
                            for e in stack.entries
                        ],
                    },
                    indent=2,
                )
            )
    finally:
        lm.model.load_weights(list(original.items()), strict=False)
    return out_dir


def _dtype_of(module: nn.Module):
    if isinstance(module, StackedLoRALinear):
        return _dtype_of(module.base)
    if isinstance(module, nn.QuantizedLinear):
        return module.scales.dtype
    return module.weight.dtype


def _entry(e) -> StackEntry:
    """StackEntry from an entry, an adapter (or its path), or (adapter, scale); scale None = as
    trained."""
    if isinstance(e, StackEntry):
        return e
    if isinstance(e, (str, Path, Adapter)):
        e = (e, None)
    adapter, scale = e
    if not isinstance(adapter, Adapter):
        adapter = load_adapter(adapter)
    return StackEntry(adapter, _checked_scale(adapter.lora_scale if scale is None else scale,
                                              adapter))


def _checked_scale(scale, adapter: Adapter) -> float:
    """A finite scale within +-MAX_LORA_SCALE (0 turns the adapter off)."""
    try:
        value = float(scale)
    except (TypeError, ValueError):
        raise KillahError(f"adapter {adapter.path}: scale {scale!r} is not a number") from None
    if not math.isfinite(value) or abs(value) > MAX_LORA_SCALE:
        raise KillahError(f"adapter {adapter.path}: scale {value:g} is outside "
                          f"-{MAX_LORA_SCALE:g}..{MAX_LORA_SCALE:g}")
    return value
