"""A tiny random-weight Gemma-3-shaped model, saved as a real MLX model folder.

Built with mlx-lm's own model classes and a small byte-level BPE tokenizer
trained here, so plumbing tests need no download and no conversion.
"""

from __future__ import annotations

import json
from pathlib import Path

TINY_CONFIG = {
    "model_type": "gemma3_text",
    "hidden_size": 64,
    "num_hidden_layers": 4,
    "intermediate_size": 128,
    "num_attention_heads": 2,
    "num_key_value_heads": 1,
    "head_dim": 32,
    "query_pre_attn_scalar": 32,
    "sliding_window": 32,
    "sliding_window_pattern": 2,
    "max_position_embeddings": 2048,
    "rms_norm_eps": 1e-6,
    "rope_theta": 10000.0,
    "rope_local_base_freq": 10000.0,
    "tie_word_embeddings": True,
}

TRAINING_TEXT = (
    "It is a truth universally acknowledged, that a single man in possession of a good "
    "fortune, must be in want of a wife. The quick brown fox jumps over the lazy dog. "
    "Она вошла в комнату и села у окна. Rain fell on the old town all night long. "
) * 20


def make_tokenizer(out: Path) -> int:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=["<pad>", "<eos>", "<bos>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator([TRAINING_TEXT], trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<bos>", eos_token="<eos>", pad_token="<pad>"
    )
    fast.save_pretrained(str(out))
    return tok.get_vocab_size()


def make_tiny_model(out: Path, seed: int = 0) -> Path:
    import mlx.core as mx
    from mlx_lm.models import gemma3_text
    from mlx_lm.utils import save_model

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    vocab = make_tokenizer(out)
    config = dict(TINY_CONFIG, vocab_size=vocab, bos_token_id=2, eos_token_id=1)
    mx.random.seed(seed)
    model = gemma3_text.Model(gemma3_text.ModelArgs.from_dict(config))
    mx.eval(model.parameters())
    save_model(out, model)
    (out / "config.json").write_text(json.dumps(config, indent=2))
    return out
