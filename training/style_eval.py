"""Evaluate style representations: STEL, STEL-or-Content, and authorship verification AUC.

    python -m engine.runtime_exec -m training.style_eval DATA_DIR [--final] [--json]

Authorship verification (AV): pairs of passages by authors the style encoder never saw in
training, half by the same author (different works), half by different authors, every pair
topic-matched (each passage is paired with the most topic-similar passage, by word TF-IDF,
among the other work's or the other author's passages). The score of a pair is the cosine of
the two vectors; AUC separates same from different. By default the pairs come from the dev
corpus authors (used to choose settings); --final adds the held-out authors (data/heldout),
for the report only. Every number has a percentile-bootstrap 95% interval (1,000 resamples
of pairs or tasks, seeded).

Compared on the same pairs and tasks: character 1-4-gram TF-IDF cosine, all-MiniLM-L6-v2,
multilingual-e5-small, and the style encoder (resources/style-encoder).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from engine.encoders import stel
from training import style_data

Embed = Callable[[Sequence[str]], np.ndarray]
N_BOOT = 1000


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Probability that a random positive outscores a random negative (ties: half)."""
    pos, neg = scores[labels == 1], scores[labels == 0]
    if not len(pos) or not len(neg):
        return float("nan")
    greater = (pos[:, None] > neg[None, :]).mean()
    ties = (pos[:, None] == neg[None, :]).mean()
    return float(greater + 0.5 * ties)


def bootstrap(stat: Callable[[np.ndarray], float], n: int, seed: int = 0) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    values = [stat(rng.integers(0, n, n)) for _ in range(N_BOOT)]
    lo, hi = np.nanpercentile(values, [2.5, 97.5])
    return float(lo), float(hi)


def pair_set(passages: list[style_data.Passage], n: int, seed: int = 0):
    """Topic-matched AV pairs: (texts_a, texts_b, labels, anchor style labels)."""
    pairs = style_data.verification_pairs(passages, n, seed)
    labels = np.array([y for *_, y in pairs])
    return ([a.text for a, _, _ in pairs], [b.text for _, b, _ in pairs], labels,
            np.array([a.label for a, _, _ in pairs]))


def av_scores(embed: Embed, a: list[str], b: list[str], labels: np.ndarray,
              subset: np.ndarray | None = None) -> dict:
    """AUC of the pairs' cosines; with `subset` (a boolean mask over the pairs), also the AUC
    of those pairs alone (the pairs anchored on a held-out author)."""
    va, vb = embed(a), embed(b)
    scores = np.einsum("ij,ij->i", va, vb)
    lo, hi = bootstrap(lambda idx: auc(scores[idx], labels[idx]), len(labels))
    out = {"auc": auc(scores, labels), "ci": [lo, hi], "pairs": len(labels),
           "_scores": scores, "_labels": labels, "_subset": subset}
    if subset is not None and subset.any():
        s, y = scores[subset], labels[subset]
        out["heldout"] = {"auc": auc(s, y), "ci": list(bootstrap(lambda i: auc(s[i], y[i]),
                                                                 len(y))), "pairs": len(y)}
    return out


def stel_scores(embed: Embed, tasks: list[dict]) -> dict:
    credit, soc = stel.decisions(tasks, embed)
    return {"stel": float(credit.mean()),
            "stel_ci": list(bootstrap(lambda idx: float(credit[idx].mean()), len(credit))),
            "stel_or_content": float(soc.mean()),
            "stel_or_content_ci": list(bootstrap(lambda idx: float(soc[idx].mean()), len(soc))),
            "tasks": len(tasks), "_stel": credit, "_soc": soc}


def public(report: dict) -> dict:
    """`report` without the per-item arrays (those keys start with '_')."""
    return {k: public(v) if isinstance(v, dict) else v for k, v in report.items()
            if not k.startswith("_")}


def differences(ours: dict, base: dict) -> dict:
    """Paired bootstrap of ours minus base on the same tasks and pairs: value and 95% CI."""
    out = {}
    for key in ("_stel", "_soc"):
        a, b = ours["stel"][key], base["stel"][key]
        out[key[1:]] = [float(a.mean() - b.mean()),
                        list(bootstrap(lambda idx: float(a[idx].mean() - b[idx].mean()), len(a)))]
    for lang in ("en", "ru"):
        sa, sb, y = ours[f"av_{lang}"]["_scores"], base[f"av_{lang}"]["_scores"], \
            ours[f"av_{lang}"]["_labels"]
        out[f"av_{lang}"] = [auc(sa, y) - auc(sb, y), list(bootstrap(
            lambda idx: auc(sa[idx], y[idx]) - auc(sb[idx], y[idx]), len(y)))]
        held = ours[f"av_{lang}"]["_subset"]
        if held is not None and held.any():
            ha, hb, hy = sa[held], sb[held], y[held]
            out[f"av_{lang}_heldout"] = [auc(ha, hy) - auc(hb, hy), list(bootstrap(
                lambda idx: auc(ha[idx], hy[idx]) - auc(hb[idx], hy[idx]), len(hy)))]
    return out


