"""`python -m engine.quality.train DATA`: fit the WQRM head and write resources/wqrm/.

DATA is a folder with quality_pairs/ (LAMP, BSD-3-Clause), corpora/{en,ru}/AUTHOR/*.txt
(published prose) and heldout/{en,ru}/AUTHOR/*.txt (authors used only for the report).
Steps, deterministic for a given --seed:

1. LAMP pairs and scores, split by source group (engine.quality.data);
   corpus passages, clean and broken (engine.quality.examples);
2. encoder features of every text, cached in --cache (resumable);
3. with --select: each candidate in CANDIDATES scored by 3-fold cross-validation on
   the training side only (LAMP groups and corpus authors kept whole per fold);
4. the chosen head fitted on the whole training side; held-out LAMP accuracies and
   Spearman with group-bootstrap CIs; score distributions per kind on the held-out
   authors (report only), and for each kind again with that kind left out of training;
5. head.safetensors, wqrm.json and report.json written to --out.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

from engine.errors import KillahError
from engine.quality import data as qdata
from engine.quality import evaluate as ev
from engine.quality.assets import WQRM_DIR
from engine.quality.degrade import KINDS
from engine.quality.examples import FeatureCache, Passage, corpus_examples
from engine.quality.fit import FitConfig, Targets, corpus_targets, fit
from engine.quality.head import EXTRA, text_vector

TRAIN_PASSAGES = 220  # 20 per English corpus author
REPORT_PASSAGES = 40  # 20 per held-out English author, every kind
MAX_TRAIN_SCORED = 900  # LAMP 1-10 scored paragraphs of the training side used (seeded sample)
CANDIDATES: dict[str, FitConfig] = {
    "layer2": FitConfig(layers=(2,), metrics=False),
    "layer4": FitConfig(layers=(4,), metrics=False),
    "layers24": FitConfig(layers=(2, 4), metrics=False),
    "layers0-4": FitConfig(layers=(0, 1, 2, 3, 4), metrics=False),
    "layers24+metrics": FitConfig(layers=(2, 4)),
    "layers0-4+metrics": FitConfig(layers=(0, 1, 2, 3, 4)),
    # quality linear over 16 principal components + the metrics; P(broken) from the MLP
    "layers0-4+metrics/linear16": FitConfig(layers=(0, 1, 2, 3, 4), linear=16),
}
DEFAULT = "layers0-4+metrics"


class Run:
    """Everything the fit and the evaluation index into: one list of texts and their roles."""

    def __init__(self, data_dir: Path, seed: int, say: Callable[[dict], None]):
        for sub in ("quality_pairs", "corpora/en", "corpora/ru", "heldout/en", "heldout/ru"):
            if not (data_dir / sub).is_dir():
                raise KillahError(f"training data folder {data_dir} lacks {sub}/")
        self.lamp = qdata.load_quality_data(data_dir / "quality_pairs")
        self.split = qdata.split_by_source(self.lamp, seed)
        self.groups = qdata.source_groups(self.lamp.texts())
        self.corpus = corpus_examples(
            data_dir / "corpora/en", data_dir / "corpora/ru", TRAIN_PASSAGES, seed
        )
        self.report = corpus_examples(
            data_dir / "heldout/en", data_dir / "heldout/ru", REPORT_PASSAGES, seed + 1, len(KINDS)
        )
        in_pairs = {t for p in self.lamp.pairs for t in (p.better, p.worse)}
        scored = [s for s in self.split.train_scored if s.source == "scored_1_10"]
        rng = np.random.default_rng(seed)
        rest = [s for s in scored if s.text not in in_pairs]
        keep = max(0, MAX_TRAIN_SCORED - (len(scored) - len(rest)))
        picked = {int(i) for i in rng.permutation(len(rest))[:keep]}
        self.train_scored = [s for s in scored if s.text in in_pairs] + [
            s for i, s in enumerate(rest) if i in picked
        ]
        self.texts = list(
            dict.fromkeys(
                [p.text for p in self.corpus]
                + sorted(in_pairs)
                + [s.text for s in self.train_scored]
                + [s.text for s in self.split.heldout_scored]
                + [p.text for p in self.report]
            )
        )
        self.index = {t: i for i, t in enumerate(self.texts)}
        say(
            {
                "stage": "examples",
                "texts": len(self.texts),
                "corpus": len(self.corpus),
                "report": len(self.report),
            }
        )

    def matrix(self, cache: FeatureCache, cfg: FitConfig) -> np.ndarray:
        """The head's input rows for every text: pooled features, then the metrics if cfg asks."""
        x = cache.matrix(self.texts, cfg.layers)
        if not cfg.metrics:
            return x
        if not hasattr(self, "_metrics"):
            self._metrics = np.stack([text_vector(t) for t in self.texts]).astype(np.float32)
        return np.concatenate([x, self._metrics], axis=1)

    def targets(self, pairs, scored, corpus: list[Passage]) -> Targets:
        ix = self.index
        kinds = [p.kind for p in corpus]
        c_idx = np.array([ix[p.text] for p in corpus], dtype=np.int64)
        _, broken, _, anchors = corpus_targets(kinds, 0)
        lamp_rows = np.array(
            sorted({ix[t] for p in pairs for t in (p.better, p.worse)}), dtype=np.int64
        )
        return Targets(
            pairs=np.array([(ix[p.better], ix[p.worse]) for p in pairs], dtype=np.int64).reshape(
                -1, 2
            ),
            reg_idx=np.array([ix[s.text] for s in scored], dtype=np.int64),
            reg_y=np.array([s.score for s in scored], dtype=np.float64),
            brk_idx=np.concatenate([c_idx, lamp_rows]),  # LAMP texts are fluent prose: not broken
            brk_y=np.concatenate([broken, np.zeros(len(lamp_rows))]),
            anchor_idx=c_idx,
            anchor_y=anchors,
        )


