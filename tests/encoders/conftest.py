"""A tiny random-weight BERT saved as a Hugging Face folder (plumbing tests)."""

from __future__ import annotations

import json
from pathlib import Path

import mlx.core as mx
import pytest

from engine.encoders import bert


def tiny_folder(path: Path) -> Path:
    """A random-weight BERT saved as a Hugging Face folder, with a word-level tokenizer."""
    from mlx.utils import tree_flatten
    from tokenizers import Tokenizer, models, pre_tokenizers

    config = {"model_type": "bert", "vocab_size": 40, "hidden_size": 32, "num_hidden_layers": 2,
              "num_attention_heads": 4, "intermediate_size": 64, "max_position_embeddings": 64}
    model = bert.Model(bert.ModelArgs.from_dict(config))
    top = {"word": "word_embeddings", "position": "position_embeddings",
           "token_type": "token_type_embeddings", "norm": "LayerNorm"}
    block = {"attention.query": "attention.self.query", "attention.key": "attention.self.key",
             "attention.value": "attention.self.value", "attention.out": "attention.output.dense",
             "attention_norm": "attention.output.LayerNorm", "intermediate": "intermediate.dense",
             "output": "output.dense", "output_norm": "output.LayerNorm"}
    weights = {}
    for name, value in tree_flatten(model.parameters()):
        parts = name.split(".")
        if parts[0] == "embeddings":
            hf = f"embeddings.{top[parts[1]]}.{parts[2]}"
        else:
            hf = f"encoder.layer.{parts[1]}.{block['.'.join(parts[2:-1])]}.{parts[-1]}"
        weights["bert." + hf] = value
    path.mkdir()
    mx.save_safetensors(str(path / "model.safetensors"), weights)
    (path / "config.json").write_text(json.dumps(config))
    vocab = {w: i for i, w in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]"] + [f"w{i}" for i in range(36)])}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.save(str(path / "tokenizer.json"))
    return path


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory) -> Path:
    mx.random.seed(0)
    return tiny_folder(tmp_path_factory.mktemp("encoders") / "tiny-bert")
