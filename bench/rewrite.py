"""Rewrites that keep the meaning: the held-out rewrite set, one system at a time.

    python -m engine.runtime_exec bench/rewrite.py --system base [--split heldout] [--n 4]
    python -m engine.runtime_exec bench/rewrite.py --system task:resources/adapters/rewrite
    python -m engine.runtime_exec bench/rewrite.py --speed --system task:resources/adapters/rewrite
    python bench/rewrite.py --table runs/bench-rewrite/*/report.json      # side-by-side table

Every row of bench/data/rewrite_<split>.jsonl is rephrased, and the rows of the preset
sample (`--preset-rows`, the first rows: the presets rotate) also get their preset. Each
request makes n candidates (min-p varied, as in the app), ranked as the app ranks them
(engine.quality.rerank.rank: faithful first, then WQRM). Reported for the top-ranked
candidate, mean [95% bootstrap CI] over requests: faithful (every check passed, which
includes "actually changed"), facts kept, meaning similarity, base-model perplexity
(and its ratio to the source's), WQRM score, and the preset intents (length ratio for
shorter/longer, register shift for formal/casual, and the share that met the intent);
"any faithful" is the share of requests where at least one of the n candidates was.
Systems: `base` (the bundled model with the two-shot / restyle frames of engine.tasks)
and `task:PATH` (the rewrite task adapter over it, in its own frame), opened as the app
opens a Style: an adapter whose metadata names its languages serves texts in those only,
other texts get the base frames. --speed times rerank(n=4) with the faithfulness checks
against one plain generation of the same prompt. Each batch is logged to the output
folder's samples.jsonl: a run stopped part-way resumes when run again with the same options.
The held-out split is for reporting only: nothing is tuned on it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

DATA = Path(__file__).resolve().parent / "data"
COLUMNS = (  # key, label
    ("faithful", "faithful & changed"), ("any_faithful", "any of n faithful"), ("facts_kept", "facts kept"),
    ("similarity", "meaning similarity"), ("perplexity", "perplexity"), ("ppl_ratio", "perplexity / source's"),
    ("wqrm", "WQRM"),
)
PRESETS = ("formal", "casual", "shorter", "longer")
INTENTS = (("shorter", "length_ratio"), ("longer", "length_ratio"), ("formal", "register_shift"),
           ("casual", "register_shift"))


def load_rows(split: str) -> list[dict]:
    path = DATA / f"rewrite_{split}.jsonl"
    if not path.is_file():
        raise SystemExit(f"bench/rewrite: {path} is missing (python bench/rewrite_set.py DATA)")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def open_system(lm, system: str):
    """The ActiveStyle for 'base' or 'task:PATH', opened as the app opens it: the task adapter
    serves its modes for texts in its metadata's languages; other texts get the base frames."""
    from engine.style import Style

    if system == "base":
        return Style().open(lm)
    if not system.startswith("task:"):
        raise SystemExit(f"bench/rewrite: unknown system {system!r} (base or task:PATH)")
    from engine import tasks
    from engine.style import AdapterSpec

    modes = ("rephrase", *tasks.PRESETS)
    return Style(adapters=(AdapterSpec(system[5:], 1.0, modes),)).open(lm)


