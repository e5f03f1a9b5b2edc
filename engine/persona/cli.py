"""`killah persona create|list|show`: thin wrappers over engine.persona."""

from __future__ import annotations

import argparse

from engine.cli import add_model_options
from engine.clikit import add_output_options, emit, progress_bar
from engine.index.ingest import sync
from engine.index.store import IndexStore
from engine.persona.persona import PersonaData, create_persona, folder_ids, get_persona, list_personas


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="killah persona", description="Create and inspect personas.")
    parser.add_argument("--db", help="index database (default: the per-user index.sqlite)")
    sub = parser.add_subparsers(dest="command", required=True)
    create = sub.add_parser("create", help="make a persona from one or more folders (indexes them)")
    create.add_argument("name", help="the persona's name")
    create.add_argument("--folder", action="append", required=True, metavar="PATH",
                        help="a folder of your writing (repeatable)")
    create.add_argument("--exclude", action="append", default=[], metavar="GLOB",
                        help="sub-folder or file pattern never to open (repeatable)")
    create.add_argument("--no-sync", action="store_true", help="do not index the folders now")
    add_output_options(create)
    ls = sub.add_parser("list", help="list personas")
    add_output_options(ls)
    show = sub.add_parser("show", help="a persona's folders, documents and style profile")
    show.add_argument("name", help="the persona's name")
    add_output_options(show)
    cal = sub.add_parser("calibrate", help="choose the persona's steering layer and strength "
                         "from its own held-out paragraphs (minutes on a CPU; cached)")
    cal.add_argument("name", help="the persona's name")
    cal.add_argument("--exemplars", type=int, default=3,
                     help="exemplars in the calibration prompts, as the app uses them (default: 3)")
    cal.add_argument("--force", action="store_true", help="recalibrate even if one is cached")
    add_model_options(cal)
    add_output_options(cal)
    return parser


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    with IndexStore(args.db) as store:
        if args.command == "create":
            persona = create_persona(store, args.name, args.folder, args.exclude)
            if not args.no_sync:
                bar = progress_bar(None, "indexing", unit="file")
                try:
                    sync(store, folders=[store.folder(p) for p in persona.folders],
                         progress=lambda p: _update(bar, p))
                finally:
                    bar.close()
            emit(args, describe(store, persona.name), human=_human_show)
        elif args.command == "list":
            emit(args, [p.as_dict() for p in list_personas(store)],
                 human=lambda rows: "\n".join(f"{r['name']}: {', '.join(r['folders'])}" for r in rows)
                 or "no personas")
        elif args.command == "show":
            emit(args, describe(store, args.name), human=_human_show)
        elif args.command == "calibrate":
            emit(args, calibrate(store, args), human=lambda d: d["summary"])
    return 0


def calibrate(store: IndexStore, args) -> dict:
    from dataclasses import asdict

    from engine.cli import load_from_args
    from engine.persona.conditioning import PersonaConditioning, PersonaStrengths

    get_persona(store, args.name)  # an unknown name fails before the model loads
    lm = load_from_args(args)
    cond = PersonaConditioning.open(args.name, lm, PersonaStrengths(exemplars=args.exemplars),
                                    store=store)
    bar = progress_bar(None, "calibrating", unit="setting")
    try:
        result = cond.calibrate(progress=lambda p: _update(bar, p), force=args.force)
    finally:
        bar.close()
    return {"persona": args.name, "summary": f"{args.name}: {result.describe()}",
            **asdict(result)}


def _update(bar, p) -> None:
    if p.stage in ("read", "embed", "calibrate"):
        bar.total = p.total
        bar.n = p.done
        bar.set_description({"read": "reading", "embed": "embedding"}.get(p.stage, p.message))
        bar.refresh()


def describe(store: IndexStore, name: str) -> dict:
    from engine.index.features import FEATURES

    persona = get_persona(store, name)
    ids = folder_ids(store, persona)
    marks = ",".join("?" * len(ids)) or "NULL"
    docs = store.db.execute(
        f"SELECT count(*), coalesce(sum(paragraphs), 0) FROM documents WHERE status = 'ok' "
        f"AND folder_id IN ({marks})", ids).fetchone()
    out = {**persona.as_dict(), "documents": docs[0], "paragraphs": docs[1], "style": None}
    try:
        data = PersonaData(store, persona)
    except Exception as e:  # noqa: BLE001 - shown, not fatal
        out["style_error"] = str(e)
        return out
    out["style_paragraphs"] = len(data.ids)
    out["style"] = {name: round(float(v), 4) for name, v in zip(FEATURES, data.feature_mean)}
    return out


def _human_show(d: dict) -> str:
    lines = [f"persona {d['name']}: {d['documents']} documents, {d['paragraphs']} paragraphs"]
    lines += [f"  folder {f}" for f in d["folders"]]
    if d.get("style"):
        lines.append(f"  {d['style_paragraphs']} style paragraphs; mean sentence "
                     f"{d['style']['sent_len_mean']:.1f} words, type-token ratio {d['style']['ttr']:.2f}")
    elif d.get("style_error"):
        lines.append(f"  {d['style_error']}")
    return "\n".join(lines)
