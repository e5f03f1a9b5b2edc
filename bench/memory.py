"""Does the document's memory reach the bundled model's continuations?

    python -m engine.runtime_exec bench/memory.py [--samples 4] [--out FILE.json]

Eight notes written for this bench (characters with uncommon names, a setting), three
openings each that name nobody ("She", "He", "They"...). Each opening is continued
`--samples` times (the app's ghost-text prompt, engine.tasks.build("continue"), 32 tokens,
temperature 0.7, seeds 0..n-1) without the note and with it. Reported: the share of
continuations that name a character of the note, and the share that use a word of its
setting line, with 95% bootstrap intervals over openings (2000 resamples, seed 0).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

NOTES = [
    ("Characters: Mara Voss, keeper of the Stroma light; her brother Tobiah.",
     "Setting: a lighthouse on Orkney, winter, storms.",
     ["She climbed the stairs and", "That night the wind", "He had not written for a month, so"]),
    ("Characters: Inspector Halloran; the widow Agnes Crane.",
     "Setting: a mill town in Yorkshire, fog, the canal.",
     ["He knocked twice before", "The body was found at dawn, and", "She would not say"]),
    ("Characters: Dr. Ilse Marek, a botanist; her assistant Pell.",
     "Setting: a greenhouse in Vienna, 1912, orchids.",
     ["She lifted the glass cover and", "By noon the heat", "He brought the letter in and"]),
    ("Characters: Captain Odell Quist; the navigator Renny.",
     "Setting: a whaling ship in the Antarctic, ice, harpoons.",
     ["The ice closed around them and", "He took the wheel himself, because",
      "Nobody slept that night;"]),
    ("Characters: Sister Benedetta; the boy Luca.",
     "Setting: a convent school in Umbria, bells, olive groves.",
     ["The bell rang for vespers and", "He ran across the courtyard", "She folded her hands and"]),
    ("Characters: Jonah Fairweather, a gambler; Lottie Vane, a singer.",
     "Setting: a Mississippi riverboat, 1850s, cards, whiskey.",
     ["He dealt the last hand and", "The music stopped when", "She leaned on the rail and"]),
    ("Characters: Professor Amos Tull; his rival Kestrel Dane.",
     "Setting: an Oxford college, rain, a stolen manuscript.",
     ["The manuscript was gone, and", "He waited in the library until", "They met at the gate;"]),
    ("Characters: Yara Okafor, a pilot; the mechanic Brisk.",
     "Setting: a desert airstrip, sandstorms, an old biplane.",
     ["The engine coughed twice and", "She checked the fuel again because",
      "By evening the storm"]),
]


def names(characters: str) -> set[str]:
    body = characters.split(":", 1)[1]
    return {w for w in re.findall(r"\b[A-Z][a-z]+\b", body)
            if w not in {"Dr", "Inspector", "Captain", "Sister", "Professor"}}


def setting_words(setting: str) -> set[str]:
    return {w for w in re.findall(r"[a-z]{4,}", setting.split(":", 1)[1].lower())}


def bootstrap(v, n=2000, seed=0) -> list[float]:
    v = np.asarray(v, float)
    idx = np.random.default_rng(seed).integers(0, len(v), (n, len(v)))
    means = v[idx].mean(1)
    return [round(float(v.mean()), 3), round(float(np.percentile(means, 2.5)), 3),
            round(float(np.percentile(means, 97.5)), 3)]


def main(argv: list[str] | None = None) -> int:
    from engine import tasks
    from engine.generate import SamplingOptions, generate_batch
    from engine.models import load_model

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--samples", type=int, default=4)
    p.add_argument("--out", default=None)
    args = p.parse_args(argv)
    lm = load_model(None)
    rows = []
    for characters, setting, openings in NOTES:
        note = f"{characters}\n{setting}"
        for opening in openings:
            row = {"opening": opening}
            for cond, memory in (("without", ""), ("with", note)):
                prompt = tasks.build("continue", opening, memory=memory)
                opts = [SamplingOptions(temperature=0.7, max_tokens=32, stop=("\n\n",), seed=i)
                        for i in range(args.samples)]
                texts = [c.text for c in generate_batch(lm, [prompt] * args.samples, opts)]
                row[cond] = texts
                row[f"{cond}_names"] = np.mean([bool(names(characters) & set(
                    re.findall(r"\b[A-Z][a-z]+\b", t))) for t in texts])
                row[f"{cond}_setting"] = np.mean([bool(setting_words(setting) & set(
                    re.findall(r"[a-z]{4,}", t.lower()))) for t in texts])
            rows.append(row)
            print(json.dumps({k: v for k, v in row.items() if not isinstance(v, list)}),
                  file=sys.stderr, flush=True)
    summary = {f"{c}_{m}": bootstrap([r[f"{c}_{m}"] for r in rows])
               for c in ("without", "with") for m in ("names", "setting")}
    if args.out:
        Path(args.out).write_text(json.dumps({"summary": summary, "rows": rows}, indent=1,
                                             default=float), encoding="utf-8")
    print("| continuations that | without the note | with the note |\n|---|---|---|")
    for m, label in (("names", "name a character of the note"),
                     ("setting", "use a word of its setting")):
        w, n = summary[f"with_{m}"], summary[f"without_{m}"]
        print(f"| {label} | {n[0]:.2f} [{n[1]:.2f}, {n[2]:.2f}] | {w[0]:.2f} [{w[1]:.2f}, "
              f"{w[2]:.2f}] |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
