"""Build the steering vector's built-in neutral reference: mixed public-domain prose.

    python -m engine.runtime_exec resources/persona/make_reference.py [DATA_DIR/corpora]

The corpora folder defaults to the shipped reference authors (resources/reference); the
shipped reference_<lang>.txt files were built from the full development corpora.

For each language, REFERENCE_PER_AUTHOR paragraphs of 60-150 words from every author of
corpora/<lang>, taken only from the works the style judge trains on (never the works the
style harness holds out), written to reference_<lang>.txt, one paragraph per block. A
persona's steering vector is its mean hidden state minus this mix, so it points at what
sets the persona apart from literary prose in general (research/style-baselines.md used
"the other authors" the same way), not at "literary vs plain".
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

REFERENCE_PER_AUTHOR = 20


def _prose(text: str) -> bool:
    """Running prose, not a cast list or a table of contents: few capitalised words."""
    words = text.split()
    return sum(w[:1].isupper() for w in words) <= 0.25 * len(words)


def main(corpora: Path) -> None:
    from engine.atomic import write_text
    from engine.index.features import guess_language
    from training.evaluation.judge import JudgeConfig, author_passages, list_authors, split_works

    config = JudgeConfig(min_words=60, max_words=150)
    for lang in ("en", "ru"):
        paragraphs = []
        for name, folder in sorted(list_authors(corpora / lang).items()):
            split = split_works(folder, JudgeConfig())
            pool = [p for p, _w in author_passages(split, "train", config, seed=0)
                    if guess_language(p) == lang and _prose(p)]
            step = max(1, len(pool) // REFERENCE_PER_AUTHOR)
            paragraphs += pool[::step][:REFERENCE_PER_AUTHOR]
        out = Path(__file__).with_name(f"reference_{lang}.txt")
        write_text(out, "\n\n".join(" ".join(p.split()) for p in paragraphs) + "\n")
        print(f"{out.name}: {len(paragraphs)} paragraphs")


if __name__ == "__main__":
    shipped = Path(__file__).resolve().parents[1] / "reference"
    corpora = Path(sys.argv[1]) if len(sys.argv) > 1 else shipped
    if not all((corpora / lang).is_dir() for lang in ("en", "ru")):
        sys.exit(f"make_reference: {corpora} has no en/ and ru/ author folders")
    main(corpora)
