"""`python -m engine.quality.train`: fit the WQRM on LAMP human judgements and ship it.

Steps (all deterministic for a given --seed):
1. load DATA_DIR/quality_pairs (--data; not shipped) and split it by source group (engine.quality.data);
2. build the general style profile from the training split's writer edits;
3. features for every text: MiniLM paragraph embedding, sentence embeddings, metrics
   (cached by text hash in --cache, so a re-run only embeds new texts);
4. the learned scorer: L2 logistic regression on standardised feature differences
   (better minus worse) of the training pairs;
5. composite weights: out-of-fold learned scores (group K-fold) plus the other
   components, alphas fitted on the simplex by pairwise logistic loss;
6. evaluation on the held-out split; everything written to --out (resources/wqrm/).
"""

from __future__ import annotations

import argparse
import hashlib
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from engine.atomic import write_bytes, write_json
from engine.errors import KillahError
from engine.progress import ProgressCallback, report_progress
from engine.quality import data as qdata
from engine.quality.assets import WQRM_DIR
from engine.quality.composite import COMPONENTS, COMPOSITE_FORMAT, Composite
from engine.quality.features import sentence_embeddings, text_metrics
from engine.quality.profile import StyleProfile
from engine.quality.scorer import SCORER_FORMAT, LearnedScorer, metric_vector

REPO = Path(__file__).resolve().parents[2]
FEATURE_VERSION = "1"
QUANTILES = 21


@dataclass(frozen=True)
class TrainConfig:
    data: str | None = field(default=None, metadata={"help": "folder of LAMP quality_pairs JSONL files "
                                                             "(DATA_DIR/quality_pairs; required)"})
    out: str = field(default=str(WQRM_DIR), metadata={"help": "where scorer.json, composite.json, ... go"})
    cache: str | None = field(default=None, metadata={"help": "feature cache file (default: runs/wqrm-features.npz)"})
    seed: int = field(default=0, metadata={"help": "seed for the split and the folds"})
    heldout_fraction: float = field(default=qdata.HELDOUT_FRACTION, metadata={"help": "share of source groups held out"})
    c: float = field(default=0.05, metadata={"help": "inverse L2 strength of the logistic scorer"})
    folds: int = field(default=5, metadata={"help": "group folds for the out-of-fold learned scores"})
    sentence_features: bool = field(
        default=False,
        metadata={"help": "also embed every sentence of the training texts, so the continuity weight is fitted "
                          "(about 40k sentences: slow on CPU); otherwise continuity gets weight 0"},
    )


# -- features -----------------------------------------------------------------------


def _key(text: str) -> str:
    return hashlib.sha256(f"{FEATURE_VERSION}\n{text}".encode()).hexdigest()


class FeatureCache:
    """text -> paragraph embedding (and, optionally, sentence embeddings); one .npz file (data only).

    Saved after every chunk, so an interrupted run resumes where it stopped.
    """

    def __init__(self, path: Path | None):
        self.path = path
        self.paragraphs: dict[str, np.ndarray] = {}
        self.sentence_rows: dict[str, np.ndarray] = {}
        if path and path.exists():
            with np.load(path, allow_pickle=False) as z:
                self.paragraphs = dict(zip(z["p_keys"].tolist(), z["p_vecs"]))
                ends = np.cumsum(z["s_counts"])
                rows = np.split(z["s_vecs"], ends[:-1]) if len(ends) else []
                self.sentence_rows = dict(zip(z["s_keys"].tolist(), rows))

    def _save(self) -> None:
        if not self.path:
            return
        import io

        p, s = self.paragraphs, self.sentence_rows
        buf = io.BytesIO()
        np.savez(buf, p_keys=np.array(list(p), dtype="U64"),
                 p_vecs=(np.stack(list(p.values())).astype(np.float32) if p
                         else np.zeros((0, 0), np.float32)),
                 s_keys=np.array(list(s), dtype="U64"),
                 s_counts=np.array([len(v) for v in s.values()], dtype=np.int64),
                 s_vecs=(np.concatenate(list(s.values())).astype(np.float32) if s
                         else np.zeros((0, 0), np.float32)))
        write_bytes(self.path, buf.getvalue())

    def fill(self, texts: Sequence[str], with_sentences: bool = False,
             progress: ProgressCallback | None = None) -> None:
        from engine.embeddings import embed

        for kind, store in (("paragraphs", self.paragraphs), ("sentences", self.sentence_rows)):
            if kind == "sentences" and not with_sentences:
                continue
            todo = [t for t in dict.fromkeys(texts) if _key(t) not in store]
            for start in range(0, len(todo), 128):
                chunk = todo[start : start + 128]
                vecs = embed(chunk) if kind == "paragraphs" else sentence_embeddings(chunk)
                for t, v in zip(chunk, vecs):
                    store[_key(t)] = np.asarray(v, dtype=np.float32)
                self._save()
                report_progress(progress, f"embed {kind}", start + len(chunk), len(todo), "text")

    def embedding(self, text: str) -> np.ndarray:
        return self.paragraphs[_key(text)]

    def sentences(self, text: str) -> np.ndarray | None:
        return self.sentence_rows.get(_key(text))


