"""DPO on the rewrite task adapter: prefer the faithful, better candidate of each pair.

    python -m engine.runtime_exec -m training.tasks.dpo --pairs preferences.jsonl \
        --adapter resources/adapters/rewrite --run-dir RUN [--beta 0.1] [--iters 60]

The loss is DPO's (Rafailov et al. 2023), on completion tokens only:

    L = -log sigmoid(beta * ((log pi(y_w|x) - log ref(y_w|x)) - (log pi(y_l|x) - log ref(y_l|x))))
        + alpha * NLL(y_w|x) / |y_w|

with the policy initialised from the SFT adapter (mlx-lm's LoRA layers) and the reference
the same adapter frozen: beta is the weight of the implicit KL to the reference. The
second term (`--sft-weight` alpha, the chosen answer's per-token NLL, as in RPO, Pang et
al. 2024) keeps the chosen answers likely: without it, 26 pairs drove the pilot's
likelihoods into degenerate text (docs/rewrite.md). The reference never changes, so its
log-probs are computed once before training instead of keeping a second model.

A share of the pairs (by source) is held out: every `--eval-every` steps their DPO loss,
preference accuracy and the chosen answers' NLL are measured, the best adapter so far (by
held-out loss) is kept, and training stops after `--patience` evaluations without a
better one. Checkpoints (adapter + Adam state + step) use training.fit's crash-safe
format: re-running the same command resumes. Progress goes out as engine.progress events
(stage "dpo"); a CancelToken stops it at the next step, after a checkpoint.
`mlx-lm-lora` implements the same loss, but it brings datasets/pyarrow/pandas and a
second reference model; this is the loss written on mlx-lm's tuner instead (docs/rewrite.md).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

from engine.progress import Cancelled, CancelToken, ProgressCallback, report_progress


def load_pairs(path: Path) -> list[dict]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not rows:
        raise SystemExit(f"training.tasks.dpo: {path} has no preference pairs")
    return rows


def encode_pairs(tokenizer, rows: list[dict], max_len: int = 256) -> list[tuple[list[int], int, list[int], int]]:
    """(chosen ids, completion start, rejected ids, completion start) per pair, BOS first."""
    bos = [tokenizer.bos_token_id] if getattr(tokenizer, "bos_token_id", None) is not None else []
    out = []
    for r in rows:
        prompt = bos + tokenizer.encode(r["prompt"], add_special_tokens=False)
        c = prompt + tokenizer.encode(r["chosen"], add_special_tokens=False)
        j = prompt + tokenizer.encode(r["rejected"], add_special_tokens=False)
        out.append((c[:max_len], len(prompt), j[:max_len], len(prompt)))
    return out


def batch_arrays(items: list[tuple[list[int], int]]):
    """Right-padded ids, and a mask that is 1 on each row's completion targets."""
    import mlx.core as mx
    import numpy as np

    width = max(len(ids) for ids, _ in items)
    ids = np.zeros((len(items), width), np.int32)
    mask = np.zeros((len(items), width - 1), np.float32)
    for i, (row, start) in enumerate(items):
        ids[i, : len(row)] = row
        mask[i, start - 1 : len(row) - 1] = 1.0
    return mx.array(ids), mx.array(mask)


def sequence_logps(model, ids, mask):
    """Sum of log p(token) over the masked (completion) positions of each row, and the number
    of those positions; the output layer runs only from the first completion position on."""
    import mlx.core as mx
    from mlx import nn

    from training.completions import _output_layer

    first = int(mx.argmax(mask.sum(axis=0) > 0).item())  # no row's completion starts before this
    inner, head = _output_layer(model)
    logits = head(inner(ids[:, :-1])[:, first:]).astype(mx.float32)
    nll = nn.losses.cross_entropy(logits, ids[:, 1 + first :], reduction="none")
    return -(nll * mask[:, first:]).sum(axis=-1), mask.sum(axis=-1)


def dpo_loss(policy_c, policy_r, ref_c, ref_r, beta: float, chosen_tokens=None,
             sft_weight: float = 0.0):
    """(loss, preference accuracy, mean reward margin) for a batch of pairs' sequence log-probs."""
    import mlx.core as mx
    from mlx import nn

    margin = (policy_c - ref_c) - (policy_r - ref_r)
    loss = -nn.log_sigmoid(beta * margin).mean()
    if sft_weight and chosen_tokens is not None:
        loss = loss + sft_weight * mx.mean(-policy_c / mx.maximum(chosen_tokens, 1))
    return loss, mx.mean((margin > 0).astype(mx.float32)), mx.mean(beta * margin)


def split_pairs(rows: list[dict], valid_share: float, seed: int) -> tuple[list[int], list[int]]:
    """Indices of training and held-out pairs; pairs of one source stay on one side."""
    keys = [r.get("source") or r["prompt"] for r in rows]
    sources = sorted(set(keys))
    random.Random(seed).shuffle(sources)
    held = set(sources[: int(len(sources) * valid_share)]) if len(sources) > 1 else set()
    return [i for i, k in enumerate(keys) if k not in held], [i for i, k in enumerate(keys) if k in held]