def _scores(head, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    score, _, p = head.score_features(x)
    return score, p


def evaluate_lamp(run: Run, score: np.ndarray, seed: int) -> dict:
    s = {t: float(score[run.index[t]]) for t in run.texts}
    by_source: dict[str, list] = defaultdict(list)
    for p in run.split.heldout_pairs:
        by_source[p.source].append(p)
    acc = {k: ev.pair_accuracy(s, v, run.groups, seed) for k, v in sorted(by_source.items())}
    acc["all"] = ev.pair_accuracy(s, run.split.heldout_pairs, run.groups, seed)
    rho = {}
    for source in ("scored_1_10", "val_zscore"):
        rows = [r for r in run.split.heldout_scored if r.source == source]
        rho[source] = ev.spearman_ci(
            [s[r.text] for r in rows],
            [r.score for r in rows],
            [run.groups[r.text] for r in rows],
            seed,
        )
    return {"pairwise_accuracy": acc, "spearman": rho}


def by_kind(passages: list[Passage], score: np.ndarray, index: dict[str, int]) -> dict:
    out = {}
    for kind in ["clean", *KINDS]:
        for short in (False, True):
            vals = [score[index[p.text]] for p in passages if p.kind == kind and p.short == short]
            if vals:
                out[f"{kind}{' (short)' if short else ''}"] = ev.distribution(vals)
    return out


def cross_validate(run: Run, cfg: FitConfig, cache: FeatureCache, folds: int = 3) -> dict:
    """Mean held-out-fold pair accuracy, Spearman and broken-detection accuracy on the training side."""
    x = run.matrix(cache, cfg)
    tr = run.split
    group_fold = {g: (hash_int(g) % folds) for g in set(run.groups.values())}
    authors = sorted({p.author for p in run.corpus})
    author_fold = {a: i % folds for i, a in enumerate(authors)}
    res = defaultdict(list)
    for k in range(folds):
        fold_of = lambda t: group_fold[run.groups[t]]  # noqa: E731
        pairs = [p for p in tr.train_pairs if fold_of(p.better) != k]
        scored = [s for s in run.train_scored if fold_of(s.text) != k]
        corpus = [p for p in run.corpus if author_fold[p.author] != k]
        head = fit(x, run.targets(pairs, scored, corpus), cfg, n_extra(cfg))
        score, _ = _scores(head, x)
        s = {t: float(score[run.index[t]]) for t in run.texts}
        test_pairs = [p for p in tr.train_pairs if fold_of(p.better) == k]
        res["pair_acc"].append(ev.pair_accuracy(s, test_pairs, run.groups)["acc"])
        rows = [r for r in run.train_scored if fold_of(r.text) == k]
        res["spearman"].append(
            ev.spearman_ci([s[r.text] for r in rows], [r.score for r in rows], [0] * len(rows))[
                "rho"
            ]
        )
        test_c = [p for p in run.corpus if author_fold[p.author] == k]
        ok = [(s[p.text] <= 3.0) == (p.kind != "clean") for p in test_c]
        res["broken_acc"].append(float(np.mean(ok)))
    out = {k: round(float(np.mean(v)), 4) for k, v in res.items()}
    out["objective"] = round(out["pair_acc"] + out["spearman"] + out["broken_acc"], 4)
    return out


def export_coreml(head, out: Path) -> str:
    """The head as out/wqrm_head.mlpackage for the Mac app; the safetensors stay the source of truth."""
    from engine.quality import coreml

    try:
        coreml.export(head, out / "wqrm_head.mlpackage")
    except KillahError as e:  # coremltools missing
        return f"not exported: {e}"
    return "wqrm_head.mlpackage"


def n_extra(cfg: FitConfig) -> int:
    return len(EXTRA) if cfg.metrics else 0


def hash_int(value: int) -> int:
    import hashlib

    return int(hashlib.sha256(str(value).encode()).hexdigest()[:8], 16)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m engine.quality.train", description=__doc__.split("\n")[0]
    )
    parser.add_argument("data", help="data folder with quality_pairs/, corpora/ and heldout/")
    parser.add_argument(
        "--out", default=str(WQRM_DIR), help="where head.safetensors, wqrm.json, report.json go"
    )
    parser.add_argument(
        "--cache", default=None, help="feature cache folder (default: KILLAH_HOME runs/wqrm-cache)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--select", action="store_true", help="cross-validate every candidate and keep the best"
    )
    parser.add_argument("--candidate", default=DEFAULT, choices=sorted(CANDIDATES))
    parser.add_argument(
        "--features-only", action="store_true", help="fill the feature cache and stop"
    )
    args = parser.parse_args(argv)
    from engine import clikit
    from engine.paths import runs_dir

    say = lambda info: clikit.log(json.dumps(info, default=str))  # noqa: E731
    t0 = time.time()
    try:
        run = Run(Path(args.data), args.seed, say)
        cache = FeatureCache(Path(args.cache) if args.cache else runs_dir() / "wqrm-cache")
        cache.fill(run.texts, callback=say)
        if args.features_only:
            return 0
        report = train(run, cache, args, say)
    except KillahError as e:
        print(f"train: error: {e}", file=sys.stderr)
        return 1
    report["seconds"] = round(time.time() - t0, 1)
    from engine.atomic import write_json

    write_json(Path(args.out) / "report.json", report)
    print(json.dumps({k: report[k] for k in ("chosen", "heldout")}, indent=2))
    return 0