# -- fitting ------------------------------------------------------------------------


def fit_pairwise_logistic(diffs: np.ndarray, c: float, seed: int) -> np.ndarray:
    """w minimising sum log(1 + exp(-w . d)) + ||w||^2 / (2c) over differences d (better - worse).

    Fitted as a no-intercept logistic regression on {+d: 1, -d: 0}.
    """
    from sklearn.linear_model import LogisticRegression

    x = np.concatenate([diffs, -diffs])
    y = np.concatenate([np.ones(len(diffs)), np.zeros(len(diffs))])
    model = LogisticRegression(C=c, fit_intercept=False, max_iter=5000, random_state=seed)
    model.fit(x, y)
    return model.coef_[0].astype(np.float64)


def fit_simplex_weights(better: np.ndarray, worse: np.ndarray) -> tuple[np.ndarray, float]:
    """alpha >= 0 with sum 1 and a scale s > 0 minimising the pairwise logistic loss

        mean log(1 + exp(-s * alpha . (c_better - c_worse))),

    components missing (NaN) on either side contributing 0 to that pair's difference.
    """
    from scipy.optimize import minimize

    raw = better - worse
    present = ~np.all(np.isnan(raw), axis=0)  # a component never computed gets weight 0
    d = np.nan_to_num(raw[:, present], nan=0.0)
    k = d.shape[1]

    def loss(theta):
        alpha, s = theta[:k], math.exp(theta[k])
        return float(np.mean(np.logaddexp(0.0, -s * (d @ alpha))))

    x0 = np.concatenate([np.full(k, 1.0 / k), [math.log(10.0)]])
    res = minimize(
        loss, x0, method="SLSQP",
        bounds=[(0.0, 1.0)] * k + [(math.log(0.1), math.log(1000.0))],
        constraints=[{"type": "eq", "fun": lambda t: np.sum(t[:k]) - 1.0}],
        options={"maxiter": 500, "ftol": 1e-10},
    )
    fitted = np.clip(res.x[:k], 0.0, None)
    fitted[fitted < 1e-4] = 0.0
    alpha = np.zeros(raw.shape[1])
    alpha[present] = fitted / fitted.sum()
    return alpha, math.exp(res.x[k])


def pairwise_accuracy(score: dict[str, float], pairs: Sequence[qdata.Pair]) -> float | None:
    """Share of pairs where score(better) > score(worse); ties count half."""
    if not pairs:
        return None
    wins = [1.0 if score[p.better] > score[p.worse] else 0.5 if score[p.better] == score[p.worse] else 0.0 for p in pairs]
    return float(np.mean(wins))


def spearman(a: Sequence[float], b: Sequence[float]) -> float | None:
    from scipy.stats import spearmanr

    if len(a) < 3:
        return None
    return float(spearmanr(a, b).statistic)


def _group_folds(texts: Sequence[str], groups: dict[str, int], folds: int, seed: int) -> dict[str, int]:
    ids = sorted({groups[t] for t in texts})
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(ids))
    fold_of_group = {ids[i]: int(k % folds) for k, i in enumerate(order)}
    return {t: fold_of_group[groups[t]] for t in texts}


# -- the run ------------------------------------------------------------------------


