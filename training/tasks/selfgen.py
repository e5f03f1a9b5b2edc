"""The model's own rewrites of corpus sentences, ranked and checked: SFT data and DPO pairs.

    python -m engine.runtime_exec -m training.tasks.selfgen DATA_DIR --out DIR \
        [--adapter resources/adapters/rewrite] [--units 200] [--n 4] [--langs en,ru]

Sentences and short paragraphs are drawn from the corpora (never the held-out authors);
each gets rephrase and one preset in rotation; n candidates are generated as the app
generates them (the task adapter's frame when `--adapter` is given, the base frames
otherwise) and ranked as the app ranks them (engine.quality.rerank.rank: faithfulness,
then WQRM). Two files, appended to as batches finish (a re-run skips the units done):

- `faithful.jsonl`: the top candidate when it passed every check (rejection sampling:
  {mode, source, target, lang, origin}), input for training.tasks.build --selfgen;
- `preferences.jsonl`: {prompt, chosen, rejected, mode, lang, ...} for DPO: the best and
  the worst candidate of a request by (faithful, fewer failed checks, WQRM), kept when the
  best is faithful and the worst is not, or the best fails at least two checks fewer, or
  both are faithful and the WQRM gap is at least --min-gap (`preference`);
- `ranked.jsonl`: every request's candidates with their checks and scores.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

PRESETS = ("formal", "casual", "shorter", "longer")


def excluded(paths: list[Path]) -> set[str]:
    """The texts of JSONL files (rows with "text": the dev and held-out rewrite sets), and
    each of their sentences, normalised: never rewritten for training."""
    from training.chunking import split_sentences

    out: set[str] = set()
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                text = json.loads(line)["text"]
                out.add(" ".join(text.split()))
                out.update(" ".join(s.split()) for s in split_sentences(text, "en"))
    return out


def lamp_units(path: Path, n: int, seed: int, words=(10, 40)) -> list[str]:
    """`n` plain modern sentences: LAMP's writer-edited paragraphs, split and cleaned."""
    import random

    from training.chunking import split_sentences
    from training.tasks.sources import clean_unit

    pool: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            for s in split_sentences(" ".join(json.loads(line)["chosen"].split()), "en"):
                if words[0] <= len(s.split()) <= words[1] and clean_unit(s):
                    pool.append(s)
    pool = sorted(set(pool))
    random.Random(seed).shuffle(pool)
    return pool[:n]


def jobs_for(data: Path, units: int, langs: list[str], seed: int, lamp: int = 0,
             exclude: set[str] = frozenset()) -> list[tuple[str, str, str, str]]:
    """(id, lang, mode, text) for `units` corpus units per language (and `lamp` LAMP
    sentences), rephrase + a preset each; nothing in `exclude`."""
    from training.tasks.build import LAMP
    from training.tasks.sources import draw_units

    sources: list[list[tuple[str, str, str]]] = []  # per source: (key, lang, text)
    for lang in langs:
        folder = data / "corpora" / lang
        if not folder.is_dir():
            raise SystemExit(f"training.tasks.selfgen: {folder} is missing (pass the shared data folder)")
        sources.append([(f"{lang}-{i}", lang, u.text)
                        for i, u in enumerate(draw_units(folder, units, seed=seed))])
    if lamp:
        if not (data / LAMP).is_file():
            raise SystemExit(f"training.tasks.selfgen: {data / LAMP} is missing (pass the shared data folder)")
        sources.append([(f"lamp-{i}", "en", t) for i, t in enumerate(lamp_units(data / LAMP, lamp, seed))])
    # interleaved, so a run stopped early has some of every source
    texts = [src[i] for i in range(max(map(len, sources), default=0)) for src in sources if i < len(src)]
    out = []
    for i, (key, lang, text) in enumerate(texts):
        if " ".join(text.split()) in exclude:
            continue
        out.append((f"{key}-rephrase", lang, "rephrase", text))
        mode = PRESETS[i % len(PRESETS)]
        out.append((f"{key}-{mode}", lang, mode, text))
    return out


def preference(ranked: list, min_gap: float):
    """(chosen, rejected) from one request's ranked candidates, or None.

    Candidates are ordered by (faithful, fewer failed checks, WQRM). The chosen one must be
    faithful, or fail at least two checks fewer than the rejected one; two faithful ones
    make a pair only when the WQRM gap is at least `min_gap`.
    """
    if len(ranked) < 2:
        return None
    order = sorted(ranked, key=lambda r: (not r.faithful, len(r.faithfulness.reasons), -r.score))
    win, lose = order[0], order[-1]
    if win.faithful and not lose.faithful:
        return win, lose
    if win.faithful and lose.faithful:
        return (win, lose) if win.score - lose.score >= min_gap else None
    if len(lose.faithfulness.reasons) - len(win.faithfulness.reasons) >= 2:
        return win, lose
    return None


