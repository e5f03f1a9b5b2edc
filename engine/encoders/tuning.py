"""Fine-tuning an encoder: LoRA (or every weight) under mean pooling and an optional linear head.

    spec = TuneSpec(base="all-MiniLM-L6-v2", lora_rank=8, head_dim=1, normalize=False)
    net = TunedEncoder.create(spec)                 # a fresh copy of the base, LoRA applied
    loss, grads = nn.value_and_grad(net, loss_fn)(net, *net.batch(texts))
    net.save("out/", meta={...})                    # encoder.json + weights.safetensors
    TunedEncoder.load("out/").encode(texts)         # LoRA fused: no cost at inference

The saved folder holds only what training changed (LoRA matrices and the head, or for a full
fine-tune every trainable weight) plus the spec naming the base, so it stays small when the
base ships in a package.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from types import SimpleNamespace

import mlx.core as mx
import numpy as np
from mlx import nn
from mlx.utils import tree_flatten, tree_unflatten

from engine.encoders.encoder import MINILM, Encoder, load_uncached
from engine.errors import KillahError

FORMAT = "killah-encoder v1"
ALL_LINEAR = ("attention.query", "attention.key", "attention.value", "attention.out",
              "intermediate", "output")


@dataclass(frozen=True)
class TuneSpec:
    base: str = field(default=MINILM, metadata={"help": "the encoder to start from"})
    lora_rank: int = field(default=8, metadata={"help": "LoRA rank; 0 fine-tunes every weight"})
    lora_scale: float = field(default=2.0, metadata={"help": "LoRA update scale (alpha / rank)"})
    lora_dropout: float = 0.0
    lora_layers: int = field(default=0, metadata={"help": "LoRA on the last N layers (0: all)"})
    lora_keys: tuple[str, ...] = ALL_LINEAR
    train_base: bool = field(default=True, metadata={
        "help": "without LoRA: fine-tune every base weight (True) or only the head (False)"})
    layers: int = field(default=0, metadata={"help": "keep only the base's first N layers (0: all)"})
    head_dim: int = field(default=0, metadata={"help": "linear head after pooling (0: none)"})
    head_bias: bool = False
    normalize: bool = field(default=True, metadata={"help": "L2-normalise the output"})
    max_tokens: int = 256
    role: str = "query"  # e5's prefix for symmetric tasks

    def __post_init__(self):
        if self.lora_rank < 0 or self.layers < 0 or self.head_dim < 0 or self.max_tokens < 8:
            raise ValueError(f"bad tuning spec: {self}")
        unknown = set(self.lora_keys) - set(ALL_LINEAR)
        if unknown:
            raise ValueError(f"unknown LoRA keys {sorted(unknown)}; known: {ALL_LINEAR}")

    @classmethod
    def from_dict(cls, params: dict) -> TuneSpec:
        names = {f.name for f in fields(cls)}
        params = {k: v for k, v in params.items() if k in names}
        if "lora_keys" in params:
            params["lora_keys"] = tuple(params["lora_keys"])
        return cls(**params)


def apply_lora(model: nn.Module, spec: TuneSpec) -> None:
    """Freeze `model` and put LoRA on `spec.lora_keys` of its last `spec.lora_layers` layers."""
    from mlx_lm.tuner.lora import LoRALinear

    model.freeze()
    layers = model.layers[-spec.lora_layers:] if spec.lora_layers else model.layers
    for layer in layers:
        swaps = [(name, LoRALinear.from_base(module, r=spec.lora_rank, scale=spec.lora_scale,
                                             dropout=spec.lora_dropout))
                 for name, module in layer.named_modules() if name in spec.lora_keys]
        layer.update_modules(tree_unflatten(swaps))


def fuse_lora(model: nn.Module) -> None:
    """Fold every LoRA update into its base weight (inference only)."""
    from mlx_lm.tuner.lora import LoRALinear

    fused = [(n, m.fuse()) for n, m in model.named_modules() if isinstance(m, LoRALinear)]
    if fused:
        model.update_modules(tree_unflatten(fused))


class TunedEncoder(nn.Module):
    """Encoder -> mean pooling -> optional linear head -> optional L2 normalisation."""

    def __init__(self, spec: TuneSpec, encoder: Encoder):
        super().__init__()
        self.spec = spec
        self._encoder = encoder  # tokenizer and batching; not a child module
        self.model = encoder.model
        if spec.layers:
            if spec.layers > len(self.model.layers):
                raise KillahError(f"{spec.base} has {len(self.model.layers)} layers, not {spec.layers}")
            self.model.layers = self.model.layers[: spec.layers]
        if spec.lora_rank:
            apply_lora(self.model, spec)
        elif spec.train_base:
            self.model.embeddings.word.freeze()  # the vocabulary table stays as it was
        else:
            self.model.freeze()
        if spec.head_dim:
            self.head = nn.Linear(encoder.dim, spec.head_dim, bias=spec.head_bias)

    @classmethod
    def create(cls, spec: TuneSpec) -> TunedEncoder:
        return cls(spec, load_uncached(spec.base))

    @property
    def dim(self) -> int:
        return self.spec.head_dim or self._encoder.dim

    def __call__(self, ids: mx.array, mask: mx.array) -> mx.array:
        return self.project(self._encoder.pool(ids, mask))

    def project(self, x: mx.array) -> mx.array:
        """Pooled encoder output (B, hidden) -> the output vectors (head, normalisation)."""
        if self.spec.head_dim:
            x = self.head(x)
        if self.spec.normalize:
            x = x / mx.maximum(mx.linalg.norm(x, axis=-1, keepdims=True), 1e-12)
        return x

    def batch(self, texts: Sequence[str], max_tokens: int | None = None) -> tuple[mx.array, mx.array]:
        """Token ids and mask for `texts`, ready for `self(ids, mask)`."""
        return self._encoder.batch(
            self._encoder.tokenize(texts, max_tokens or self.spec.max_tokens, self.spec.role))

    def encode(self, texts: Sequence[str], batch_size: int = 32,
               max_tokens: int | None = None) -> np.ndarray:
        """Inference over `texts` in length-sorted batches: (n, dim) float32."""
        was_training = self.training
        self.eval()
        try:
            return self._encoder.run(texts, self, batch_size, max_tokens or self.spec.max_tokens,
                                     self.spec.role, normalize=False)
        finally:
            self.train(was_training)

    def changed_weights(self) -> dict[str, mx.array]:
        return dict(tree_flatten(self.trainable_parameters()))

    def save(self, path: str | Path, meta: dict | None = None) -> Path:
        """Write encoder.json (format, spec, meta) and weights.safetensors, atomically."""
        from engine.atomic import staging_dir

        path = Path(path)
        with staging_dir(path) as tmp:
            mx.save_safetensors(str(tmp / "weights.safetensors"), self.changed_weights())
            info = {"format": FORMAT, "spec": asdict(self.spec), "meta": meta or {}}
            (tmp / "encoder.json").write_text(json.dumps(info, indent=2, ensure_ascii=False) + "\n")
        return path

    @classmethod
    def load(cls, path: str | Path, fuse: bool = True) -> TunedEncoder:
        """A saved fine-tune over a fresh copy of its base; LoRA fused unless `fuse=False`."""
        path = Path(path)
        try:
            info = json.loads((path / "encoder.json").read_text())
        except (OSError, ValueError) as e:
            raise KillahError(f"tuned encoder {path}: cannot read encoder.json: {e}") from e
        if info.get("format") != FORMAT:
            raise KillahError(f"tuned encoder {path}: format {info.get('format')!r}, "
                              f"expected {FORMAT!r}")
        net = cls.create(TuneSpec.from_dict(info["spec"]))
        net.saved = SimpleNamespace(path=path, meta=info.get("meta", {}))  # not a parameter tree
        weights = mx.load(str(path / "weights.safetensors"))
        expected = net.changed_weights()
        problems = [f"{k}: missing" for k in expected if k not in weights]
        problems += [f"{k}: shape {tuple(v.shape)}, expected {tuple(expected[k].shape)}"
                     for k, v in weights.items() if k in expected and v.shape != expected[k].shape]
        problems += [f"{k}: not a weight of this spec" for k in weights if k not in expected]
        if problems:
            raise KillahError(f"tuned encoder {path}: " + "; ".join(problems[:5]))
        net.load_weights(list(weights.items()), strict=False)
        if fuse:
            fuse_lora(net.model)
        net.freeze()
        net.eval()
        mx.eval(net.parameters())
        return net
