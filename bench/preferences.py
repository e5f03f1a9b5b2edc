"""A simulated writer uses Killah, then `killah train preferences` learns from their choices.

    python -m engine.runtime_exec bench/preferences.py --data DATA_DIR \
        --home /tmp/prefs-home [--author austen] [--ghost 160] [--rephrase 30] [--iters 40]

The simulated writer (say so wherever the numbers are quoted): someone who writes like
one published author (`--author`, from DATA/corpora/en/AUTHOR). Their taste is a hidden
judge, a character n-gram classifier of that author's prose against ten other authors
(TF-IDF + logistic regression, fitted on paragraphs the simulation never shows).

- Ghost text: for a paragraph of the author, the base model continues its first 30-70
  words (the app's prompt, 24 tokens, temperature 0.8). When the judge gives the
  suggestion at least TASTE_ACCEPT, the writer takes it (Tab); otherwise they type over
  it and write the author's own next words (as many as the suggestion had).
- Rephrase: for a sentence of the author, four candidates ranked by the WQRM and checked
  for faithfulness (the app's rerank); the writer clicks the faithful one the judge likes
  best.

Every decision is stored as the app stores it (engine.feedback.Event, in HOME's
feedback.sqlite, in simulation order). Then `killah train preferences` (training/
preferences.py) runs on it, and the bench also generates continuations for the held-out
contexts with the base model and with the new adapter, and scores them with the judge
(does Killah now write more like the writer?).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TASTE_ACCEPT = 0.5
OTHERS = ("carroll", "chesterton", "conan_doyle", "dickens", "lovecraft", "melville", "poe",
          "twain", "wells", "wilde", "austen")


def paragraphs(folder: Path, min_words: int = 60) -> list[str]:
    out = []
    for f in sorted(folder.glob("*.txt")):
        for p in re.split(r"\n\s*\n", f.read_text(encoding="utf-8", errors="replace")):
            p = " ".join(p.split())
            if len(p.split()) >= min_words and not p.isupper():
                out.append(p)
    return out


class Judge:
    """P(the author wrote it): the simulated writer's taste."""

    def __init__(self, data: Path, author: str, paras: list[str], seed: int = 0):
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        rng = random.Random(seed)
        others = [p for a in OTHERS if a != author
                  for p in rng.sample(paragraphs(data / "corpora/en" / a), 120)]
        texts = paras + others
        labels = [1] * len(paras) + [0] * len(others)
        self.vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True,
                                   min_df=2, max_features=60000)
        self.clf = LogisticRegression(C=4.0, max_iter=2000, class_weight="balanced")
        self.clf.fit(self.vec.fit_transform(texts), labels)

    def __call__(self, texts: list[str]) -> list[float]:
        return [float(p) for p in self.clf.predict_proba(self.vec.transform(texts))[:, 1]]


def simulate(args, lm, judge: Judge, ghost_paras: list[str], sentences: list[str]) -> None:
    from engine import tasks
    from engine.feedback import Event, FeedbackStore
    from engine.generate import SamplingOptions, generate_batch
    from engine.quality.rerank import rerank

    rng = random.Random(args.seed)
    store = FeedbackStore()
    if store.count():
        print(f"simulate: {store.count()} events already recorded: kept", file=sys.stderr)
        return
    at = time.time() - 10 * 86400
    opts = SamplingOptions(temperature=0.8, min_p=0.05, max_tokens=24, stop=("\n\n",),
                           seed=args.seed)
    items = []
    for p in ghost_paras:
        words = p.split()
        k = rng.randint(30, min(70, len(words) - 10))
        items.append((" ".join(words[:k]), words[k:]))
    rephrase_at = set(rng.sample(range(len(items) + len(sentences)), len(sentences)))
    queue_r = list(sentences)
    queue_g = list(items)
    order = ["r" if i in rephrase_at else "g" for i in range(len(items) + len(sentences))]
    stats = {"accepted": 0, "own": 0, "rephrase": 0}
    pending: list[tuple[str, list[str]]] = []
    for step, kind in enumerate(order):
        at += 60
        if kind == "g":
            pending.append(queue_g.pop(0))
            if len(pending) < 8 and queue_g:
                continue
            comps = generate_batch(lm, [tasks.build("continue", c) for c, _ in pending],
                                   [opts.replace(seed=args.seed + step + i)
                                    for i in range(len(pending))])
            sugg = [c.text for c in comps]
            tastes = judge(sugg)
            for (context, rest), s, taste in zip(pending, sugg, tastes):
                if not s.strip():
                    continue
                if taste >= TASTE_ACCEPT:
                    store.record(Event("ghost", "accepted", "continue", context, s, at=at))
                    stats["accepted"] += 1
                else:
                    own = " " + " ".join(rest[: max(5, len(s.split()))])
                    store.record(Event("ghost", "rejected", "continue", context, s, final=own,
                                       at=at))
                    stats["own"] += 1
                at += 1
            pending = []
        else:
            source = queue_r.pop(0)
            ranked = rerank(lm, tasks.build("rephrase", source), 4,
                            options=SamplingOptions(temperature=0.8, seed=args.seed + step,
                                                    max_tokens=tasks.max_tokens("rephrase",
                                                                                source)),
                            source=source, task="rephrase")
            texts = [r.text for r in ranked if r.text.strip()]
            if len(texts) < 2:
                continue
            faithful = [r.faithful is not False for r in ranked if r.text.strip()]
            tastes = judge(texts)
            best = max(range(len(texts)), key=lambda i: (faithful[i], tastes[i]))
            store.record(Event("rephrase", "accepted", "rephrase", source, texts[best],
                               alternatives=tuple(t for i, t in enumerate(texts) if i != best),
                               at=at))
            stats["rephrase"] += 1
        print(json.dumps({"step": step + 1, "of": len(order), **stats}), file=sys.stderr,
              flush=True)
    store.close()


