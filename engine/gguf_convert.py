"""GGUF -> a Hugging Face-format float32 folder, with numpy only (no torch).

    gguf_to_hf(Path("model.gguf"), Path("out"))   # config.json, model.safetensors, tokenizer files

What transformers' GGUF loader does, minus torch:

1. the config from the GGUF metadata, with transformers' own key table
   (GGUF_TO_TRANSFORMERS_MAPPING) and config classes;
2. every tensor dequantized by gguf-py (`gguf.quants.dequantize`, the same numpy code
   transformers calls), then transformers' per-architecture fix-up (TENSOR_PROCESSORS:
   Gemma's norms stored as w + 1, llama's q/k rows permuted for rotary embedding);
3. GGUF tensor names mapped to the model's parameter names through gguf-py's name table,
   the names being those of the mlx-lm model class for this config (which mirror
   transformers'); a tied output projection is not written;
4. the tokenizer rebuilt by transformers' GGUF tokenizer converters (the `tokenizers`
   library), its class chosen by AutoTokenizer as for any folder.

For the bundled Gemma 3 270M and SmolLM2-135M (llama) the tensors and the config are
identical to the torch path's and tokenizer.json is byte-identical (tokenizer_config.json
differs only in the loader's `is_local`/`local_files_only` notes).

tests/engine/test_gguf_convert.py checks the result against checksums recorded from the
torch path (transformers' `from_pretrained(gguf_file=...)`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from engine.errors import KillahError

# GGUF architecture -> transformers model_type, where they differ (as transformers maps them).
_MODEL_TYPES = {"gemma3": "gemma3_text", "qwen2moe": "qwen2_moe", "qwen3moe": "qwen3_moe",
                "gpt-oss": "gpt_oss", "minimax-m2": "minimax_m2"}
_NOT_HANDLED = ("t5", "t5encoder", "bloom", "gpt2", "mamba", "lfm2", "qwen2moe", "qwen3moe",
                "gpt-oss", "gpt_oss", "minimax-m2", "stablelm", "falcon")


class GGUFFile:
    """The metadata (parsed like transformers does) and the tensors of one GGUF file."""

    def __init__(self, path: Path):
        from gguf import GGUFReader
        from transformers.integrations import _gguf_parse_value

        self.path = Path(path)
        self.reader = GGUFReader(str(self.path))
        self.fields = {}
        for key, field in self.reader.fields.items():
            value = [_gguf_parse_value(field.parts[i], field.types) for i in field.data]
            self.fields[key] = value[0] if len(value) == 1 else value
        self.architecture = self.fields["general.architecture"]
        self.tensor_names = tuple(t.name for t in self.reader.tensors)


def hf_config(g: GGUFFile) -> dict:
    """The transformers config dict (before its config class fills the defaults)."""
    from transformers.modeling_gguf_pytorch_utils import (
        GGUF_CONFIG_DEFAULTS_MAPPING,
        GGUF_SUPPORTED_ARCHITECTURES,
        GGUF_TO_TRANSFORMERS_MAPPING,
    )

    arch = g.architecture
    name = str(g.fields.get("general.name", "")).lower()
    if arch in _NOT_HANDLED or arch not in GGUF_SUPPORTED_ARCHITECTURES:
        raise KillahError(f"{g.path.name}: GGUF architecture {arch!r} is not supported")
    renamed = "mistral" if arch == "llama" and "mistral" in name else arch
    config: dict = {"tie_word_embeddings": "output.weight" not in g.tensor_names}
    for key, value in GGUF_CONFIG_DEFAULTS_MAPPING.get(renamed, {}).items():
        config.setdefault(key, value)
    table = GGUF_TO_TRANSFORMERS_MAPPING["config"]
    for key, value in g.fields.items():
        key = key.replace(arch, renamed)
        prefix, _, rest = key.partition(".")
        target = table.get(prefix, {}).get(rest)
        if target is None or target == -1:
            continue
        if isinstance(value, str) and arch in value:
            value = value.replace(arch, renamed)
        config[target] = value
    config["model_type"] = _MODEL_TYPES.get(config.get("model_type"), config.get("model_type"))
    if "vocab_size" not in config and "tokenizer.ggml.tokens" in g.fields:
        config["vocab_size"] = len(g.fields["tokenizer.ggml.tokens"])
    return config


def _full_config(g: GGUFFile) -> dict:
    """config.json as transformers writes it for a float32 model loaded from this file."""
    from transformers import AutoConfig

    raw = hf_config(g)
    config = AutoConfig.for_model(**raw)
    config.dtype = "float32"
    out = config.to_dict()
    out.pop("quantization_config", None)
    out["_name_or_path"] = str(g.path.parent)
    rope = out.get("rope_parameters")
    if isinstance(rope, dict) and "rope_theta" not in out and "rope_theta" in rope:
        out["rope_theta"] = rope["rope_theta"]  # transformers 5 nests it; mlx-lm reads it flat
    return out


def _parameter_names(config: dict) -> list[str]:
    """The parameter names of the mlx-lm model for `config` (built lazily: nothing allocated)."""
    from mlx.utils import tree_flatten
    from mlx_lm.utils import _get_classes

    try:
        model_class, args_class = _get_classes(config)
    except ValueError as e:
        raise KillahError(f"mlx-lm cannot run model type {config.get('model_type')!r}: {e}") from e
    model = model_class(args_class.from_dict(config))
    return [name for name, _ in tree_flatten(model.parameters())]


def name_map(g: GGUFFile, config: dict) -> dict[str, str]:
    """GGUF tensor name -> parameter name, through gguf-py's table (as transformers maps them)."""
    from gguf import MODEL_ARCH_NAMES, get_tensor_name_map

    arch = next((k for k, v in MODEL_ARCH_NAMES.items() if v == g.architecture), None)
    if arch is None:
        raise KillahError(f"{g.path.name}: gguf-py does not know architecture {g.architecture!r}")
    table = get_tensor_name_map(arch, int(config["num_hidden_layers"]))
    out = {}
    for hf_name in _parameter_names(config):
        stem, dot, suffix = hf_name.rpartition(".")
        if suffix not in ("weight", "bias"):
            stem, dot, suffix = hf_name, "", ""
        gguf_name = table.get_name(stem)
        if gguf_name is not None:
            out[gguf_name + dot + suffix] = hf_name
    return out


