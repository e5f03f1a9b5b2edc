"""Planning a fit: settings by model size, fitted to the corpus and to the memory at hand.

`plan(cfg, lm, train_lengths, n_valid)` resolves every setting (asked > size default),
shrinks it for small corpora, estimates peak memory and, while it does not fit, halves
the batch (doubling gradient accumulation), turns on gradient checkpointing and shortens
sequences, recording each change in `FitPlan.notes`.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, field

from engine.errors import KillahError

ALL_KEYS = (
    "self_attn.q_proj",
    "self_attn.k_proj",
    "self_attn.v_proj",
    "self_attn.o_proj",
    "mlp.gate_proj",
    "mlp.up_proj",
    "mlp.down_proj",
)

# Defaults by model size (parameters, billions). Measured: the <=1.5B row is the recipe that
# moved Gemma 3 270M's Austen attribution 0.20 -> 0.95 in one epoch (research/style-baselines.md)
# and that our own runs confirm (docs/training.md); the >6B row is the seeds' recipe tuned on
# 8-14B models. The middle row is interpolated, not measured.
SIZE_DEFAULTS: tuple[tuple[float, dict], ...] = (
    (1.5, dict(rank=16, scale=10.0, dropout=0.05, learning_rate=1e-4, batch_size=8,
               grad_accumulation_steps=1, max_seq_length=1024, grad_checkpoint=False)),
    (6.0, dict(rank=32, scale=4.0, dropout=0.1, learning_rate=5e-5, batch_size=4,
               grad_accumulation_steps=1, max_seq_length=1024, grad_checkpoint=False)),
    (math.inf, dict(rank=64, scale=2.0, dropout=0.15, learning_rate=1e-5, batch_size=1,
                    grad_accumulation_steps=2, max_seq_length=1024, grad_checkpoint=True)),
)


@dataclass(frozen=True)
class FitConfig:
    data: str = field(
        default="", metadata={"help": "folder with train.jsonl / valid.jsonl (mlx-lm text format)"}
    )
    model: str | None = field(
        default=None, metadata={"help": "base model (default: the bundled Gemma 3 270M)"}
    )
    run_dir: str | None = field(
        default=None, metadata={"help": "run folder (default: runs/<data hash>)"}
    )
    rank: int | None = field(default=None, metadata={"help": "LoRA rank (default by model size)"})
    scale: float | None = field(
        default=None, metadata={"help": "LoRA scale (default by model size)"}
    )
    dropout: float | None = field(default=None, metadata={"help": "LoRA dropout"})
    keys: tuple[str, ...] | None = field(
        default=None,
        metadata={"help": "layer keys to adapt (default: all attention and MLP projections)"},
    )
    num_layers: int = field(default=-1, metadata={"help": "adapt the last N layers (-1: all)"})
    learning_rate: float | None = field(default=None, metadata={"help": "Adam learning rate"})
    warmup: int = field(default=0, metadata={"help": "linear warmup steps"})
    iters: int | None = field(
        default=None, metadata={"help": "training steps (default: `epochs` over the training set)"}
    )
    epochs: float = field(default=0.87, metadata={"help": "epochs when --iters is not given"})
    batch_size: int | None = field(default=None, metadata={"help": "examples per step"})
    grad_accumulation_steps: int | None = field(
        default=None, metadata={"help": "steps per optimizer update"}
    )
    max_seq_length: int | None = field(
        default=None, metadata={"help": "longest sequence in tokens (longer ones are cut)"}
    )
    grad_checkpoint: bool | None = field(
        default=None, metadata={"help": "recompute activations to save memory"}
    )
    seed: int = field(default=0, metadata={"help": "seed for LoRA init, dropout and data order"})
    steps_per_report: int = field(default=10, metadata={"help": "steps between progress reports"})
    steps_per_eval: int = field(default=100, metadata={"help": "steps between validation passes"})
    val_batches: int = field(default=25, metadata={"help": "validation batches per pass (-1: all)"})
    save_every: int = field(default=25, metadata={"help": "steps between checkpoints"})
    memory_limit_gb: float | None = field(
        default=None, metadata={"help": "memory the run may use (default: measured)"}
    )
    fresh: bool = field(
        default=False, metadata={"help": "ignore an existing checkpoint and start over"}
    )


@dataclass
class FitPlan:
    """The settings a run actually uses, and why they differ from the asked ones."""

    model_id: str
    model_params: int
    n_train: int
    n_valid: int
    train_tokens: int
    rank: int
    scale: float
    dropout: float
    keys: list[str]
    num_layers: int
    learning_rate: float
    warmup: int
    iters: int
    batch_size: int
    grad_accumulation_steps: int
    max_seq_length: int
    grad_checkpoint: bool
    seed: int
    memory_estimate_gb: float
    memory_budget_gb: float
    notes: list[str] = field(default_factory=list)

    def lora_parameters(self) -> dict:
        return {
            "rank": self.rank,
            "scale": self.scale,
            "dropout": self.dropout,
            "keys": list(self.keys),
        }

    def identity_hash(self) -> str:
        """What a checkpoint must share with the run that resumes it (iters may change)."""
        keep = {
            k: v
            for k, v in asdict(self).items()
            if k not in ("iters", "notes", "memory_estimate_gb", "memory_budget_gb")
        }
        return hashlib.sha256(json.dumps(keep, sort_keys=True).encode()).hexdigest()[:16]


# -- planning ---------------------------------------------------------------------------------


def size_defaults(n_params: int) -> dict:
    billions = n_params / 1e9
    for limit, values in SIZE_DEFAULTS:
        if billions <= limit:
            return dict(values)
    return dict(SIZE_DEFAULTS[-1][1])


def available_memory_gb() -> float:
    """Memory a training run may use here: the GPU's working set, or a share of free RAM."""
    import mlx.core as mx

    try:
        info = mx.device_info()
    except Exception:  # noqa: BLE001 - older mlx
        info = {}
    if mx.metal.is_available() and info.get("max_recommended_working_set_size"):
        return 0.85 * info["max_recommended_working_set_size"] / 1e9
    if info.get("memory_size") and not _is_cpu():
        return 0.85 * info["memory_size"] / 1e9
    try:
        with open("/proc/meminfo") as f:
            meminfo = {line.split(":")[0]: int(line.split()[1]) for line in f}
        return 0.5 * meminfo["MemAvailable"] / 1e6
    except (OSError, KeyError, ValueError):
        return 8.0


