"""Training checkpoints: adapter weights, optimizer state and the step in one safetensors file.

Written atomically (engine.atomic.writing: a temp file, fsync, rename), so a run
killed at any moment (even SIGKILL) finds the last whole checkpoint when re-run;
training.fit restores it and continues the step count with the same data order.
"""

from __future__ import annotations

from pathlib import Path

from engine.errors import KillahError

RUN_FORMAT = "killah-run v1"
CHECKPOINT = "checkpoint.safetensors"


def save_checkpoint(path: Path, model, optimizer, step: int, plan_hash: str) -> None:
    """Adapter + optimizer state + step in one file, written atomically (engine.atomic)."""
    import mlx.core as mx
    from mlx.utils import tree_flatten

    from engine import atomic

    arrays = {f"adapter.{k}": v for k, v in tree_flatten(model.trainable_parameters())}
    arrays.update({f"optimizer.{k}": v for k, v in tree_flatten(optimizer.state)})
    mx.eval(list(arrays.values()))
    meta = {"format": RUN_FORMAT, "step": str(step), "plan": plan_hash}
    with atomic.writing(path) as tmp:
        mx.save_safetensors(str(tmp), arrays, metadata=meta)


def read_checkpoint(path: Path) -> tuple[dict, dict] | None:
    import mlx.core as mx

    if not path.is_file():
        return None
    try:
        arrays, meta = mx.load(str(path), return_metadata=True)
    except Exception as e:  # noqa: BLE001
        raise KillahError(
            f"checkpoint {path} is unreadable ({e}); delete it or pass --fresh"
        ) from e
    return arrays, meta


def reseed(seed: int, step: int) -> None:
    """Dropout randomness restarts from (seed, step) at every checkpoint step, resumed or not.

    MLX's global key cannot be assigned, so instead of saving it, both an
    uninterrupted run and a resumed one reseed at the same steps.
    """
    import mlx.core as mx

    mx.random.seed((seed * 1_000_003 + step) % 2**63)


def restore_checkpoint(arrays: dict, model, optimizer) -> None:
    from mlx.utils import tree_unflatten

    adapter = [
        (k.removeprefix("adapter."), v) for k, v in arrays.items() if k.startswith("adapter.")
    ]
    model.load_weights(adapter, strict=False)
    opt = [
        (k.removeprefix("optimizer."), v) for k, v in arrays.items() if k.startswith("optimizer.")
    ]
    optimizer.init(model.trainable_parameters())
    state = tree_unflatten(opt)
    optimizer.state = _merge(optimizer.state, state)


def _merge(into, new):
    if isinstance(new, dict):
        for k, v in new.items():
            into[k] = _merge(into.get(k) if isinstance(into, dict) else None, v)
        return into
    if isinstance(new, list):
        base = list(into) if isinstance(into, list) else []
        base += [None] * (len(new) - len(base))
        return [_merge(b, n) for b, n in zip(base, new)]
    return new