def run(cfg: TrainConfig, progress: ProgressCallback | None = None) -> dict:
    """Train, evaluate and write the WQRM; returns the report (also written as report.json)."""
    from engine.embeddings import DEFAULT_EMBEDDER
    from engine.paths import runs_dir

    t0 = time.time()
    data = qdata.load_quality_data(cfg.data)
    split = qdata.split_by_source(data, cfg.seed, cfg.heldout_fraction)
    groups = qdata.source_groups(data.texts())
    # Only texts that are judged in a pair, or held out for the Spearman check, are embedded
    # (the training split's scored paragraphs are not used by the pairwise fit).
    heldout_texts = {t for p in split.heldout_pairs for t in (p.better, p.worse)} | {s.text for s in split.heldout_scored}
    train_texts = list(dict.fromkeys(t for p in split.train_pairs for t in (p.better, p.worse)))
    texts = train_texts + sorted(heldout_texts)
    report_progress(progress, "split", train_pairs=len(split.train_pairs), heldout_pairs=len(split.heldout_pairs))

    profile = StyleProfile.from_texts(
        [p.better for p in split.train_pairs if p.source == "writer_edit"], name="general", seed=cfg.seed
    )
    cache = FeatureCache(Path(cfg.cache) if cfg.cache else runs_dir() / "wqrm-features.npz")
    cache.fill(texts, cfg.sentence_features, progress)

    ref_group = {r: groups.get(r) for r in profile.references}
    values: dict[str, dict] = {}
    for t in texts:
        refs = [r for r in profile.references if ref_group[r] != groups[t]]  # leave own source group out
        values[t] = text_metrics(t, profile, cache.sentences(t), references=refs)
    report_progress(progress, "metrics", texts=len(texts))


    metric_rows = np.stack([metric_vector(values[t]) for t in train_texts])
    fill = np.nanmean(metric_rows, axis=0)
    raw_x = {t: np.concatenate([cache.embedding(t).astype(np.float64), metric_vector(values[t], fill)]) for t in texts}
    train_x = np.stack([raw_x[t] for t in train_texts])
    mean, std = train_x.mean(axis=0), train_x.std(axis=0)
    std[std < 1e-8] = 1.0
    z = {t: (raw_x[t] - mean) / std for t in texts}

    def diffs(pairs):
        return np.stack([z[p.better] - z[p.worse] for p in pairs])

    w = fit_pairwise_logistic(diffs(split.train_pairs), cfg.c, cfg.seed)
    raw_score = {t: float(z[t] @ w) for t in texts}
    raw_quantiles = np.quantile([raw_score[t] for t in train_texts], np.linspace(0, 1, 101))
    scorer = LearnedScorer(
        weights=w, bias=0.0, mean=mean, std=std, metric_fill=fill, raw_quantiles=raw_quantiles,
        embedder=DEFAULT_EMBEDDER, meta={},
    )
    report_progress(progress, "scorer", dims=len(w))

    # Out-of-fold learned scores for the composite fit, so its weight is not inflated.
    fold = _group_folds(train_texts, groups, cfg.folds, cfg.seed)
    oof: dict[str, float] = {}
    for k in range(cfg.folds):
        inner = [p for p in split.train_pairs if fold[p.better] != k and fold[p.worse] != k]
        wk = fit_pairwise_logistic(diffs(inner), cfg.c, cfg.seed)
        oof.update({t: float(z[t] @ wk) for t in train_texts if fold[t] == k})
    oof_q = np.quantile(list(oof.values()), np.linspace(0, 1, 101))

    quantiles = {
        m: np.quantile([values[t][m] for t in train_texts if values[t][m] is not None], np.linspace(0, 1, QUANTILES)).tolist()
        for m in ("mtld", "novelty", "generic_phrases", "compression", "style_match")
    }
    uniform = Composite({c: 1.0 / len(COMPONENTS) for c in COMPONENTS}, quantiles, {})

    def component_row(t: str, learned_raw: float, q) -> np.ndarray:
        learned = float(np.interp(learned_raw, q, np.linspace(0, 1, len(q))))
        comps = uniform.components(values[t], learned)
        return np.array([np.nan if comps[c] is None else comps[c] for c in COMPONENTS])

    cb = np.stack([component_row(p.better, oof[p.better], oof_q) for p in split.train_pairs])
    cw = np.stack([component_row(p.worse, oof[p.worse], oof_q) for p in split.train_pairs])
    alpha, scale = fit_simplex_weights(cb, cw)
    composite = Composite({c: float(a) for c, a in zip(COMPONENTS, alpha)}, quantiles, {})
    report_progress(progress, "composite", alphas=composite.alphas)

    # -- held-out evaluation ----------------------------------------------------------
    def composite_score(t: str) -> float:
        learned = float(scorer.calibrated(raw_score[t]))
        return composite.combine(composite.components(values[t], learned)).score

    comp = {t: composite_score(t) for t in heldout_texts}
    by_source: dict[str, list] = {}
    for p in split.heldout_pairs:
        by_source.setdefault(p.source, []).append(p)
    evaluation = {
        "pairwise_accuracy": {
            "learned": {s: pairwise_accuracy(raw_score, ps) for s, ps in sorted(by_source.items())}
            | {"all": pairwise_accuracy(raw_score, split.heldout_pairs)},
            "composite": {s: pairwise_accuracy(comp, ps) for s, ps in sorted(by_source.items())}
            | {"all": pairwise_accuracy(comp, split.heldout_pairs)},
            "n_pairs": {s: len(ps) for s, ps in sorted(by_source.items())} | {"all": len(split.heldout_pairs)},
        },
        "spearman": {},
        "per_metric_pairwise_accuracy": {},
    }
    for source in ("scored_1_10", "val_zscore"):
        rows = [s for s in split.heldout_scored if s.source == source]
        evaluation["spearman"][source] = {
            "learned": spearman([raw_score[s.text] for s in rows], [s.score for s in rows]),
            "composite": spearman([comp[s.text] for s in rows], [s.score for s in rows]),
            "n": len(rows),
        }
    for m in ("ttr", "mtld", "sentence_len_mean", "sentence_len_kl", "compression", "generic_phrases",
              "novelty", "repetition", "continuity", "style_match"):
        if all(values[t][m] is None for t in heldout_texts):
            continue
        sign = -1.0 if m in ("compression", "generic_phrases", "repetition", "sentence_len_kl") else 1.0
        mscore = {t: sign * (values[t][m] if values[t][m] is not None else 0.0) for t in heldout_texts}
        evaluation["per_metric_pairwise_accuracy"][m] = pairwise_accuracy(mscore, split.heldout_pairs)

    meta = {
        "training_data": "LAMP (salesforce/creativity_eval @ fced0ab2d3), BSD-3-Clause",
        "training_data_sha256": qdata.data_hash(data.files_sha256),
        "training_files_sha256": data.files_sha256,
        "seed": cfg.seed,
        "heldout_fraction": cfg.heldout_fraction,
        "c": cfg.c,
        "n_train_pairs": len(split.train_pairs),
        "n_heldout_pairs": len(split.heldout_pairs),
        "n_train_texts": len(train_texts),
        "heldout_pairwise_accuracy": evaluation["pairwise_accuracy"]["learned"],
    }
    scorer = LearnedScorer(scorer.weights, 0.0, mean, std, fill, raw_quantiles, DEFAULT_EMBEDDER, meta)
    composite = Composite(composite.alphas, quantiles, {
        "training_data_sha256": meta["training_data_sha256"], "seed": cfg.seed, "fit_scale": scale,
        "learned_component": "out-of-fold scores on the training split (group folds) during the fit",
    })
    report = {
        "format": "killah-wqrm-report v1",
        "config": cfg.__dict__,
        "split": {
            "groups": split.n_groups, "heldout_groups": split.n_heldout_groups,
            "train_pairs": len(split.train_pairs), "heldout_pairs": len(split.heldout_pairs),
            "train_scored": len(split.train_scored), "heldout_scored": len(split.heldout_scored),
            "pairs_dropped_across_sides": split.dropped_pairs,
        },
        "alphas": composite.alphas,
        "evaluation": evaluation,
        "training_data_sha256": meta["training_data_sha256"],
        "seconds": round(time.time() - t0, 1),
    }
    out = Path(cfg.out)
    write_json(out / "scorer.json", scorer.to_dict())
    write_json(out / "composite.json", composite.to_dict())
    write_json(out / "general_profile.json", profile.to_dict())
    try:
        from engine.quality import coreml

        coreml.export(scorer, out / "wqrm_scorer.mlpackage")
        report["coreml"] = "wqrm_scorer.mlpackage"
    except KillahError as e:  # coremltools missing: the JSON weights are the source of truth
        report["coreml"] = f"not exported: {e}"
    write_json(out / "report.json", report)
    return report


def build_parser() -> argparse.ArgumentParser:
    from dataclasses import fields

    parser = argparse.ArgumentParser(prog="python -m engine.quality.train", description=__doc__.split("\n")[0])
    for f in fields(TrainConfig):
        flag = f"--{f.name.replace('_', '-')}"
        if isinstance(f.default, bool):
            parser.add_argument(flag, action="store_true", default=f.default, help=f.metadata["help"])
            continue
        kind = type(f.default) if f.default is not None else str
        parser.add_argument(flag, type=kind, default=f.default, help=f.metadata["help"])
    return parser


def main(argv: list[str] | None = None) -> int:
    import json
    import sys

    from engine import clikit

    args = build_parser().parse_args(argv)
    cfg = TrainConfig(**{k: v for k, v in vars(args).items()})
    if not cfg.data:
        print("train: error: give --data DATA_DIR/quality_pairs (the LAMP data is not shipped)",
              file=sys.stderr)
        return 2
    try:
        summary = run(cfg, progress=lambda p: clikit.log(json.dumps(p.to_dict(), default=str)))
    except KillahError as e:
        print(f"train: error: {e}", file=sys.stderr)
        return 1
    print(json.dumps(summary, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