def char_ngrams(fit_on: Sequence[str]) -> Embed:
    from sklearn.feature_extraction.text import TfidfVectorizer

    vec = TfidfVectorizer(analyzer="char", ngram_range=(1, 4), sublinear_tf=True).fit(fit_on)

    def embed(texts: Sequence[str]) -> np.ndarray:
        m = vec.transform(list(texts)).toarray().astype(np.float32)
        return m / np.maximum(np.linalg.norm(m, axis=1, keepdims=True), 1e-12)

    return embed


def av_passages(data: Path, lang: str, final: bool) -> list[style_data.Passage]:
    passages = style_data.corpus(data, lang, "dev", per_work=30)
    if final:
        passages += style_data.heldout(data, lang, per_work=30)
    return passages


def dev_report(data: Path, embed: Embed, final: bool = False, n_pairs: int = 400) -> dict:
    """STEL, STEL-or-Content and AV (EN, RU) for one embedding function."""
    out = {"stel": stel_scores(embed, stel.load_tasks())}
    for lang in ("en", "ru"):
        a, b, y, anchors = pair_set(av_passages(data, lang, final), n_pairs)
        held = [f"{lang}/{d.name}" for d in (data / "heldout" / lang).iterdir()] if final else []
        out[f"av_{lang}"] = av_scores(embed, a, b, y, np.isin(anchors, held))
    return out


def systems(data: Path, final: bool) -> dict[str, Embed]:
    from engine.encoders import E5_SMALL, MINILM, load

    fit = [p.text for lang in ("en", "ru") for p in av_passages(data, lang, final)]
    fit += [t[k] for t in stel.load_tasks() for k in ("anchor1", "anchor2", "alternative1",
                                                        "alternative2")]
    out: dict[str, Embed] = {"char 1-4-gram TF-IDF": char_ngrams(fit)}
    for name in (MINILM, E5_SMALL):
        enc = load(name)
        out[name] = lambda texts, e=enc: e.encode(texts, max_tokens=128)
    from engine.encoders.style import STYLE_ENCODER, style_encoder

    if (STYLE_ENCODER / "encoder.json").is_file():
        out["killah style encoder"] = style_encoder().encode
    return out


def cell(v: float, ci: Sequence[float]) -> str:
    return f"{v:.3f} [{ci[0]:.3f}, {ci[1]:.3f}]"


def difference_table(ours: str, results: dict) -> str:
    keys = ["stel", "soc", "av_en", "av_ru"]
    head = ["baseline", "STEL", "STEL-or-Content", "AV AUC EN", "AV AUC RU"]
    if "av_en_heldout" in differences(results[ours], results[ours]):
        keys += ["av_en_heldout", "av_ru_heldout"]
        head += ["AV EN, held-out anchors", "AV RU, held-out anchors"]
    lines = [f"{ours} minus each baseline (paired bootstrap, same tasks and pairs):", "",
             "| " + " | ".join(head) + " |", "|---" * len(head) + "|"]
    for name, r in results.items():
        if name != ours:
            d = differences(results[ours], r)
            lines.append(f"| {name} | " + " | ".join(cell(*d[k]) for k in keys) + " |")
    return "\n".join(lines)


def table(results: dict) -> str:
    held = "heldout" in next(iter(results.values()))["av_en"]
    head = ["system", "STEL", "STEL-or-Content", "AV AUC EN", "AV AUC RU"]
    head += ["AV EN, held-out anchors", "AV RU, held-out anchors"] if held else []
    lines = ["| " + " | ".join(head) + " |", "|---" * len(head) + "|"]
    for name, r in results.items():
        s = r["stel"]
        av = [r["av_en"], r["av_ru"]]
        cells = [cell(s["stel"], s["stel_ci"]),
                 cell(s["stel_or_content"], s["stel_or_content_ci"]),
                 *(cell(v["auc"], v["ci"]) for v in av)]
        if held:
            cells += [cell(v["heldout"]["auc"], v["heldout"]["ci"]) for v in av]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m training.style_eval",
                                description=__doc__.splitlines()[0])
    p.add_argument("data", type=Path, help="the shared data folder")
    p.add_argument("--final", action="store_true", help="add the held-out authors (report only)")
    p.add_argument("--pairs", type=int, default=400, help="AV pairs per language")
    p.add_argument("--only", help="evaluate only the systems whose name contains this")
    p.add_argument("--skip", help="leave out the systems whose name contains this")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    style_data.require(args.data, "corpora")
    random.seed(0)
    results = {}
    for name, embed in systems(args.data, args.final).items():
        if (args.only and args.only not in name) or (args.skip and args.skip in name):
            continue
        print(f"evaluating {name}", file=sys.stderr, flush=True)
        results[name] = dev_report(args.data, embed, args.final, args.pairs)
    ours = "killah style encoder"
    if args.json:
        out = {name: public(r) for name, r in results.items()}
        if ours in results:
            out["differences"] = {name: differences(results[ours], r)
                                  for name, r in results.items() if name != ours}
        print(json.dumps(out, indent=2))
    else:
        print(table(results))
        if ours in results and len(results) > 1:
            print("\n" + difference_table(ours, results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
