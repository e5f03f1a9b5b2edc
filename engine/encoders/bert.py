"""A BERT-family text encoder in MLX (BERT, XLM-RoBERTa): embeddings, post-LN layers, pooling.

One model class serves all-MiniLM-L6-v2 (BERT) and multilingual-e5-small (XLM-RoBERTa, the
same forward pass with learned positions that start after the padding index). Weights keep
Hugging Face's names through `sanitize`, so a `model.safetensors` loads as it is.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from functools import partial

import mlx.core as mx
from mlx import nn


@dataclass
class ModelArgs:
    vocab_size: int
    hidden_size: int = 384
    num_hidden_layers: int = 6
    num_attention_heads: int = 12
    intermediate_size: int = 1536
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    layer_norm_eps: float = 1e-12
    hidden_act: str = "gelu"
    model_type: str = "bert"
    # XLM-RoBERTa numbers positions from padding_idx + 1; a table already cut there uses 0.
    position_offset: int = 0

    @classmethod
    def from_dict(cls, params: dict) -> ModelArgs:
        names = inspect.signature(cls).parameters
        args = cls(**{k: v for k, v in params.items() if k in names})
        if "position_offset" not in params and args.model_type == "xlm-roberta":
            args.position_offset = int(params.get("pad_token_id", 1)) + 1
        return args

    def __post_init__(self):
        if self.hidden_act not in ("gelu", "gelu_new", "gelu_pytorch_tanh"):
            raise ValueError(f"encoder: unsupported activation {self.hidden_act!r}")
        if self.hidden_size % self.num_attention_heads:
            raise ValueError(
                f"encoder: hidden_size {self.hidden_size} is not a multiple of "
                f"{self.num_attention_heads} heads")


# erf(x) ~ x P(x^2) / Q(x^2) on [-4, 4] (the rational approximation Eigen uses for float; the
# error is ~1e-7). MLX's CPU erf/exp are scalar and take ~7x longer than this fused polynomial.
_ERF_P = (-2.72614225801306e-10, 2.77068142495902e-08, -2.10102402082508e-06,
          -5.69250639462346e-05, -7.34990630326855e-04, -2.95459980854025e-03,
          -1.60960333262415e-02)
_ERF_Q = (-1.45660718464996e-05, -2.13374055278905e-04, -1.68282697438203e-03,
          -7.37332916720468e-03, -1.42647390514189e-02)


@partial(mx.compile, shapeless=True)
def gelu(x: mx.array) -> mx.array:
    """Exact (erf) GELU, to ~1e-6."""
    z = mx.clip(x * 0.7071067811865476, -4.0, 4.0)
    z2 = z * z
    p, q = _ERF_P[0], _ERF_Q[0]
    for c in _ERF_P[1:]:
        p = p * z2 + c
    for c in _ERF_Q[1:]:
        q = q * z2 + c
    return 0.5 * x * (1.0 + z * p / q)


class Attention(nn.Module):
    def __init__(self, args: ModelArgs):
        super().__init__()
        d = args.hidden_size
        self.n_heads = args.num_attention_heads
        self.scale = (d // self.n_heads) ** -0.5
        self.query = nn.Linear(d, d)
        self.key = nn.Linear(d, d)
        self.value = nn.Linear(d, d)
        self.out = nn.Linear(d, d)

    def __call__(self, x: mx.array, mask: mx.array | None) -> mx.array:
        B, L, D = x.shape

        def heads(t):  # (B, L, D) -> (B, heads, L, D/heads)
            return t.reshape(B, L, self.n_heads, -1).transpose(0, 2, 1, 3)

        q, k, v = heads(self.query(x) * self.scale), heads(self.key(x)), heads(self.value(x))
        scores = q @ k.transpose(0, 1, 3, 2)
        if mask is not None:
            scores = scores + mask
        o = mx.softmax(scores, axis=-1, precise=False) @ v
        return self.out(o.transpose(0, 2, 1, 3).reshape(B, L, D))


class Layer(nn.Module):
    """Post-LN transformer block: x = LN(x + attn(x)); x = LN(x + ffn(x))."""

    def __init__(self, args: ModelArgs):
        super().__init__()
        d, eps = args.hidden_size, args.layer_norm_eps
        self.attention = Attention(args)
        self.attention_norm = nn.LayerNorm(d, eps=eps)
        self.intermediate = nn.Linear(d, args.intermediate_size)
        self.output = nn.Linear(args.intermediate_size, d)
        self.output_norm = nn.LayerNorm(d, eps=eps)
        self.act = gelu if args.hidden_act == "gelu" else nn.gelu_approx

    def __call__(self, x: mx.array, mask: mx.array | None) -> mx.array:
        x = self.attention_norm(x + self.attention(x, mask))
        return self.output_norm(x + self.output(self.act(self.intermediate(x))))


class Embeddings(nn.Module):
    def __init__(self, args: ModelArgs):
        super().__init__()
        d = args.hidden_size
        self.word = nn.Embedding(args.vocab_size, d)
        self.position = nn.Embedding(args.max_position_embeddings, d)
        self.token_type = nn.Embedding(args.type_vocab_size, d)
        self.norm = nn.LayerNorm(d, eps=args.layer_norm_eps)
        self.offset = args.position_offset

    def __call__(self, ids: mx.array) -> mx.array:
        positions = mx.arange(ids.shape[1]) + self.offset
        x = self.word(ids) + self.position(positions) + self.token_type.weight[0]
        return self.norm(x)


class Model(nn.Module):
    """Token ids (B, L) and a 0/1 mask (B, L) -> hidden states (B, L, hidden_size)."""

    def __init__(self, args: ModelArgs):
        super().__init__()
        self.args = args
        self.embeddings = Embeddings(args)
        self.layers = [Layer(args) for _ in range(args.num_hidden_layers)]

    def __call__(self, ids: mx.array, mask: mx.array) -> mx.array:
        x = self.embeddings(ids)
        # Additive attention mask (padded keys get a large negative score); none without padding.
        bias = None
        if mask is not None and not mask.all().item():
            bias = ((1.0 - mask.astype(x.dtype)) * -1e9)[:, None, None, :]
        for layer in self.layers:
            x = layer(x, bias)
        return x

    @staticmethod
    def sanitize(weights: dict[str, mx.array]) -> dict[str, mx.array]:
        """Hugging Face BERT / XLM-R names -> ours; heads and buffers we do not use are dropped."""
        renames = (
            ("embeddings.word_embeddings.", "embeddings.word."),
            ("embeddings.position_embeddings.", "embeddings.position."),
            ("embeddings.token_type_embeddings.", "embeddings.token_type."),
            ("embeddings.LayerNorm.", "embeddings.norm."),
            ("encoder.layer.", "layers."),
            ("attention.self.", "attention."),
            ("attention.output.dense.", "attention.out."),
            ("attention.output.LayerNorm.", "attention_norm."),
            ("intermediate.dense.", "intermediate."),
            ("output.dense.", "output."),
            ("output.LayerNorm.", "output_norm."),
        )
        out = {}
        for name, value in weights.items():
            name = name.removeprefix("bert.").removeprefix("roberta.")
            if name.startswith(("pooler.", "cls.", "lm_head.")) or name.endswith("position_ids"):
                continue
            for old, new in renames:
                name = name.replace(old, new)
            out[name] = value
        return out


def mean_pool(hidden: mx.array, mask: mx.array) -> mx.array:
    """Mean of the hidden states over the real (mask = 1) tokens: (B, L, D) -> (B, D)."""
    m = mask.astype(hidden.dtype)[..., None]
    return (hidden * m).sum(axis=1) / mx.maximum(m.sum(axis=1), 1.0)