def done_ids(path: Path) -> set[str]:
    if not path.is_file():
        return set()
    return {json.loads(line)["id"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()}


def run(args) -> dict:
    from engine import tasks
    from engine.generate import SamplingOptions, generate_batch
    from engine.models import load_model
    from engine.quality.rerank import candidate_options, rank

    lm = load_model(args.model)
    settings, transforms = tasks.PromptSettings(), ()
    if args.adapter:
        from engine.adapters import AdapterStack, load_adapter

        adapter = load_adapter(args.adapter)
        settings = tasks.PromptSettings(task_frame=str(adapter.metadata.get("prompt_format") or tasks.TASK_FRAME))
        transforms = (AdapterStack.for_model(lm, [(adapter, adapter.lora_scale)]),)
    args.out.mkdir(parents=True, exist_ok=True)
    log = args.out / "done.jsonl"
    skip = done_ids(log)
    jobs = jobs_for(args.data, args.units, args.langs.split(","), args.seed, args.lamp,
                    excluded(args.exclude))
    todo = [j for j in jobs if j[0] not in skip]
    per_batch = max(1, args.batch // args.n)
    counts = {"requests": 0, "faithful": 0, "preferences": 0}
    with open(args.out / "faithful.jsonl", "a", encoding="utf-8") as good, \
            open(args.out / "preferences.jsonl", "a", encoding="utf-8") as prefs, \
            open(log, "a", encoding="utf-8") as done, \
            open(args.out / "ranked.jsonl", "a", encoding="utf-8") as ranked_log:
        for start in range(0, len(todo), per_batch):
            chunk = todo[start : start + per_batch]
            prompts, opts = [], []
            for k, (_, _, mode, text) in enumerate(chunk):
                base = SamplingOptions(temperature=0.9, repetition_penalty=1.1, seed=args.seed + start + k,
                                       max_tokens=tasks.max_tokens(mode, text))
                prompts += [tasks.build(mode, text, (), settings)] * args.n
                opts += candidate_options(base, args.n, rewrite=True)
            comps = generate_batch(lm, prompts, opts, transforms=transforms)
            for k, (jid, lang, mode, text) in enumerate(chunk):
                ranked = [r for r in rank(comps[k * args.n : (k + 1) * args.n], source=text, task=mode, lm=lm)
                          if r.text]
                counts["requests"] += 1
                frame = tasks.task_prompt(mode, text).text
                ranked_log.write(json.dumps({"id": jid, "mode": mode, "lang": lang, "source": text, "candidates": [
                    {"text": r.text, "score": round(r.score, 3), "faithful": r.faithful,
                     "reasons": list(r.faithfulness.reasons)} for r in ranked]}, ensure_ascii=False) + "\n")
                if ranked and ranked[0].faithful:
                    good.write(json.dumps({"mode": mode, "source": text, "target": ranked[0].text, "lang": lang,
                                           "origin": "selfgen"}, ensure_ascii=False) + "\n")
                    counts["faithful"] += 1
                pair = preference(ranked, args.min_gap)
                if pair is not None:
                    win, lose = pair
                    prefs.write(json.dumps({
                        "id": jid, "mode": mode, "lang": lang, "source": text, "prompt": frame,
                        "chosen": " " + win.text + "\n", "rejected": " " + lose.text + "\n",
                        "chosen_faithful": win.faithful, "chosen_reasons": list(win.faithfulness.reasons),
                        "rejected_reasons": list(lose.faithfulness.reasons),
                        "chosen_score": round(win.score, 3), "rejected_score": round(lose.score, 3)},
                        ensure_ascii=False) + "\n")
                    counts["preferences"] += 1
                done.write(json.dumps({"id": jid}) + "\n")
            for f in (good, prefs, done, ranked_log):
                f.flush()
            print(f"{min(start + per_batch, len(todo))}/{len(todo)} requests {counts}", file=sys.stderr)
    return counts


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m training.tasks.selfgen", description=__doc__.split("\n\n")[0])
    p.add_argument("data", type=Path, help="the shared data folder (corpora/)")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--adapter", default=None, help="a rewrite task adapter folder (default: the base frames)")
    p.add_argument("--model", default=None)
    p.add_argument("--units", type=int, default=200, help="corpus units per language")
    p.add_argument("--langs", default="en,ru")
    p.add_argument("--lamp", type=int, default=0, help="LAMP writer-edited sentences to add (English)")
    p.add_argument("--exclude", type=Path, action="append", default=[],
                   help="a JSONL of texts never to use (bench/data/rewrite_dev.jsonl, ..._heldout.jsonl)")
    p.add_argument("--n", type=int, default=4)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--min-gap", type=float, default=0.5, help="WQRM gap for a pair of two faithful candidates")
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args(argv)
    print(json.dumps(run(args)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