def tensors(g: GGUFFile, config: dict) -> dict[str, np.ndarray]:
    """Every tensor as float32, fixed up and under its parameter name."""
    from gguf import dequantize
    from transformers.modeling_gguf_pytorch_utils import TENSOR_PROCESSORS, TensorProcessor

    processor = TENSOR_PROCESSORS.get(g.architecture, TensorProcessor)(config=config)
    names = name_map(g, config)
    out: dict[str, np.ndarray] = {}
    skipped = []
    for t in g.reader.tensors:
        weights = dequantize(t.data, t.tensor_type)
        result = processor.process(weights=weights, name=t.name)
        if result.name not in names:
            skipped.append(t.name)
            continue
        out[names[result.name]] = np.ascontiguousarray(result.weights, dtype=np.float32)
    unmapped = [n for n in skipped if not n.startswith("rope_freqs")]
    if unmapped:
        raise KillahError(f"{g.path.name}: no parameter for tensors {unmapped[:5]} "
                          f"({len(unmapped)} in all) of architecture {g.architecture!r}")
    if config.get("tie_word_embeddings"):
        out.pop("lm_head.weight", None)
    return out


def _tokenizer(g: GGUFFile, out: Path) -> None:
    """tokenizer.json + tokenizer_config.json, rebuilt by transformers' GGUF converters."""
    from transformers import AutoTokenizer
    from transformers.integrations.gguf.gguf_tokenizer_mapping import (
        _SPECIAL_TOKENS,
        GGUF_TOKENIZER_MAPPING,
        convert_gguf_tokenizer,
    )

    fields = g.fields
    tok, tok_config = ({name: fields[f"tokenizer.{key}"] for key, name in group.items()
                        if f"tokenizer.{key}" in fields}
                       for group in GGUF_TOKENIZER_MAPPING.values())
    kind = tok.get("tokenizer_type")
    if kind == "llama":
        tok_config.setdefault("add_bos_token", True)
    elif kind == "gemma4":
        tok_config["add_bos_token"] = False
    for name, key in _SPECIAL_TOKENS.items():
        token_id = fields.get(f"tokenizer.ggml.{key}")
        tok_config[name] = tok["tokens"][token_id] if token_id is not None else None
    backend, extra = convert_gguf_tokenizer(g.architecture, tok)
    tok_config.update(extra)
    # AutoTokenizer picks the class as it would for this folder (GemmaTokenizer, or the plain
    # backend for a byte-level llama vocabulary...); the class is then built from the converted
    # backend and the GGUF's settings, as transformers builds it from a GGUF file.
    backend.save(str(out / "tokenizer.json"))
    settings = {k: v for k, v in tok_config.items() if k != "chat_template"}
    (out / "tokenizer_config.json").write_text(json.dumps(settings), "utf-8")
    tokenizer_class = type(AutoTokenizer.from_pretrained(str(out)))
    (out / "tokenizer.json").unlink()
    (out / "tokenizer_config.json").unlink()
    tokenizer_class(tokenizer_object=backend, **tok_config).save_pretrained(str(out))


def gguf_to_hf(gguf: Path, out: Path) -> None:
    """Write config.json, model.safetensors and the tokenizer files for `gguf` into `out`."""
    from safetensors.numpy import save_file

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    g = GGUFFile(gguf)
    config = _full_config(g)
    out.mkdir(parents=True)
    (out / "config.json").write_text(json.dumps(config, indent=2), "utf-8")
    save_file(tensors(g, config), str(out / "model.safetensors"), metadata={"format": "pt"})
    _tokenizer(g, out)
