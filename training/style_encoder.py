"""Train Killah's style encoder: LoRA + a projection head over multilingual-e5-small, in MLX.

    python -m engine.runtime_exec -m training.style_encoder DATA_DIR \\
        [--out resources/style-encoder] [--run-dir runs/style-encoder] [--minutes 40]

DATA_DIR is the shared data folder (style_bench/bible_parallel, corpora/{en,ru}). Each step
takes a batch of triplets from one source (Bible versions, English or Russian corpus
authors) and minimises InfoNCE: the anchor must pick its positive (same style, other
content) among every positive and negative of the batch, where each negative has the
anchor's content (Bible: the same verses in another version; synthetic: the same text under
another surface transformation) or its topic (corpora: the nearest passage of another author
by word TF-IDF). Candidates that share the anchor's style
label are masked out of the denominator. The held-out authors are never read.

Resumable: the LoRA and head weights, the optimizer state and the step go to --run-dir
every --save-every steps (atomically), and a rerun continues from there. --minutes stops
the run cleanly (checkpoint written) so that one heavy job fits the team's 45-minute slot;
either way the current weights are scored on the dev split and written to --out.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import mlx.core as mx
import mlx.optimizers as optim
import numpy as np
from mlx import nn
from mlx.utils import tree_flatten, tree_unflatten

from engine.encoders import E5_SMALL
from engine.encoders.tuning import TunedEncoder, TuneSpec
from training import style_data

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "resources" / "style-encoder"
SOURCES = {"bible": 0.3, "en": 0.3, "ru": 0.25, "synthetic": 0.15}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m training.style_encoder",
                                description=__doc__.splitlines()[0])
    p.add_argument("data", type=Path, help="the shared data folder")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    p.add_argument("--run-dir", type=Path, default=ROOT / ".runs" / "style-encoder")
    p.add_argument("--steps", type=int, default=600)
    p.add_argument("--batch", type=int, default=16, help="triplets per step")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--rank", type=int, default=8)
    p.add_argument("--scale", type=float, default=2.0, help="LoRA scale")
    p.add_argument("--layers", type=int, default=6, help="first N layers of e5-small")
    p.add_argument("--head-dim", type=int, default=256)
    p.add_argument("--max-tokens", type=int, default=128, help="input cut at inference")
    p.add_argument("--train-tokens", type=int, default=80, help="input cut while training")
    p.add_argument("--temperature", type=float, default=0.05)
    p.add_argument("--save-every", type=int, default=25)
    p.add_argument("--snapshot-every", type=int, default=50,
                   help="keep the weights of every Nth step in RUN_DIR/snapshots (dev selection)")
    p.add_argument("--minutes", type=float, default=40.0, help="stop (checkpointed) after this")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-eval", action="store_true", help="skip the dev evaluation (pilots)")
    p.add_argument("--head-only", action="store_true",
                   help="freeze the encoder and train only the head on pooled outputs (minutes)")
    p.add_argument("--head-triplets", type=int, default=800,
                   help="with --head-only: triplets taken from each source")
    p.add_argument("--export", type=int, metavar="STEP",
                   help="no training: write RUN_DIR's snapshot of STEP to --out (dev selection)")
    return p


def triplet_pools(data: Path, seed: int) -> dict[str, list[style_data.Triplet]]:
    windows = style_data.bible(data, "train")
    en, ru = style_data.corpus(data, "en", "train"), style_data.corpus(data, "ru", "train")
    return {
        "bible": style_data.bible_triplets(windows, 6000, seed),
        "en": style_data.author_triplets(en, 6000, seed),
        "ru": style_data.author_triplets(ru, 6000, seed),
        "synthetic": style_data.synthetic_triplets(en + ru, 6000, seed),
    }


def flatten(batch: list[style_data.Triplet]) -> list[style_data.Passage]:
    """Anchors, then positives, then negatives: the row order the loss expects."""
    return [t.anchor for t in batch] + [t.positive for t in batch] + [t.negative for t in batch]


def info_nce(net: TunedEncoder, ids, mask, labels: np.ndarray, temperature: float) -> mx.array:
    return contrastive_loss(net(ids, mask), labels, temperature)


def contrastive_loss(v: mx.array, labels: np.ndarray, temperature: float) -> mx.array:
    """Rows: B anchors, B positives, B negatives (in that order); labels: the B*3 style labels."""
    b = v.shape[0] // 3
    anchors, candidates = v[:b], v[b:]
    logits = (anchors @ candidates.T) / temperature  # (B, 2B): positives then negatives
    cand_labels = labels[b:]
    same = (labels[:b, None] == cand_labels[None, :]) & ~np.eye(b, 2 * b, dtype=bool)
    logits = mx.where(mx.array(same), -1e9, logits)
    return nn.losses.cross_entropy(logits, mx.arange(b), reduction="mean")


def save_checkpoint(run_dir: Path, net: TunedEncoder, opt: optim.Optimizer, step: int,
                    history: list, command: str = "") -> None:
    from engine.atomic import staging_dir

    with staging_dir(run_dir / "checkpoint") as tmp:
        mx.save_safetensors(str(tmp / "weights.safetensors"), net.changed_weights())
        mx.save_safetensors(str(tmp / "optimizer.safetensors"),
                            dict(tree_flatten(opt.state)))
        (tmp / "state.json").write_text(json.dumps({"step": step, "history": history,
                                                    "command": command}))


def load_checkpoint(run_dir: Path, net: TunedEncoder, opt: optim.Optimizer) -> tuple[int, list]:
    ckpt = run_dir / "checkpoint"
    if not (ckpt / "state.json").is_file():
        return 0, []
    net.load_weights(list(mx.load(str(ckpt / "weights.safetensors")).items()), strict=False)
    opt.state = tree_unflatten(list(mx.load(str(ckpt / "optimizer.safetensors")).items()))
    state = json.loads((ckpt / "state.json").read_text())
    return int(state["step"]), state["history"]


def lora_spec(args: argparse.Namespace) -> TuneSpec:
    return TuneSpec(base=E5_SMALL, lora_rank=args.rank, lora_scale=args.scale, layers=args.layers,
                    head_dim=args.head_dim, normalize=True, max_tokens=args.max_tokens)


def export_snapshot(args: argparse.Namespace, log=print) -> tuple[TunedEncoder, int, list]:
    """The weights RUN_DIR/snapshots kept at step --export, over a fresh base."""
    path = args.run_dir / "snapshots" / f"step-{args.export:05d}.safetensors"
    if not path.is_file():
        raise SystemExit(f"style_encoder: no snapshot {path}")
    net = TunedEncoder.create(lora_spec(args))
    net.load_weights(list(mx.load(str(path)).items()), strict=False)
    state = args.run_dir / "checkpoint" / "state.json"
    history = json.loads(state.read_text())["history"] if state.is_file() else []
    net.eval()
    return net, args.export, [h for h in history if h[0] <= args.export]


def train(args: argparse.Namespace, log=print) -> tuple[TunedEncoder, int, list]:
    mx.random.seed(args.seed)
    net = TunedEncoder.create(lora_spec(args))
    pools = triplet_pools(args.data, args.seed)
    log(json.dumps({k: len(v) for k, v in pools.items()}))
    schedule = optim.cosine_decay(args.lr, args.steps, end=args.lr * 0.1)
    opt = optim.AdamW(learning_rate=schedule, weight_decay=0.01)
    step, history = load_checkpoint(args.run_dir, net, opt)
    if step:
        log(f"resumed at step {step}")
    net.train()
    loss_grad = nn.value_and_grad(net, info_nce)
    start = time.monotonic()
    while step < args.steps:
        rng = random.Random(f"{args.seed}/{step}")  # the batch depends only on the step
        source = rng.choices(list(SOURCES), weights=list(SOURCES.values()))[0]
        batch = rng.sample(pools[source], args.batch)
        parts = flatten(batch)
        ids, mask = net.batch([p.text for p in parts], max_tokens=args.train_tokens)
        labels = np.array([p.label for p in parts])
        loss, grads = loss_grad(net, ids, mask, labels, args.temperature)
        opt.update(net, grads)
        mx.eval(net.parameters(), opt.state, loss)
        step += 1
        history.append([step, source, round(loss.item(), 4)])
        if step % 5 == 0:
            recent = [h[2] for h in history[-25:]]
            log(f"step {step}/{args.steps} {source} loss {loss.item():.3f} "
                f"(mean of last {len(recent)}: {np.mean(recent):.3f}) "
                f"{(time.monotonic() - start) / 60:.1f} min")
        if step % args.save_every == 0 or step == args.steps:
            save_checkpoint(args.run_dir, net, opt, step, history, getattr(args, "command", ""))
        if args.snapshot_every and step % args.snapshot_every == 0:
            snap = args.run_dir / "snapshots"
            snap.mkdir(parents=True, exist_ok=True)
            mx.save_safetensors(str(snap / f"step-{step:05d}.safetensors"), net.changed_weights())
        if (time.monotonic() - start) / 60 > args.minutes:
            save_checkpoint(args.run_dir, net, opt, step, history, getattr(args, "command", ""))
            log(f"stopped at step {step} after {args.minutes} min; rerun to continue")
            break
    net.eval()
    return net, step, history


def train_head(args: argparse.Namespace, log=print) -> tuple[TunedEncoder, int, list]:
    """The cheap variant: the encoder frozen, its pooled outputs computed once, the head trained."""
    spec = TuneSpec(base=E5_SMALL, lora_rank=0, train_base=False, layers=args.layers,
                    head_dim=args.head_dim, normalize=True, max_tokens=args.max_tokens)
    mx.random.seed(args.seed)
    net = TunedEncoder.create(spec)
    rng = random.Random(args.seed)
    pools = {k: rng.sample(v, min(len(v), args.head_triplets)) for k, v in
             triplet_pools(args.data, args.seed).items()}
    texts = sorted({p.text for pool in pools.values() for t in pool
                    for p in (t.anchor, t.positive, t.negative)})
    log(f"pooling {len(texts)} texts through the frozen encoder")
    feats = mx.array(net._encoder.encode(texts, max_tokens=args.train_tokens, normalize=False))
    row = {t: i for i, t in enumerate(texts)}
    opt = optim.AdamW(learning_rate=args.lr, weight_decay=0.01)
    history: list = []

    def loss_fn(head_net, x, labels):
        return contrastive_loss(head_net.project(x), labels, args.temperature)

    loss_grad = nn.value_and_grad(net, loss_fn)
    for step in range(1, args.steps + 1):
        r = random.Random(f"{args.seed}/{step}")
        source = r.choices(list(SOURCES), weights=list(SOURCES.values()))[0]
        batch = r.sample(pools[source], args.batch)
        parts = flatten(batch)
        x = feats[mx.array([row[p.text] for p in parts])]
        loss, grads = loss_grad(net, x, np.array([p.label for p in parts]))
        opt.update(net, grads)
        mx.eval(net.parameters(), opt.state, loss)
        history.append([step, source, round(loss.item(), 4)])
        if step % 100 == 0:
            log(f"step {step}/{args.steps} loss {np.mean([h[2] for h in history[-100:]]):.3f}")
    net.eval()
    return net, args.steps, history


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    style_data.require(args.data, "corpora")
    names = {str(args.data): "DATA_DIR", str(args.run_dir): "RUN_DIR", str(args.out): "OUT"}
    args.command = "python -m engine.runtime_exec -m training.style_encoder " + " ".join(
        names.get(a, a) for a in (sys.argv[1:] if argv is None else argv))  # no machine paths
    fit = export_snapshot if args.export else train_head if args.head_only else train
    net, step, history = fit(args, log=lambda m: print(m, file=sys.stderr, flush=True))
    from training.style_eval import dev_report, public

    report = {} if args.no_eval else public(dev_report(args.data, net.encode))
    command = args.command
    if args.export:  # the options of the run that made the snapshot are in its checkpoint
        state = args.run_dir / "checkpoint" / "state.json"
        trained = json.loads(state.read_text()).get("command") if state.is_file() else None
        command = f"{trained or '(the run in RUN_DIR)'}; then {command}"
    meta = {"command": command,
            "trained_on": "Bible versions (Genesis, Mark; not Ruth, Jonah, James), corpora "
                          "train authors (dev authors and held-out authors excluded)",
            "steps": step, "planned_steps": None if args.export else args.steps,
            "exported_snapshot": bool(args.export),
            "final_loss": float(np.mean([h[2] for h in history[-50:]])) if history else None,
            "dev": report}
    net.save(args.out, meta=meta)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