def run(args, progress: ProgressCallback | None = None, cancel: CancelToken | None = None) -> dict:
    """Train (or resume) DPO on `args.adapter` with `args.pairs`; returns the run summary."""
    import mlx.core as mx
    import mlx.optimizers as optim
    from mlx import nn
    from mlx.utils import tree_flatten
    from mlx_lm.tuner.utils import linear_to_lora_layers, remove_lora_layers

    from engine import atomic
    from engine.adapters import ADAPTER_CONFIG, ADAPTER_WEIGHTS
    from engine.models import load_model
    from training.checkpoint import CHECKPOINT, read_checkpoint, restore_checkpoint, save_checkpoint

    run_dir = Path(args.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    lm = load_model(args.model)
    model = lm.model
    adapter_dir = Path(args.adapter)
    config = json.loads((adapter_dir / ADAPTER_CONFIG).read_text(encoding="utf-8"))
    rows = load_pairs(Path(args.pairs))
    train_idx, valid_idx = split_pairs(rows, args.valid_share, args.seed)
    identity = (f"dpo:{args.pairs}:{args.adapter}:{args.beta}:{args.sft_weight}:"
                f"{args.learning_rate}:{args.batch_size}:{args.valid_share}:{args.seed}")
    model.freeze()
    layers = config.get("num_layers", -1)
    linear_to_lora_layers(model, layers if layers > 0 else len(model.layers), config["lora_parameters"])
    try:
        sft = {k: v.astype(mx.float32) for k, v in mx.load(str(adapter_dir / ADAPTER_WEIGHTS)).items()}
        model.load_weights(list(sft.items()), strict=False)
        pairs = encode_pairs(lm.tokenizer, rows)

        def arrays(b):
            return (*batch_arrays([pairs[i][:2] for i in b]), *batch_arrays([pairs[i][2:] for i in b]))

        def batches_of(idx, shuffle_seed=None):
            idx = list(idx)
            if shuffle_seed is not None:
                random.Random(shuffle_seed).shuffle(idx)
            return [idx[i : i + args.batch_size] for i in range(0, len(idx), args.batch_size)]

        model.eval()  # the reference: the SFT adapter, no dropout, computed once
        ref: dict[int, tuple[float, float]] = {}
        for b in batches_of(range(len(pairs))):
            c_ids, c_mask, r_ids, r_mask = arrays(b)
            (rc, _), (rr, _) = sequence_logps(model, c_ids, c_mask), sequence_logps(model, r_ids, r_mask)
            mx.eval(rc, rr)
            ref.update({i: (float(rc[k].item()), float(rr[k].item())) for k, i in enumerate(b)})
            if cancel is not None:
                cancel.raise_if_cancelled()

        def losses(m, b):
            c_ids, c_mask, r_ids, r_mask = arrays(b)
            pc, nc = sequence_logps(m, c_ids, c_mask)
            pr, _ = sequence_logps(m, r_ids, r_mask)
            ref_c, ref_r = mx.array([ref[i][0] for i in b]), mx.array([ref[i][1] for i in b])
            loss, acc, reward = dpo_loss(pc, pr, ref_c, ref_r, args.beta, nc, args.sft_weight)
            return loss, (acc, reward, mx.mean(-pc / mx.maximum(nc, 1)))

        def evaluate() -> dict:
            model.eval()
            tot = {"loss": 0.0, "accuracy": 0.0, "reward_margin": 0.0, "chosen_nll": 0.0}
            batches = batches_of(valid_idx)
            for b in batches:
                loss, (acc, reward, nll) = losses(model, b)
                for k, v in zip(tot, (loss, acc, reward, nll)):
                    tot[k] += float(v.item()) * len(b)
            model.train()
            return {k: v / max(1, len(valid_idx)) for k, v in tot.items()}

        optimizer = optim.Adam(learning_rate=args.learning_rate)
        start, best, stale = 0, None, 0
        found = read_checkpoint(run_dir / CHECKPOINT)
        if found and found[1].get("plan") == identity:
            restore_checkpoint(found[0], model, optimizer)
            start = int(found[1]["step"])
        state_path = run_dir / "dpo-state.json"
        if start and state_path.is_file():
            saved = json.loads(state_path.read_text("utf-8"))
            best, stale = saved.get("best"), int(saved.get("stale", 0))
        model.train()
        step_fn = nn.value_and_grad(model, losses)
        per_epoch = max(1, -(-len(train_idx) // args.batch_size))
        tic = time.perf_counter()
        history, status, step = [], "done", start

        def checkpoint(at: int) -> None:
            save_checkpoint(run_dir / CHECKPOINT, model, optimizer, at, identity)
            atomic.write_json(state_path, {"best": best, "stale": stale})

        def emit(rec: dict, message: str) -> None:
            log.write(json.dumps(rec) + "\n")
            log.flush()
            key = "train_loss" if rec["event"] == "train" else "val_loss"  # fit's names (training.progress)
            report_progress(progress, "dpo", rec["step"], args.iters, "step", message, **rec, **{key: rec["loss"]})

        with open(run_dir / "progress.jsonl", "a", encoding="utf-8") as log:
            if start == 0 and valid_idx:
                best = {"step": 0, **evaluate()}
                emit({"event": "val", **best, "time": time.time()}, f"held-out loss {best['loss']:.3f}")
            for step in range(start, args.iters):
                if cancel is not None and cancel.cancelled:
                    checkpoint(step)
                    status = "cancelled"
                    break
                epoch, k = divmod(step, per_epoch)
                b = batches_of(train_idx, args.seed + epoch)[k]
                (loss, (acc, reward, nll)), grads = step_fn(model, b)
                optimizer.update(model, grads)
                mx.eval(model.parameters(), optimizer.state, loss)
                rec = {"event": "train", "step": step + 1, "iters": args.iters, "loss": float(loss.item()),
                       "accuracy": float(acc.item()), "reward_margin": float(reward.item()),
                       "chosen_nll": float(nll.item()), "time": time.time()}
                history.append(rec)
                emit(rec, f"loss {rec['loss']:.3f}")
                if valid_idx and (step + 1) % args.eval_every == 0:
                    val = {"step": step + 1, **evaluate()}
                    emit({"event": "val", **val, "time": time.time()}, f"held-out loss {val['loss']:.3f}")
                    if best is None or val["loss"] < best["loss"]:
                        best, stale = val, 0
                        with atomic.writing(run_dir / "best.safetensors") as tmp:
                            mx.save_safetensors(str(tmp), dict(tree_flatten(model.trainable_parameters())))
                    else:
                        stale += 1
                        if stale >= args.patience:
                            status = "stopped early"
                            break
                if (step + 1) % args.save_every == 0 and step + 1 < args.iters:
                    checkpoint(step + 1)
        weights = dict(tree_flatten(model.trainable_parameters()))
    finally:
        remove_lora_layers(model)  # the loaded model is shared: leave it as it was
    if status == "cancelled":
        raise Cancelled(f"DPO cancelled at step {step}; re-run the same command to resume")
    kept = "final"
    if best is not None and best["step"] and (run_dir / "best.safetensors").is_file():
        weights, kept = mx.load(str(run_dir / "best.safetensors")), f"best held-out loss (step {best['step']})"
    elif best is not None and best["step"] == 0:
        weights, kept = sft, "the SFT adapter (no step beat it on the held-out pairs)"
    with atomic.writing(run_dir / ADAPTER_WEIGHTS) as tmp:
        mx.save_safetensors(str(tmp), weights)
    atomic.write_json(run_dir / ADAPTER_CONFIG, config)
    summary = {"status": status, "step": step + 1 if history else start, "pairs": len(pairs),
               "train_pairs": len(train_idx), "valid_pairs": len(valid_idx), "beta": args.beta,
               "sft_weight": args.sft_weight, "learning_rate": args.learning_rate,
               "batch_size": args.batch_size, "resumed_from": start, "kept": kept, "best": best,
               "wall_seconds": round(time.perf_counter() - tic, 1), "sft_adapter": str(adapter_dir),
               "first": history[:1], "last": history[-5:], "model_path": str(lm.path),
               "plan": {"iters": args.iters}}
    atomic.write_json(run_dir / "fit.json", summary)
    (run_dir / CHECKPOINT).unlink(missing_ok=True)
    return summary


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m training.tasks.dpo", description=__doc__.split("\n\n")[0])
    p.add_argument("--pairs", required=True, help="preferences.jsonl (training.tasks.selfgen)")
    p.add_argument("--adapter", required=True, help="the SFT task adapter folder")
    p.add_argument("--run-dir", required=True)
    p.add_argument("--model", default=None)
    p.add_argument("--beta", type=float, default=0.1, help="weight of the implicit KL to the SFT adapter")
    p.add_argument("--sft-weight", type=float, default=0.5, help="weight of the chosen answers' NLL")
    p.add_argument("--learning-rate", type=float, default=2e-5)
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--iters", type=int, default=60)
    p.add_argument("--valid-share", type=float, default=0.15, help="pairs held out for early stopping")
    p.add_argument("--eval-every", type=int, default=10)
    p.add_argument("--patience", type=int, default=2, help="evaluations without a better held-out loss")
    p.add_argument("--save-every", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    return p


def main(argv: list[str] | None = None) -> int:
    from training.progress import CliProgress

    args = build_parser().parse_args(argv)
    with CliProgress() as bar:
        summary = run(args, progress=bar)
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    from engine.runtime import ensure_openblas

    ensure_openblas()
    sys.exit(main())