def spread(rows: list[dict], n: int | None) -> list[dict]:
    """`n` rows evenly spaced over the set (every source and language keeps its share)."""
    if not n or n >= len(rows):
        return rows
    return [rows[i * len(rows) // n] for i in range(n)]


def requests(rows: list[dict], preset_rows: int) -> list[tuple[dict, str]]:
    """Every row rephrased; `preset_rows` evenly spaced rows also get a preset, in rotation."""
    jobs = [(r, "rephrase") for r in rows]
    picked = spread(rows, preset_rows) if preset_rows else []
    return jobs + [(r, PRESETS[k % len(PRESETS)]) for k, r in enumerate(picked)]


def resume(log: Path, key: dict) -> tuple[list[dict], float]:
    """The samples (and seconds) an interrupted run of the same bench already logged in `log`;
    a log of other settings is started over. A torn last line is ignored."""
    lines = log.read_text(encoding="utf-8").splitlines() if log.is_file() else []
    records = []
    for line in lines:
        try:
            records.append(json.loads(line))
        except ValueError:
            break
    if not records or records[0].get("key") != key:
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(json.dumps({"key": key}) + "\n", encoding="utf-8")
        return [], 0.0
    done = [s for r in records[1:] for s in r.get("samples", ())]
    return done, sum(r.get("seconds", 0.0) for r in records[1:])


def run(args, log: Path | None = None) -> dict:
    """The bench; with `log`, each batch's samples are appended there and a re-run with the same
    settings resumes after the last batch logged."""
    import numpy as np

    from engine import tasks
    from engine.generate import SamplingOptions, generate_batch
    from engine.models import load_model
    from engine.quality.faithfulness import mean_logprobs
    from engine.quality.rerank import candidate_options, rank

    lm = load_model(args.model)
    style = open_system(lm, args.system)
    jobs = requests(spread(load_rows(args.split), args.rows), args.preset_rows)
    key = {k: getattr(args, k) for k in ("system", "split", "model", "n", "rows", "preset_rows", "batch",
                                          "seed", "ladder")}
    if args.system.startswith("task:"):  # the same folder may hold a newer adapter
        from engine.text import sha256_file

        key["weights"] = sha256_file(Path(args.system[5:]) / "adapters.safetensors")
    samples, before = resume(log, key) if log else ([], 0.0)
    done = {s["job"] for s in samples}
    # a batch shares one adapter stack: jobs are grouped by it (rephrase before the presets, so a
    # run cut short has the main number), each keeping its own seed
    groups: dict[tuple, list] = {}
    for i, (row, mode) in enumerate(jobs):
        if i not in done:
            group = (mode != "rephrase", id(style.stack(mode, row["text"])))
            groups.setdefault(group, []).append((i, row, mode))
    per_batch = max(1, args.batch // args.n)
    chunks = [g[s : s + per_batch] for _, g in sorted(groups.items(), key=lambda kv: kv[0][0])
              for s in range(0, len(g), per_batch)]
    tic = time.perf_counter()
    for chunk in chunks:
        if args.minutes and time.perf_counter() - tic > 60 * args.minutes:
            break  # reported as it stands; a re-run resumes
        t0, new = time.perf_counter(), len(samples)
        prompts, opts = [], []
        for i, row, mode in chunk:
            base = SamplingOptions(temperature=0.8, repetition_penalty=1.1, seed=args.seed + i,
                                   max_tokens=tasks.max_tokens(mode, row["text"]))
            prompts += [tasks.build(mode, row["text"], (), style.prompt_settings(mode, row["text"]))] * args.n
            opts += candidate_options(base, args.n, rewrite=args.ladder)
        transforms = style.transforms(chunk[0][2], chunk[0][1]["text"])
        comps = generate_batch(lm, prompts, opts, transforms=transforms)
        for k, (i, row, mode) in enumerate(chunk):
            ranked = rank(comps[k * args.n : (k + 1) * args.n], source=row["text"], task=mode, lm=lm)
            top = ranked[0]
            f = top.faithfulness
            lp = mean_logprobs(lm, [("", " ".join(row["text"].split())), ("", top.text or " ")])
            samples.append({
                "job": i, "id": row["id"], "lang": row["lang"], "mode": mode, "source": row["text"],
                "top": top.text, "faithful": float(bool(top.faithful)),
                "any_faithful": float(any(r.faithful for r in ranked)),
                "facts_kept": f.facts_kept, "similarity": f.similarity, "wqrm": top.score,
                "perplexity": float(np.exp(-lp[1])), "ppl_ratio": float(np.exp(lp[0] - lp[1])),
                "length_ratio": f.length_ratio, "register_shift": f.register_shift, "reasons": list(f.reasons),
                "candidates": [{"text": r.text, "score": round(r.score, 3), "faithful": r.faithful,
                                "reasons": list(r.faithfulness.reasons)} for r in ranked],
            })
        if log:
            with log.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps({"seconds": time.perf_counter() - t0, "samples": samples[new:]},
                                   ensure_ascii=False) + "\n")
        print(f"{len(samples)}/{len(jobs)} requests, {time.perf_counter() - tic:.0f} s", file=sys.stderr)
    return {"system": args.system + ("" if args.ladder else " (T 0.8)"), "split": args.split, "n": args.n,
            "seed": args.seed, "ladder": args.ladder, "requests": len(jobs), "complete": len(samples) == len(jobs),
            "model": lm.model_id, "seconds": round(before + time.perf_counter() - tic, 1),
            "load": os.getloadavg()[0], "loadavg": os.getloadavg(), "summary": summarize(samples),
            "samples": sorted(samples, key=lambda r: r["job"])}


def logged(args, log: Path) -> dict:
    """The report of the requests an interrupted run logged (no model loaded)."""
    if not log.is_file():
        raise SystemExit(f"bench/rewrite: {log} is missing (no run with these options logged anything)")
    records = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines() if line.strip()]
    samples = [s for r in records[1:] for s in r.get("samples", ())]
    key = records[0]["key"] if records else {}
    n = len(requests(spread(load_rows(key.get("split", args.split)), key.get("rows")), key.get("preset_rows", 0)))
    return {"system": args.system, "split": args.split, "n": args.n, "seed": args.seed, "ladder": args.ladder,
            "requests": n, "complete": len(samples) == n, "model": None,
            "seconds": round(sum(r.get("seconds", 0.0) for r in records[1:]), 1), "load": os.getloadavg()[0],
            "loadavg": os.getloadavg(), "summary": summarize(samples),
            "samples": sorted(samples, key=lambda r: r["job"])}


def summarize(samples: list[dict]) -> dict:
    from training.evaluation.metrics import bootstrap_ci

    def est(rows, key):
        return bootstrap_ci([r[key] for r in rows if r[key] is not None], seed=0).to_dict()

    out: dict = {}
    groups = {"rephrase": [s for s in samples if s["mode"] == "rephrase"]}
    for lang in ("en", "ru"):
        groups[f"rephrase/{lang}"] = [s for s in groups["rephrase"] if s["lang"] == lang]
    groups["presets"] = [s for s in samples if s["mode"] != "rephrase"]
    for name, rows in groups.items():
        if rows:
            out[name] = {"requests": len(rows), **{key: est(rows, key) for key, _ in COLUMNS}}
    for mode, key in INTENTS:
        rows = [s for s in samples if s["mode"] == mode]
        if rows:
            met = [float(not any(r.startswith(("not shorter", "not longer", "not more")) for r in s["reasons"]))
                   for s in rows]
            out[mode] = {"requests": len(rows), key: est(rows, key),
                         "intent_met": bootstrap_ci(met, seed=0).to_dict(), "faithful": est(rows, "faithful")}
    return out


def fmt(e: dict | None) -> str:
    if not e or e.get("n", 0) == 0:
        return "–"
    return f"{e['mean']:.2f} [{e['lo']:.2f}, {e['hi']:.2f}]"


def label(rep: dict) -> str:
    """The system's name, and how much of the bench it ran when it was cut short."""
    if rep.get("complete", True):
        return rep["system"]
    return f"{rep['system']} (partial: {len(rep['samples'])} of {rep['requests']} requests)"


def table(reports: list[dict]) -> str:
    lines = ["| system | group | requests | " + " | ".join(label for _, label in COLUMNS) + " |",
             "|---|---|---|" + "---|" * len(COLUMNS)]
    for rep in reports:
        for group in ("rephrase", "rephrase/en", "rephrase/ru", "presets"):
            s = rep["summary"].get(group)
            if s:
                lines.append(f"| {label(rep)} | {group} | {s['requests']} | "
                             + " | ".join(fmt(s[k]) for k, _ in COLUMNS) + " |")
    lines += ["", "| system | preset | requests | measure | intent met | faithful & changed |",
              "|---|---|---|---|---|---|"]
    for rep in reports:
        for mode, key in INTENTS:
            s = rep["summary"].get(mode)
            if s:
                lines.append(f"| {label(rep)} | {mode} | {s['requests']} | {key} {fmt(s[key])} | "
                             f"{fmt(s['intent_met'])} | {fmt(s['faithful'])} |")
    return "\n".join(lines)


def examples(reports: list[dict], k: int) -> str:
    """Side by side, the first `k` requests (in set order) of each outcome of two systems' top
    candidates: both faithful, only the second, only the first, neither."""
    a, b = ({(s["id"], s["mode"]): s for s in r["samples"]} for r in reports[:2])
    both = [key for key in a if key in b]

    def cell(s):
        verdict = "faithful" if s["faithful"] else "unfaithful: " + "; ".join(s["reasons"])
        text = s["top"] if len(s["top"]) <= 220 else s["top"][:219] + "…"
        return f"{text} *({verdict})*".replace("|", "\\|")

    lines = [f"| mode | original | {reports[0]['system']} | {reports[1]['system']} |", "|---|---|---|---|"]
    for want in ((1, 1), (0, 1), (1, 0), (0, 0)):
        picked = [key for key in both if (a[key]["faithful"], b[key]["faithful"]) == want][:k]
        for key in picked:
            src = a[key]["source"] if len(a[key]["source"]) <= 220 else a[key]["source"][:219] + "…"
            lines.append(f"| {key[1]} ({a[key]['lang']}) | {src} | {cell(a[key])} | {cell(b[key])} |")
    return "\n".join(lines)


def paired(reports: list[dict]) -> str:
    """The requests both systems ran, by group: each system's faithful & changed share and the
    difference (second - first), mean [95% bootstrap CI] over those requests."""
    from training.evaluation.metrics import bootstrap_ci

    a, b = ({(s["id"], s["mode"]): s for s in r["samples"]} for r in reports[:2])
    both = [key for key in a if key in b]
    groups = {"rephrase": [k for k in both if k[1] == "rephrase"]}
    for lang in ("en", "ru"):
        groups[f"rephrase/{lang}"] = [k for k in groups["rephrase"] if a[k]["lang"] == lang]
    groups["presets"] = [k for k in both if k[1] != "rephrase"]
    lines = [f"| group | requests | {reports[0]['system']} | {reports[1]['system']} | difference |",
             "|---|---|---|---|---|"]
    for name, keys in groups.items():
        if keys:
            ests = [bootstrap_ci(v, seed=0).to_dict() for v in (
                [a[k]["faithful"] for k in keys], [b[k]["faithful"] for k in keys],
                [b[k]["faithful"] - a[k]["faithful"] for k in keys])]
            lines.append(f"| {name} | {len(keys)} | " + " | ".join(fmt(e) for e in ests) + " |")
    return "\n".join(lines)


def speed(args) -> dict:
    """rerank(n) with faithfulness vs one plain generation, same prompts and options."""
    from engine import tasks
    from engine.generate import SamplingOptions, generate
    from engine.models import load_model
    from engine.quality.rerank import rerank

    lm = load_model(args.model)
    style = open_system(lm, args.system)
    rows = spread(load_rows(args.split), args.rows)
    plain = ranked = 0.0
    for i, row in enumerate(rows):
        prompt = tasks.build("rephrase", row["text"], (), style.prompt_settings("rephrase", row["text"]))
        transforms = style.transforms("rephrase", row["text"])
        opts = SamplingOptions(seed=i, max_tokens=tasks.max_tokens("rephrase", row["text"]))
        if i == 0:  # loads (embedder, scorer) out of the timings
            rerank(lm, prompt, args.n, opts, transforms=transforms, source=row["text"])
        t = time.perf_counter()
        generate(lm, prompt, opts, transforms=transforms, reuse_prompt_cache=False)
        plain += time.perf_counter() - t
        t = time.perf_counter()
        rerank(lm, prompt, args.n, opts, transforms=transforms, source=row["text"], task="rephrase")
        ranked += time.perf_counter() - t
    return {"system": args.system, "rows": len(rows), "plain_s": plain / len(rows),
            "rerank_s": ranked / len(rows), "ratio": ranked / plain, "load": os.getloadavg()[0]}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--system", default="base", help="base or task:ADAPTER_FOLDER")
    p.add_argument("--split", default="heldout", choices=("heldout", "dev"))
    p.add_argument("--model", default=None)
    p.add_argument("--n", type=int, default=4)
    p.add_argument("--rows", type=int, default=None, help="N rows evenly spaced over the set (default: all)")
    p.add_argument("--preset-rows", type=int, default=48, help="rows (evenly spaced) that also get their preset")
    p.add_argument("--batch", type=int, default=16, help="sequences decoded together")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--ladder", action=argparse.BooleanOptionalAction, default=True,
                   help="the rewrite ladder of temperatures (the app's default); --no-ladder: one "
                        "temperature (0.8) with min-p varied, as before")
    p.add_argument("--out", type=Path, default=Path("runs/bench-rewrite"))
    p.add_argument("--paired", action="store_true",
                   help="with --table A B: faithful & changed on the requests both ran, and B - A")
    p.add_argument("--logged", action="store_true",
                   help="no generation: the report of what an earlier run with these options logged")
    p.add_argument("--minutes", type=float, default=0,
                   help="start no batch after this many minutes; report what is done (a re-run resumes)")
    p.add_argument("--speed", action="store_true")
    p.add_argument("--table", type=Path, nargs="+", help="print the table of saved report.json files")
    p.add_argument("--examples", type=int, default=0,
                   help="with --table A B: also the first N requests of each outcome, A beside B")
    args = p.parse_args(argv)
    if args.table and args.paired:
        print(paired([json.loads(t.read_text(encoding="utf-8")) for t in args.table]))
        return 0
    if args.table and args.examples:
        print(examples([json.loads(t.read_text(encoding="utf-8")) for t in args.table], args.examples))
        return 0
    if args.table:
        print(table([json.loads(t.read_text(encoding="utf-8")) for t in args.table]))
        return 0
    if args.speed:
        args.rows = args.rows or 10
        print(json.dumps(speed(args), indent=1))
        return 0
    name = args.system.replace("task:", "task-").replace("/", "_").strip("_") + ("" if args.ladder else "-t08")
    out = args.out / f"{args.split}-{name}-s{args.seed}"
    report = logged(args, out / "samples.jsonl") if args.logged else run(args, log=out / "samples.jsonl")
    (out / "report.json").write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    print(table([report]))
    print(f"\n{out / 'report.json'}  ({report['seconds']} s, load {report['load']:.1f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
