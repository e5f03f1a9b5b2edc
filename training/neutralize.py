"""The neutralize stage: chunk the corpus and describe every chunk, resumably.

Wraps training.neutralizers (the backends and `validate`) per chunk of
training.chunking, and checkpoints to a JSONL file: a header line, then one
record per chunk, appended and flushed as each finishes. Killed at any point
(even SIGKILL), a re-run keeps every complete line, drops a torn last one, and
describes only what is missing. Endpoint backends run with parallel workers.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from engine.errors import KillahError
from engine.progress import CancelToken, ProgressCallback, report_progress
from engine.text import sha256_file

FORMAT = "killah-neutralized v1"


@dataclass(frozen=True)
class NeutralizeConfig:
    corpus: str = field(
        default="", metadata={"help": "corpus file written by `killah train curate`"}
    )
    out: str | None = field(
        default=None, metadata={"help": "JSONL to write (default: beside the corpus)"}
    )
    neutralizer: str = field(default="extractive", metadata={
        "help": "extractive, local[:MODEL] or endpoint[:URL[#MODEL]]"})
    endpoint: str | None = field(default=None, metadata={
        "help": "OpenAI-compatible URL for --neutralizer endpoint"})
    endpoint_model: str | None = field(
        default=None, metadata={"help": "model name sent to the endpoint"}
    )
    workers: int = field(default=4, metadata={"help": "parallel requests for endpoint backends"})
    min_words: int = field(default=250, metadata={"help": "shortest chunk in words"})
    max_words: int = field(default=650, metadata={"help": "longest chunk in words"})
    overlap_sentences: int = field(
        default=2, metadata={"help": "sentences shared by neighbouring chunks"}
    )
    limit_chunks: int | None = field(default=None, metadata={
        "help": "describe (and so train on) at most N chunks, for quick runs"})
    fresh: bool = field(default=False, metadata={"help": "ignore an existing checkpoint"})


def backend_spec(cfg: NeutralizeConfig) -> str:
    spec = cfg.neutralizer.strip()
    if spec == "local":
        return "local:default"
    if spec == "endpoint":
        if not cfg.endpoint:
            raise KillahError("--neutralizer endpoint needs --endpoint URL (e.g. http://127.0.0.1:8080/v1)")
        return f"endpoint:{cfg.endpoint}" + (f"#{cfg.endpoint_model}" if cfg.endpoint_model else "")
    return spec


def chunk_corpus(corpus, cfg: NeutralizeConfig) -> list[dict]:
    """Every chunk of every section, with its position (source, section, chunk, sentences)."""
    from training.chunking import chunk_text

    lang = corpus.meta.get("language") or None
    out = []
    for s in corpus.sections:
        for i, c in enumerate(
            chunk_text(s.text, cfg.min_words, cfg.max_words, cfg.overlap_sentences, lang)
        ):
            out.append(
                {
                    "id": f"{s.source}|{s.index}|{i}",
                    "source": s.source,
                    "section": s.index,
                    "chunk": i,
                    "first_sentence": c.first_sentence,
                    "last_sentence": c.last_sentence,
                    "words": c.words,
                    "text": c.text,
                }
            )
    return out


def _header(cfg: NeutralizeConfig, corpus_path: Path, spec: str) -> dict:
    digest = sha256_file(corpus_path)[:16]
    return {"format": FORMAT, "corpus": str(corpus_path), "corpus_sha256": digest, "backend": spec,
            "chunking": {"min_words": cfg.min_words, "max_words": cfg.max_words,
                         "overlap_sentences": cfg.overlap_sentences}}


def read_checkpoint(path: Path) -> tuple[dict | None, list[dict]]:
    """The header and every complete record; a torn last line (from a kill) is ignored."""
    if not path.is_file():
        return None, []
    header, records = None, []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f):
            if not line.endswith("\n"):
                break  # torn write
            try:
                obj = json.loads(line)
            except ValueError:
                break
            if n == 0:
                header = obj
            else:
                records.append(obj)
    return header, records


def read_records(path: str | Path) -> tuple[dict, list[dict]]:
    header, records = read_checkpoint(Path(path).expanduser())
    if not header or header.get("format") != FORMAT:
        raise KillahError(f"{path}: not a neutralized-chunks file ({FORMAT})")
    return header, records


def run(cfg: NeutralizeConfig, progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None) -> dict:
    from engine.atomic import write_text
    from training.corpus import read_corpus
    from training.neutralizers import describe_chunk, make_neutralizer

    if not cfg.corpus:
        raise KillahError("neutralize needs --corpus (from `killah train curate`)")
    corpus_path = Path(cfg.corpus).expanduser()
    corpus = read_corpus(corpus_path)
    out = Path(cfg.out).expanduser() if cfg.out else corpus_path.with_name("neutralized.jsonl")
    spec = backend_spec(cfg)
    header = _header(cfg, corpus_path, spec)
    chunks = chunk_corpus(corpus, cfg)
    if cfg.limit_chunks:
        chunks = chunks[: cfg.limit_chunks]
    if not chunks:
        raise KillahError(f"corpus {corpus_path}: no chunk of {cfg.min_words}+ words")

    old_header, done = (None, []) if cfg.fresh else read_checkpoint(out)
    if old_header != header:
        done = []
    wanted = {c["id"] for c in chunks}
    done = [r for r in done if r["id"] in wanted]
    # Rewrite what is kept (drops a torn line), then append.
    write_text(out, "".join(json.dumps(x, ensure_ascii=False) + "\n" for x in [header, *done]))
    have = {r["id"] for r in done}
    todo = [c for c in chunks if c["id"] not in have]
    neutralizer = make_neutralizer(spec)
    lang = corpus.meta.get("language") or None
    total, finished = len(chunks), len(have)
    tic = time.perf_counter()

    def one(chunk: dict) -> dict:
        d = describe_chunk(chunk["text"], neutralizer, lang)
        return {**chunk, "description": d.text, "backend": d.backend, "valid": d.validation.ok,
                "reasons": list(d.validation.reasons), "rejected": d.rejected,
                "copied_ngram_share": round(d.validation.copied_ngram_share, 4)}

    last_sync = time.monotonic()
    with open(out, "a", encoding="utf-8") as f:
        def record(rec: dict) -> None:
            nonlocal finished, last_sync
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
            f.flush()
            if time.monotonic() - last_sync > 1.0:
                os.fsync(f.fileno())
                last_sync = time.monotonic()
            finished += 1
            report_progress(progress, "neutralize", finished, total, "chunk")

        workers = cfg.workers if spec.startswith("endpoint") else 1
        if workers > 1:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                futures = [pool.submit(one, c) for c in todo]
                for fut in as_completed(futures):
                    if cancel is not None and cancel.cancelled:
                        for other in futures:
                            other.cancel()
                        break
                    record(fut.result())
        else:
            for c in todo:
                if cancel is not None and cancel.cancelled:
                    break
                record(one(c))
        f.flush()
        os.fsync(f.fileno())

    _, records = read_checkpoint(out)
    status = "done" if len(records) == total else "cancelled"
    summary = {
        "out": str(out),
        "status": status,
        "backend": spec,
        "chunks": total,
        "described": len(records),
        "resumed": len(have),
        "valid": sum(1 for r in records if r["valid"]),
        "fell_back_to_extractive": sum(1 for r in records if r.get("rejected")),
        "invalid": sum(1 for r in records if not r["valid"]),
        "mean_copied_ngram_share": round(
            sum(r["copied_ngram_share"] for r in records) / max(len(records), 1), 4
        ),
        "seconds": round(time.perf_counter() - tic, 1),
    }
    return summary


def build_parser() -> argparse.ArgumentParser:
    from training.config import stage_parser

    return stage_parser(
        "killah train neutralize",
        "Chunk a curated corpus and describe each chunk (resumable).",
        NeutralizeConfig,
    )


def main(argv: list[str] | None = None) -> int:
    from engine.clikit import emit
    from training.progress import CliProgress

    from training.config import from_args

    args = build_parser().parse_args(argv)
    with CliProgress() as progress:
        summary = run(from_args(NeutralizeConfig, args), progress=progress)
    emit(
        args,
        summary,
        human=lambda s: (
            f"{s['status']}: {s['described']}/{s['chunks']} chunks described "
            f"({s['backend']}) -> {s['out']}\nvalid {s['valid']}, fell back to extractive "
            f"{s['fell_back_to_extractive']}, invalid {s['invalid']}"
        ),
    )
    return 0 if summary["status"] == "done" else 1


if __name__ == "__main__":
    sys.exit(main())
