"""DPO on the rewrite task adapter: prefer the faithful, better candidate of each pair.

    python -m engine.runtime_exec -m training.tasks.dpo --pairs preferences.jsonl \
        --adapter resources/adapters/rewrite --run-dir RUN [--beta 0.1] [--iters 60]

The loss is DPO's (Rafailov et al. 2023), on completion tokens only:

    L = -log sigmoid(beta * ((log pi(y_w|x) - log ref(y_w|x)) - (log pi(y_l|x) - log ref(y_l|x))))

with the policy initialised from the SFT adapter (mlx-lm's LoRA layers) and the reference
the same adapter frozen. The reference never changes, so its log-probs are computed once
before training instead of keeping a second model. Checkpoints (adapter + Adam state +
step) use training.fit's crash-safe format: re-running the same command resumes.
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
    """Sum of log p(token) over the masked (completion) positions of each row."""
    import mlx.core as mx
    from mlx import nn

    first = int(mx.argmax(mask.sum(axis=0) > 0).item())  # no row's completion starts before this
    logits = model(ids[:, :-1])[:, first:].astype(mx.float32)
    nll = nn.losses.cross_entropy(logits, ids[:, 1 + first :], reduction="none")
    return -(nll * mask[:, first:]).sum(axis=-1)


def dpo_loss(policy_c, policy_r, ref_c, ref_r, beta: float):
    import mlx.core as mx
    from mlx import nn

    margin = (policy_c - ref_c) - (policy_r - ref_r)
    loss = -nn.log_sigmoid(beta * margin).mean()
    return loss, mx.mean((margin > 0).astype(mx.float32)), mx.mean(beta * margin)


def run(args) -> dict:
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
    model.freeze()
    layers = config.get("num_layers", -1)
    try:
        linear_to_lora_layers(model, layers if layers > 0 else len(model.layers), config["lora_parameters"])
        sft = {k: v.astype(mx.float32) for k, v in mx.load(str(adapter_dir / ADAPTER_WEIGHTS)).items()}
        model.load_weights(list(sft.items()), strict=False)

        rows = load_pairs(Path(args.pairs))
        pairs = encode_pairs(lm.tokenizer, rows)
        rng = random.Random(args.seed)
        order = list(range(len(pairs)))
        rng.shuffle(order)
        batches = [order[i : i + args.batch_size] for i in range(0, len(order), args.batch_size)]

        model.eval()  # the reference: the SFT adapter, no dropout, computed once
        ref = {}
        for b in batches:
            c_ids, c_mask = batch_arrays([pairs[i][:2] for i in b])
            r_ids, r_mask = batch_arrays([pairs[i][2:] for i in b])
            rc, rr = sequence_logps(model, c_ids, c_mask), sequence_logps(model, r_ids, r_mask)
            mx.eval(rc, rr)
            for k, i in enumerate(b):
                ref[i] = (float(rc[k].item()), float(rr[k].item()))

        def loss_fn(m, c_ids, c_mask, r_ids, r_mask, ref_c, ref_r):
            loss, acc, reward = dpo_loss(sequence_logps(m, c_ids, c_mask), sequence_logps(m, r_ids, r_mask),
                                         ref_c, ref_r, args.beta)
            return loss, (acc, reward)

        optimizer = optim.Adam(learning_rate=args.learning_rate)
        start = 0
        found = read_checkpoint(run_dir / CHECKPOINT)
        identity = f"dpo:{args.pairs}:{args.adapter}:{args.beta}:{args.learning_rate}:{args.batch_size}:{args.seed}"
        if found:
            arrays, meta = found
            if meta.get("plan") == identity:
                restore_checkpoint(arrays, model, optimizer)
                start = int(meta["step"])
        model.train()
        step_fn = nn.value_and_grad(model, loss_fn)
        tic = time.perf_counter()
        history = []
        with open(run_dir / "progress.jsonl", "a", encoding="utf-8") as log:
            for step in range(start, args.iters):
                b = batches[step % len(batches)]
                c_ids, c_mask = batch_arrays([pairs[i][:2] for i in b])
                r_ids, r_mask = batch_arrays([pairs[i][2:] for i in b])
                ref_c = mx.array([ref[i][0] for i in b])
                ref_r = mx.array([ref[i][1] for i in b])
                (loss, (acc, reward)), grads = step_fn(model, c_ids, c_mask, r_ids, r_mask, ref_c, ref_r)
                optimizer.update(model, grads)
                mx.eval(model.parameters(), optimizer.state, loss)
                rec = {"event": "train", "step": step + 1, "iters": args.iters, "loss": float(loss.item()),
                       "accuracy": float(acc.item()), "reward_margin": float(reward.item()), "time": time.time()}
                history.append(rec)
                log.write(json.dumps(rec) + "\n")
                log.flush()
                print(json.dumps(rec), file=sys.stderr)
                if (step + 1) % args.save_every == 0 and step + 1 < args.iters:
                    save_checkpoint(run_dir / CHECKPOINT, model, optimizer, step + 1, identity)
        weights = dict(tree_flatten(model.trainable_parameters()))
    finally:
        remove_lora_layers(model)  # the loaded model is shared: leave it as it was
    with atomic.writing(run_dir / ADAPTER_WEIGHTS) as tmp:
        mx.save_safetensors(str(tmp), weights)
    atomic.write_json(run_dir / ADAPTER_CONFIG, config)
    summary = {"status": "done", "step": args.iters, "pairs": len(pairs), "beta": args.beta,
               "learning_rate": args.learning_rate, "batch_size": args.batch_size, "resumed_from": start,
               "wall_seconds": round(time.perf_counter() - tic, 1), "sft_adapter": str(adapter_dir),
               "first": history[:1], "last": history[-5:], "model_path": str(lm.path),
               "plan": {"iters": args.iters}}
    atomic.write_json(run_dir / "fit.json", summary)
    (run_dir / CHECKPOINT).unlink(missing_ok=True)
    return summary


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m training.tasks.dpo", description=__doc__.split("\n\n")[0])
    p.add_argument("--pairs", required=True, help="preferences.jsonl (training.tasks.selfgen)")
    p.add_argument("--adapter", required=True, help="the SFT task adapter folder")
    p.add_argument("--run-dir", required=True)
    p.add_argument("--model", default=None)
    p.add_argument("--beta", type=float, default=0.1)
    p.add_argument("--learning-rate", type=float, default=2e-5)
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--iters", type=int, default=60)
    p.add_argument("--save-every", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    print(json.dumps(run(args), indent=1))
    return 0


if __name__ == "__main__":
    from engine.runtime import ensure_openblas

    ensure_openblas()
    sys.exit(main())
