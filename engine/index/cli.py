"""`killah index add|sync|status|search`: thin wrappers over engine.index."""

from __future__ import annotations

import argparse
from pathlib import Path

from engine.clikit import add_output_options, bounded_int, emit, one_line, progress_bar
from engine.errors import KillahError
from engine.index.ingest import SyncReport, sync
from engine.index.search import MAX_K, semantic_search, text_search
from engine.index.store import IndexStore
from engine.progress import CancelToken, Progress

EMBEDDER_HELP = "all-MiniLM-L6-v2 (default), multilingual-e5-small, or a model folder"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="killah index",
                                     description="Index your documents and search them.")
    parser.add_argument("--db", help="index database (default: the per-user index.sqlite)")
    sub = parser.add_subparsers(dest="command", required=True)

    add = sub.add_parser("add", help="add a folder to the index and sync it")
    add.add_argument("path", help="folder to index")
    add.add_argument("--exclude", action="append", default=[], metavar="GLOB",
                     help="sub-folder or file pattern never to open (repeatable)")
    add.add_argument("--no-embed", action="store_true", help="skip computing embeddings")
    add.add_argument("--embedder", help=EMBEDDER_HELP)
    add_output_options(add)

    syn = sub.add_parser("sync", help="re-read changed files in every indexed folder")
    syn.add_argument("--no-embed", action="store_true", help="skip computing embeddings")
    syn.add_argument("--embedder", help=EMBEDDER_HELP)
    add_output_options(syn)

    st = sub.add_parser("status", help="folders, counts and per-file errors")
    add_output_options(st)

    se = sub.add_parser("search", help="search paragraphs (full text, or --semantic)")
    se.add_argument("query", help="words to find (full text), or a passage (--semantic)")
    se.add_argument("--semantic", action="store_true",
                    help="rank by embedding cosine instead of FTS5")
    se.add_argument("-k", type=bounded_int(1, MAX_K), default=10,
                    help=f"number of results, 1 to {MAX_K} (default 10)")
    se.add_argument("--embedder", help=EMBEDDER_HELP)
    add_output_options(se)
    return parser


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    with IndexStore(args.db) as store:
        if args.command == "add":
            folder = Path(args.path).expanduser()
            if not folder.is_dir():
                raise KillahError(f"cannot index {args.path}: not a folder")
            added = store.add_folder(folder, args.exclude)
            report = _run_sync(store, args, [added])
            emit(args, {"folder": added.path, "excludes": list(added.excludes), **report.as_dict()},
                 human=_human_report)
        elif args.command == "sync":
            report = _run_sync(store, args, None)
            emit(args, report.as_dict(), human=_human_report)
        elif args.command == "status":
            data = {**store.status(), "error_files": store.errors()}
            emit(args, data, human=_human_status)
        elif args.command == "search":
            hits = (semantic_search(store, args.query, args.k, args.embedder) if args.semantic
                    else text_search(store, args.query, args.k))
            emit(args, [h.__dict__ for h in hits], human=_human_hits)
    return 0


def _run_sync(store: IndexStore, args, folders) -> SyncReport:
    bars: dict[str, object] = {}

    def on_progress(p: Progress) -> None:
        if p.stage not in ("read", "embed"):
            return
        bar = bars.get(p.stage)
        if bar is None:
            bar = bars[p.stage] = progress_bar(p.total,
                                               "reading" if p.stage == "read" else "embedding",
                                               unit="file" if p.stage == "read" else "par")
        bar.n = p.done
        bar.refresh()

    cancel = CancelToken()
    try:
        return sync(store, progress=on_progress, cancel=cancel, embed=not args.no_embed,
                    embedder=args.embedder, folders=folders)
    finally:
        for bar in bars.values():
            bar.close()


def _human_report(data: dict) -> str:
    lines = [f"added {data['added']}, updated {data['updated']}, moved {data['moved']}, "
             f"deleted {data['deleted']}, unchanged {data['unchanged'] + data['touched']}; "
             f"{data['paragraphs']} paragraphs read, {data['embedded']} embedded "
             f"in {data['seconds']:.1f} s" + (" (cancelled)" if data["cancelled"] else "")]
    lines += [f"  skipped {one_line(e['path'])}: {e['error']}" for e in data["errors"]]
    return "\n".join(lines)


def _human_status(data: dict) -> str:
    lines = [f"index: {data['path']}"]
    for f in data["folders"]:
        extra = f" (excluding {', '.join(f['excludes'])})" if f["excludes"] else ""
        lines.append(f"  folder {f['path']}{extra}")
    lines.append(f"{data['documents']} documents, {data['paragraphs']} distinct paragraphs "
                 f"({data['paragraph_refs']} in documents), {data['errors']} files with errors")
    for model, n in data["embeddings"].items():
        lines.append(f"  {n} embeddings ({model})")
    lines += [f"  {e.get('kind', 'error')} {one_line(e['path'])}: {e['error']}"
              for e in data["error_files"]]
    return "\n".join(lines)


def _human_hits(hits: list[dict]) -> str:
    if not hits:
        return "no matches"
    out = []
    for h in hits:
        text = h["text"] if len(h["text"]) <= 240 else h["text"][:237] + "..."
        out.append(f"{h['score']:.3f}  {one_line(h['path'])} #{h['order']}\n    {text}")
    return "\n".join(out)