def _is_cpu() -> bool:
    import mlx.core as mx

    return mx.default_device() == mx.cpu


def estimate_memory_gb(config: dict, n_params: int, weight_bytes: float, lora_params: int,
                       batch: int, seq: int, grad_checkpoint: bool) -> float:
    """A deliberately generous estimate of peak training memory in GB."""
    cfg = dict(config)
    cfg.update(cfg.get("text_config") or {})
    h = cfg.get("hidden_size", 1024)
    inter = cfg.get("intermediate_size", 4 * h)
    layers = cfg.get("num_hidden_layers", 24)
    heads = cfg.get("num_attention_heads", 8)
    vocab = cfg.get("vocab_size", 32000)
    act = 4  # float32 activations on the CPU; bf16 halves it, the estimate stays safe
    tokens = batch * seq
    per_layer = (16 * h + 4 * inter) * act + 2 * heads * seq * act
    activations = (
        tokens * (layers * h * act + per_layer) if grad_checkpoint else tokens * layers * per_layer
    )
    logits = 3 * tokens * vocab * 4  # logits, log-softmax and their gradient, in float32
    total = n_params * weight_bytes + 16 * lora_params + activations + logits
    return 1.3 * total / 1e9  # measured peaks ran 5-13% above the sum of the parts


def lora_param_count(config: dict, keys: list[str], rank: int, num_layers: int) -> int:
    cfg = dict(config)
    cfg.update(cfg.get("text_config") or {})
    h = cfg.get("hidden_size", 1024)
    inter = cfg.get("intermediate_size", 4 * h)
    heads = cfg.get("num_attention_heads", 8)
    kv = cfg.get("num_key_value_heads", heads)
    hd = cfg.get("head_dim", h // heads)
    layers = cfg.get("num_hidden_layers", 24)
    shapes = {
        "self_attn.q_proj": (h, heads * hd), "self_attn.k_proj": (h, kv * hd),
        "self_attn.v_proj": (h, kv * hd), "self_attn.o_proj": (heads * hd, h),
        "mlp.gate_proj": (h, inter), "mlp.up_proj": (h, inter), "mlp.down_proj": (inter, h),
    }
    per_layer = sum(rank * (i + o) for k, (i, o) in shapes.items() if k in keys)
    n = layers if num_layers < 0 else min(num_layers, layers)
    return per_layer * n


def plan(cfg: FitConfig, lm, train_lengths: list[int], n_valid: int) -> FitPlan:
    """Resolve every setting: asked > size default, then fit the corpus and the memory."""
    from mlx.utils import tree_flatten

    params = tree_flatten(lm.model.parameters())
    n_params = sum(v.size for _, v in params)
    weight_bytes = sum(v.nbytes for _, v in params) / max(n_params, 1)
    d = size_defaults(n_params)
    asked = {k: getattr(cfg, k) for k in d if getattr(cfg, k) is not None}
    s = {**d, **asked}
    notes: list[str] = []
    n_train = len(train_lengths)
    if n_train == 0:
        raise KillahError(f"training data {cfg.data}: train.jsonl is empty")
    if n_valid == 0:
        raise KillahError(f"training data {cfg.data}: valid.jsonl is empty")

    longest = max(train_lengths)
    fitted = min(s["max_seq_length"], 32 * math.ceil((longest + 1) / 32))
    if fitted < s["max_seq_length"]:
        s["max_seq_length"] = fitted  # no need to plan memory for length nobody uses
    cut = sum(1 for n in train_lengths if n > s["max_seq_length"])
    if cut:
        notes.append(
            f"{cut} of {n_train} training examples are longer than {s['max_seq_length']} "
            "tokens and will be cut"
        )

    # Small corpora: at least ~8 optimizer steps per epoch, and a validation batch that exists.
    batch = min(s["batch_size"], max(1, n_train // 8), n_valid)
    if batch < s["batch_size"]:
        notes.append(
            f"batch size {s['batch_size']} -> {batch}: only {n_train} training / "
            f"{n_valid} validation examples"
        )
        s["batch_size"] = batch
    if n_train < 64 and "rank" not in asked and s["rank"] > 8:
        notes.append(f"rank {s['rank']} -> 8: small corpus ({n_train} examples)")
        s["rank"] = 8

    keys = list(cfg.keys or ALL_KEYS)
    budget = cfg.memory_limit_gb or available_memory_gb()
    n_lora = lora_param_count(lm.config, keys, s["rank"], cfg.num_layers)

    def need() -> float:
        return estimate_memory_gb(lm.config, n_params, weight_bytes, n_lora, s["batch_size"],
                                  s["max_seq_length"], s["grad_checkpoint"])

    while need() > budget:
        if s["batch_size"] > 1:
            s["batch_size"] //= 2
            s["grad_accumulation_steps"] *= 2
            notes.append(
                f"memory: batch {s['batch_size'] * 2} -> {s['batch_size']}, "
                f"gradient accumulation -> {s['grad_accumulation_steps']} (same effective batch)"
            )
        elif not s["grad_checkpoint"]:
            s["grad_checkpoint"] = True
            notes.append("memory: gradient checkpointing on")
        elif s["max_seq_length"] > 256:
            s["max_seq_length"] = max(256, s["max_seq_length"] // 2)
            notes.append(f"memory: max sequence length -> {s['max_seq_length']} tokens")
        else:
            raise KillahError(
                f"training needs about {need():.1f} GB even at batch 1 and 256 tokens; "
                f"{budget:.1f} GB is available: use a smaller model or free memory"
            )

    effective = s["batch_size"] * s["grad_accumulation_steps"]
    iters = cfg.iters or max(1, round(cfg.epochs * n_train / s["batch_size"]))
    iters = math.ceil(iters / s["grad_accumulation_steps"]) * s["grad_accumulation_steps"]
    if cfg.iters and iters != cfg.iters:
        notes.append(f"iters {cfg.iters} -> {iters}: a multiple of gradient accumulation")
    del effective
    return FitPlan(
        model_id=getattr(lm, "model_id", str(cfg.model)),
        model_params=int(n_params),
        n_train=n_train,
        n_valid=n_valid,
        train_tokens=int(sum(train_lengths)),
        rank=int(s["rank"]),
        scale=float(s["scale"]),
        dropout=float(s["dropout"]),
        keys=keys,
        num_layers=cfg.num_layers,
        learning_rate=float(s["learning_rate"]),
        warmup=cfg.warmup,
        iters=int(iters),
        batch_size=int(s["batch_size"]),
        grad_accumulation_steps=int(s["grad_accumulation_steps"]),
        max_seq_length=int(s["max_seq_length"]),
        grad_checkpoint=bool(s["grad_checkpoint"]),
        seed=cfg.seed,
        memory_estimate_gb=round(need(), 2),
        memory_budget_gb=round(budget, 2),
        notes=notes,
    )
