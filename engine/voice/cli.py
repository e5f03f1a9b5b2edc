"""`killah transcribe FILE.wav`, `killah listen --file FILE.wav` and `killah vocabulary`."""

from __future__ import annotations

import argparse

from engine.clikit import add_output_options, emit, log
from engine.voice.audio import read_audio
from engine.voice.commands import GrammarOptions
from engine.voice.listen import ListenOptions, listen
from engine.voice.models import DEFAULT_MODEL, MULTILINGUAL_MODEL
from engine.voice.transcribe import LANGUAGES, TranscribeOptions, transcribe
from engine.voice.vocabulary import Vocabulary


def _add_model_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--language", choices=LANGUAGES, default="en",
                   help="spoken language; 'auto' detects it (default: en)")
    p.add_argument("--model", default=None,
                   help=f"tiny.en, base, an mlx-whisper or CTranslate2 folder, or an mlx-community "
                        f"id (default: {DEFAULT_MODEL} for English, "
                        f"{MULTILINGUAL_MODEL} otherwise)")
    p.add_argument("--prompt", default=None,
                   help=TranscribeOptions.__dataclass_fields__["initial_prompt"].metadata["help"])
    p.add_argument("--no-vocabulary", action="store_true",
                   help="do not use your vocabulary (`killah vocabulary`): "
                        + TranscribeOptions.__dataclass_fields__["vocabulary"].metadata["help"])
    add_output_options(p)


def _options(args: argparse.Namespace, **kw) -> TranscribeOptions:
    model = args.model or (DEFAULT_MODEL if args.language == "en" else MULTILINGUAL_MODEL)
    vocabulary = None if args.no_vocabulary else Vocabulary.load()
    return TranscribeOptions(model=model, language=args.language, initial_prompt=args.prompt,
                             vocabulary=vocabulary, **kw)


def transcribe_main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="killah transcribe", description="Transcribe a WAV file.")
    p.add_argument("file", help="audio file (WAV, FLAC or OGG; any rate, mixed to 16 kHz mono)")
    _add_model_options(p)
    p.add_argument("--word-timestamps", action="store_true", help="per-word start/end times")
    p.add_argument("--no-vad", action="store_true",
                   help="decode all audio, even silence (Whisper may then invent text)")
    args = p.parse_args(argv)
    options = _options(args, word_timestamps=args.word_timestamps, vad=not args.no_vad)
    log(f"transcribing {args.file} with whisper {options.model} ({options.language})")
    transcript = transcribe(read_audio(args.file), options)
    emit(args, transcript.to_json(), human=lambda d: d["text"])
    return 0


def listen_main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(
        prog="killah listen",
        description="Parse a recording into dictation and spoken editing commands, as the "
                    "app's microphone button does.",
    )
    p.add_argument("--file", required=True, help="audio file to listen to")
    _add_model_options(p)
    p.add_argument("--spoken-punctuation", action="store_true",
                   help=ListenOptions.__dataclass_fields__["spoken_punctuation"].metadata["help"])
    p.add_argument("--no-commands", action="store_true", help="everything is dictation")
    p.add_argument("--wake-word", default=None,
                   help=GrammarOptions.__dataclass_fields__["wake_word"].metadata["help"])
    p.add_argument("--require-wake-word", action="store_true",
                   help=GrammarOptions.__dataclass_fields__["require_wake_word"].metadata["help"])
    args = p.parse_args(argv)
    options = ListenOptions(
        commands=not args.no_commands,
        spoken_punctuation=args.spoken_punctuation,
        grammar=GrammarOptions(wake_word=args.wake_word, require_wake_word=args.require_wake_word),
    )
    transcribe_options = _options(args)
    log(f"listening to {args.file} with whisper {transcribe_options.model}")
    events = listen(read_audio(args.file), transcribe_options, options)
    emit(args, {"events": [e.to_json() for e in events]}, human=_human_events)
    return 0


def _human_events(data: dict) -> str:
    lines = []
    for e in data["events"]:
        if e["type"] == "command":
            args = " ".join(f"{k}={v}" for k, v in e["args"].items())
            lines.append(f"[{e['name']}{' ' + args if args else ''}]  ({e['heard']})")
        else:
            lines.append(e["text"])
    return "\n".join(lines)


def vocabulary_main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(
        prog="killah vocabulary",
        description="Your names, terms and spellings: dictation hears them (Whisper's prompt) "
                    "and writes them right (misheard forms corrected); suggestions keep them "
                    "spelled right.")
    sub = p.add_subparsers(dest="action", required=True, metavar="add|list|remove")
    add = sub.add_parser("add", help="add words or names (quote a name of several words)")
    add.add_argument("words", nargs="+", metavar="WORD",
                     help="a word, a name, or a term of several words in quotes")
    add.add_argument("--heard", action="append", default=[], metavar="FORM",
                     help="a form dictation wrote instead (replaced by the word wherever heard); "
                          "repeatable, with one WORD")
    add_output_options(add)
    listing = sub.add_parser("list", help="list the vocabulary, oldest first")
    add_output_options(listing)
    rm = sub.add_parser("remove", help="remove words")
    rm.add_argument("words", nargs="+", metavar="WORD", help="a word as it was added")
    add_output_options(rm)
    args = p.parse_args(argv)
    vocab = Vocabulary.load()
    if args.action == "add":
        if args.heard and len(args.words) > 1:
            p.error("--heard goes with one WORD")
        vocab = vocab.add(args.words, heard=args.heard)
        vocab.save()
    elif args.action == "remove":
        vocab, missing = vocab.remove(args.words)
        if missing:
            log(f"not in the vocabulary: {', '.join(missing)}")
        vocab.save()
    emit(args, {"terms": [t.to_dict() for t in vocab.terms]}, human=_human_terms)
    return 0


def _human_terms(data: dict) -> str:
    if not data["terms"]:
        return "(the vocabulary is empty: killah vocabulary add WORD...)"
    lines = []
    for t in data["terms"]:
        heard = f"  (heard as: {', '.join(t['heard'])})" if t["heard"] else ""
        lines.append(f"{t['text']}{heard}")
    return "\n".join(lines)