def train(run: Run, cache: FeatureCache, args, say) -> dict:
    cv = {}
    chosen = args.candidate
    if args.select:
        for name, cfg in CANDIDATES.items():
            cv[name] = cross_validate(run, replace(cfg, seed=args.seed), cache)
            say({"stage": "cv", "candidate": name, **cv[name]})
        chosen = max(cv, key=lambda n: cv[n]["objective"])
    cfg = replace(CANDIDATES[chosen], seed=args.seed)
    x = run.matrix(cache, cfg)
    train_scored = run.train_scored
    head = fit(x, run.targets(run.split.train_pairs, train_scored, run.corpus), cfg, n_extra(cfg))
    score, _ = _scores(head, x)
    heldout = evaluate_lamp(run, score, args.seed)
    say({"stage": "heldout", **heldout["pairwise_accuracy"]["all"]})
    calibration = {
        "held_out_authors": by_kind(run.report, score, run.index),
        "training_authors_in_sample": by_kind(run.corpus, score, run.index),
    }
    leave_out = {}
    for kind in KINDS:  # the detector without ever seeing `kind`, on held-out authors' `kind`
        corpus = [p for p in run.corpus if p.kind != kind]
        h = fit(x, run.targets(run.split.train_pairs, train_scored, corpus), cfg, n_extra(cfg))
        s_k, _ = _scores(h, x)
        leave_out[kind] = by_kind(
            [p for p in run.report if p.kind in (kind, "clean")], s_k, run.index
        )
        say({"stage": "leave-one-kind-out", "kind": kind})
    meta = {
        "candidate": chosen,
        "encoder": "all-MiniLM-L6-v2 (bundled), frozen; pooled mean/max/std of the layers above",
        "training_data": "LAMP (salesforce/creativity_eval @ fced0ab2d3, BSD-3-Clause); public-domain "
        "corpus passages (see shared data SOURCES) with automatic degradations",
        "training_data_sha256": qdata.data_hash(run.lamp.files_sha256),
        "command": f"python -m engine.quality.train DATA --seed {args.seed}"
        + (" --select" if args.select else f" --candidate {chosen}"),
        "heldout": {
            "pairwise_accuracy": {k: v.get("acc") for k, v in heldout["pairwise_accuracy"].items()},
            "spearman": {k: v.get("rho") for k, v in heldout["spearman"].items()},
        },
        **head.meta,
    }
    head.save(Path(args.out), meta)
    export_coreml(head, Path(args.out))
    return {
        "format": "killah-wqrm-report v2",
        "chosen": chosen,
        "cv": cv,
        "heldout": heldout,
        "calibration": calibration,
        "leave_one_kind_out": leave_out,
        "split": {
            "train_pairs": len(run.split.train_pairs),
            "heldout_pairs": len(run.split.heldout_pairs),
            "train_scored": len(train_scored),
            "heldout_scored": len(run.split.heldout_scored),
            "corpus_examples": len(run.corpus),
            "report_examples": len(run.report),
        },
        "meta": meta,
    }


if __name__ == "__main__":
    raise SystemExit(main())
