"""Real-time factor of our MLX whisper path vs faster-whisper int8, same audio, same weights.

    python -m engine.runtime_exec bench/whisper.py [--models tiny.en base] [--json]

Audio is made here with espeak-ng + sox (10 dictated sentences, 10 short commands).
RTF = sum of per-clip transcription time / audio duration, after loading and one
warm-up clip per engine. Both engines decode greedily with the same temperature
fallback, condition_on_previous_text=False, language forced (en). faster-whisper
runs int8 on `--threads` CPU threads; MLX runs on its default device (CPU on Linux,
with OpenBLAS preloaded by engine.runtime_exec; Metal on a Mac).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.voice.audio import SAMPLE_RATE, read_audio  # noqa: E402

DICTATION = [
    "The meeting has been moved to next Thursday because several people will be away on holiday.",
    "I think we should take the train instead of driving, since the roads are always busy.",
    "My sister bought a small house near the river, and she plans to paint it herself.",
    "Please send me the report by the end of the day so that I can read it tonight.",
    "The weather was warm and sunny, so we decided to have lunch outside in the garden.",
    "He told me that the new restaurant on the corner serves the best coffee in town.",
    "We spent the whole afternoon walking through the old streets and looking at the shops.",
    "If you have any questions about the project, you can call me at any time.",
    "The children were tired after the long trip, so they went to bed early.",
    "She has been learning to play the piano for three years and practices every evening.",
]
COMMANDS = [
    "undo that", "new paragraph", "delete the last sentence", "select the next paragraph",
    "rephrase this", "make it more formal", "capitalize that", "continue writing",
    "stop listening", "erase the last three words",
]
TEMPERATURES = (0.0, 0.2, 0.4)


def speak(texts: list[str], folder: Path) -> list[np.ndarray]:
    out = []
    for text in texts:
        raw, wav = folder / "speech.raw.wav", folder / "speech.wav"
        subprocess.run(["espeak-ng", "-v", "en-us", "-s", "160", "-w", str(raw), text], check=True)
        subprocess.run(["sox", str(raw), "-r", str(SAMPLE_RATE), "-c", "1", "-b", "16", str(wav)],
                       check=True)
        pad = np.zeros(int(0.3 * SAMPLE_RATE), np.float32)
        out.append(np.concatenate([pad, read_audio(wav), pad]))
    return out


def timed(fn, clips: list[np.ndarray]) -> dict:
    fn(clips[0])  # warm-up
    times, texts = [], []
    for audio in clips:
        t = time.perf_counter()
        texts.append(fn(audio))
        times.append(time.perf_counter() - t)
    audio_s = sum(len(a) for a in clips) / SAMPLE_RATE
    return {"rtf": sum(times) / audio_s, "median_s": statistics.median(times), "max_s": max(times),
            "audio_s": audio_s, "texts": texts}


def bench_model(name: str, dictation, commands, threads: int) -> list[dict]:
    from faster_whisper import WhisperModel

    from engine.voice.models import ct2_dir, load_whisper
    from engine.voice.transcribe import TranscribeOptions, transcribe

    rows = []
    t = time.perf_counter()
    load_whisper(name)
    mlx_load = time.perf_counter() - t
    options = TranscribeOptions(model=name, language="en", temperatures=TEMPERATURES)

    def mlx(audio):
        return transcribe(audio, options).text

    t = time.perf_counter()
    fw = WhisperModel(str(ct2_dir(name)), device="cpu", compute_type="int8", cpu_threads=threads)
    fw_load = time.perf_counter() - t

    def faster(audio):
        segments, _ = fw.transcribe(audio, language="en", beam_size=1, best_of=1,
                                    temperature=list(TEMPERATURES),
                                    condition_on_previous_text=False, vad_filter=True)
        return " ".join(s.text.strip() for s in segments)

    for engine, fn, load in (("mlx (ours, float32)", mlx, mlx_load),
                             ("faster-whisper int8", faster, fw_load)):
        d, c = timed(fn, dictation), timed(fn, commands)
        rows.append({"model": name, "engine": engine, "load_s": load, "dictation_rtf": d["rtf"],
                     "command_rtf": c["rtf"], "command_median_s": c["median_s"],
                     "command_max_s": c["max_s"], "dictation_texts": d["texts"],
                     "command_texts": c["texts"]})
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", default=["tiny.en", "base"])
    p.add_argument("--threads", type=int, default=2, help="faster-whisper CPU threads")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)

    from engine.runtime import backend

    with tempfile.TemporaryDirectory() as tmp:
        dictation, commands = speak(DICTATION, Path(tmp)), speak(COMMANDS, Path(tmp))
    rows = [row for name in args.models
            for row in bench_model(name, dictation, commands, args.threads)]
    meta = {"mlx_backend": backend().describe(), "machine": platform.machine(),
            "cpus": os.cpu_count(), "load_average": os.getloadavg()[0]}
    if args.json:
        print(json.dumps({"meta": meta, "rows": rows}, indent=2))
        return 0
    print(f"MLX: {meta['mlx_backend']}; {meta['cpus']} CPUs; load average at the end "
          f"{meta['load_average']:.1f}")
    print("| model | engine | load s | dictation RTF | command RTF "
          "| command latency median / max s |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['model']} | {r['engine']} | {r['load_s']:.1f} | {r['dictation_rtf']:.3f} | "
              f"{r['command_rtf']:.2f} | {r['command_median_s']:.2f} / {r['command_max_s']:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
