"""Dictation of rare names and terms before and after adding them to the vocabulary.

    python -m engine.runtime_exec bench/vocabulary.py [--languages en ru] [--out FILE.json]

bench/data/vocabulary.json holds 20 sentences per language, each naming one rare name or
term, and 10 control sentences naming none. Each is spoken with espeak-ng (+ sox, 16 kHz
mono), then transcribed as `killah transcribe` does (tiny.en for English, base for
Russian), three ways:

- none: no vocabulary (`--no-vocabulary`);
- prompt: the 20 terms as Whisper's glossary prompt only;
- vocabulary: the product path, the glossary prompt and the correction of misheard forms.

Reported per language: recall of the terms (the form written in the sentence found in
the transcript, case and ё ignored), WER of the other words of those sentences (the words
aligned to the term are left out on both sides), and WER of the control sentences; with
95% bootstrap intervals over sentences (2000 resamples, seed 0).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.voice.audio import SAMPLE_RATE, read_audio  # noqa: E402

DATA = Path(__file__).resolve().parent / "data" / "vocabulary.json"
VOICES = {"en": "en-us", "ru": "ru"}
MODELS = {"en": "tiny.en", "ru": "base"}
CONDITIONS = ("none", "prompt", "vocabulary")


def words(text: str) -> list[str]:
    text = text.lower().replace("ё", "е").replace("-", " ")
    return re.findall(r"[^\W_]+(?:['’][^\W_]+)*", text)


def speak(text: str, voice: str, folder: Path) -> np.ndarray:
    raw, wav = folder / "speech.raw.wav", folder / "speech.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-s", "150", "-w", str(raw), text], check=True,
                   capture_output=True)
    subprocess.run(["sox", str(raw), "-r", str(SAMPLE_RATE), "-c", "1", "-b", "16", str(wav)],
                   check=True, capture_output=True)
    pad = np.zeros(int(0.3 * SAMPLE_RATE), np.float32)
    return np.concatenate([pad, read_audio(wav), pad])


def rest_errors(reference: str, hypothesis: str, form: str | None) -> tuple[int, int]:
    """(errors, reference words) over the words other than `form` and what it aligned to."""
    import jiwer

    ref, hyp = words(reference), words(hypothesis)
    target = words(form) if form else []
    skip = set()
    for i in range(len(ref) - len(target) + 1):
        if target and ref[i:i + len(target)] == target:
            skip = set(range(i, i + len(target)))
            break
    if not hyp:
        return len(ref) - len(skip), len(ref) - len(skip)
    out = jiwer.process_words(" ".join(ref), " ".join(hyp))
    errors = 0
    for chunk in out.alignments[0]:
        touched = set(range(chunk.ref_start_idx, chunk.ref_end_idx))
        if chunk.type == "equal":
            continue
        if chunk.type == "insert":
            near = {chunk.ref_start_idx - 1, chunk.ref_start_idx}
            errors += 0 if near & skip else chunk.hyp_end_idx - chunk.hyp_start_idx
            continue
        errors += len(touched - skip)
    return errors, len(ref) - len(skip)


def recalled(form: str, hypothesis: str) -> bool:
    target = words(form)
    hyp = words(hypothesis)
    return any(hyp[i:i + len(target)] == target for i in range(len(hyp) - len(target) + 1))


def bootstrap(values: list[float], weights: list[float] | None = None, n: int = 2000,
              seed: int = 0) -> tuple[float, float, float]:
    """Ratio estimate sum(values)/sum(weights) and its 95% percentile interval."""
    v = np.asarray(values, float)
    w = np.ones_like(v) if weights is None else np.asarray(weights, float)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(v), (n, len(v)))
    stats = v[idx].sum(1) / np.maximum(w[idx].sum(1), 1e-9)
    return float(v.sum() / max(w.sum(), 1e-9)), float(np.percentile(stats, 2.5)), float(
        np.percentile(stats, 97.5))


def run_language(lang: str, data: dict, folder: Path) -> dict:
    from engine.voice.transcribe import TranscribeOptions, transcribe
    from engine.voice.vocabulary import Vocabulary

    vocab = Vocabulary().add(t["term"] for t in data["terms"])
    base = TranscribeOptions(model=MODELS[lang], language=lang)
    options = {
        "none": base,
        "prompt": TranscribeOptions(model=MODELS[lang], language=lang,
                                    initial_prompt=vocab.prompt(lang)),
        "vocabulary": TranscribeOptions(model=MODELS[lang], language=lang, vocabulary=vocab),
    }
    items = [(t["sentence"], t.get("form", t["term"])) for t in data["terms"]]
    items += [(s, None) for s in data["control"]]
    rows = []
    transcribe(speak("Warm up.", VOICES[lang], folder), base)
    for sentence, form in items:
        audio = speak(sentence, VOICES[lang], folder)
        row = {"sentence": sentence, "form": form}
        for name, opts in options.items():
            tic = time.perf_counter()
            row[name] = transcribe(audio, opts).text
            row[f"{name}_s"] = round(time.perf_counter() - tic, 2)
        rows.append(row)
        print(json.dumps(row, ensure_ascii=False), file=sys.stderr, flush=True)
    summary = {}
    for name in CONDITIONS:
        terms = [r for r in rows if r["form"]]
        control = [r for r in rows if not r["form"]]
        rec = bootstrap([float(recalled(r["form"], r[name])) for r in terms])
        rest = [rest_errors(r["sentence"], r[name], r["form"]) for r in terms]
        ctrl = [rest_errors(r["sentence"], r[name], None) for r in control]
        summary[name] = {
            "term_recall": rec,
            "rest_wer": bootstrap([e for e, _ in rest], [n for _, n in rest]),
            "control_wer": bootstrap([e for e, _ in ctrl], [n for _, n in ctrl]),
            "seconds": round(sum(r[f"{name}_s"] for r in rows), 1),
        }
    return {"model": MODELS[lang], "terms": len(data["terms"]), "control": len(data["control"]),
            "summary": summary, "rows": rows}


def table(results: dict) -> str:
    fmt = lambda t: f"{t[0]:.2f} [{t[1]:.2f}, {t[2]:.2f}]"  # noqa: E731
    lines = ["| language (model) | condition | term recall | WER of the other words | "
             "WER of control sentences |", "|---|---|---|---|---|"]
    for lang, res in results.items():
        for name in CONDITIONS:
            s = res["summary"][name]
            lines.append(f"| {lang} ({res['model']}) | {name} | {fmt(s['term_recall'])} | "
                         f"{fmt(s['rest_wer'])} | {fmt(s['control_wer'])} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--languages", nargs="+", default=["en", "ru"], choices=sorted(VOICES))
    p.add_argument("--out", default=None, help="write the results (with every transcript) here")
    args = p.parse_args(argv)
    data = json.loads(DATA.read_text(encoding="utf-8"))
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for lang in args.languages:
            results[lang] = run_language(lang, data[lang], Path(tmp))
    if args.out:
        Path(args.out).write_text(json.dumps(results, ensure_ascii=False, indent=1), "utf-8")
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