def written_like_the_writer(lm, judge: Judge, contexts: list[str], adapter: Path | None,
                            seed: int) -> list[float]:
    from engine import tasks
    from engine.generate import SamplingOptions, generate_batch

    transforms = ()
    if adapter is not None:
        from engine.adapters import AdapterStack, load_adapter

        a = load_adapter(adapter)
        transforms = (AdapterStack.for_model(lm, [(a, a.lora_scale)]),)
    out = []
    for i in range(0, len(contexts), 8):
        batch = contexts[i:i + 8]
        opts = [SamplingOptions(temperature=0.8, min_p=0.05, max_tokens=24, stop=("\n\n",),
                                seed=seed + i + j) for j in range(len(batch))]
        comps = generate_batch(lm, [tasks.build("continue", c) for c in batch], opts,
                               transforms=transforms)
        out += judge([c.text for c in comps])
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True, help="the shared data folder (corpora/en/AUTHOR)")
    p.add_argument("--home", required=True, help="KILLAH_HOME for the simulated writer")
    p.add_argument("--author", default="austen")
    p.add_argument("--ghost", type=int, default=160)
    p.add_argument("--rephrase", type=int, default=30)
    p.add_argument("--iters", type=int, default=40)
    p.add_argument("--min-pairs", type=int, default=40)
    p.add_argument("--stage", choices=("simulate", "train", "all"), default="all")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="write the report (JSON) here too")
    args = p.parse_args(argv)
    data = Path(args.data)
    folder = data / "corpora/en" / args.author
    if not folder.is_dir():
        print(f"bench/preferences.py: no author folder {folder} (--data is the shared data "
              "folder with corpora/en/AUTHOR/*.txt)", file=sys.stderr)
        return 2
    os.environ["KILLAH_HOME"] = str(Path(args.home).expanduser())
    from engine.feedback import FeedbackStore
    from engine.models import load_model
    from training.preferences import PreferencesConfig, bootstrap, clip_context, human, run, split

    paras = paragraphs(folder)
    random.Random(args.seed).shuffle(paras)
    judge_paras, sim = paras[:300], paras[300:]
    ghost_paras = [q for q in sim[:args.ghost] if len(q.split()) >= 45]
    sentences = [s for q in sim[args.ghost:] for s in re.split(r"(?<=[.!?])\s+", q)
                 if 12 <= len(s.split()) <= 40][:args.rephrase]
    tic = time.time()
    judge = Judge(data, args.author, judge_paras, args.seed)
    lm = load_model(None)
    if args.stage in ("simulate", "all"):
        simulate(args, lm, judge, ghost_paras, sentences)
    if args.stage == "simulate":
        return 0
    report = run(PreferencesConfig(iters=args.iters, name=f"{args.author}-writer",
                                   min_pairs=args.min_pairs, seed=args.seed))
    with FeedbackStore() as store:
        events = store.events()
        _, held = split(store.pairs(), 0.2)
    contexts = sorted({clip_context(q.source, 400) for q in held if q.mode == "continue"})
    before = written_like_the_writer(lm, judge, contexts, None, args.seed)
    after = written_like_the_writer(lm, judge, contexts, Path(report["adapter"]), args.seed)
    report["simulated_writer"] = {
        "author": args.author, "events": len(events), "taste_accept": TASTE_ACCEPT,
        "judge_on_new_continuations": {"before": bootstrap(before), "after": bootstrap(after),
                                       "contexts": len(contexts)},
        "wall_seconds": round(time.time() - tic, 1)}
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=1), encoding="utf-8")
    j = report["simulated_writer"]["judge_on_new_continuations"]
    print(human(report))
    print(f"judge: P(the writer's author) of new continuations on {j['contexts']} held-out "
          f"contexts: before {j['before']['mean']:.3f} [{j['before']['low']:.3f}, "
          f"{j['before']['high']:.3f}], after {j['after']['mean']:.3f} "
          f"[{j['after']['low']:.3f}, {j['after']['high']:.3f}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
