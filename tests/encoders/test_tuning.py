"""Fine-tuning an encoder: LoRA counts, gradients that move it, and save/load that round-trips."""

from __future__ import annotations

import json

import mlx.core as mx
import mlx.optimizers as optim
import numpy as np
import pytest
from mlx import nn

from engine.encoders.tuning import TunedEncoder, TuneSpec
from engine.errors import KillahError

TEXTS = ["w1 w2 w3", "w4 w5", "w6 w7 w8 w9 w10", "w11"]


def count(params) -> int:
    from mlx.utils import tree_flatten

    return sum(v.size for _, v in tree_flatten(params))


def test_lora_trains_only_its_matrices_and_the_head(tiny_bert):
    r, hidden, ff, layers, head = 4, 32, 64, 2, 3
    net = TunedEncoder.create(TuneSpec(base=str(tiny_bert), lora_rank=r, head_dim=head))
    per_layer = 4 * r * (hidden + hidden) + r * (hidden + ff) + r * (ff + hidden)
    assert count(net.trainable_parameters()) == layers * per_layer + hidden * head
    only_last = TunedEncoder.create(TuneSpec(base=str(tiny_bert), lora_rank=r, lora_layers=1,
                                             lora_keys=("attention.query", "attention.value")))
    assert count(only_last.trainable_parameters()) == 2 * r * (hidden + hidden)


def test_full_fine_tune_leaves_the_vocabulary_table(tiny_bert):
    net = TunedEncoder.create(TuneSpec(base=str(tiny_bert), lora_rank=0))
    names = set(net.changed_weights())
    assert "model.embeddings.word.weight" not in names
    assert "model.layers.0.attention.query.weight" in names


def pull_together_loss(net, ids, mask):
    v = net(ids, mask)
    return 1.0 - (v[0] * v[1]).sum()


def test_training_steps_move_the_embeddings_and_save_load_round_trips(tiny_bert, tmp_path):
    mx.random.seed(1)
    net = TunedEncoder.create(TuneSpec(base=str(tiny_bert), lora_rank=4, lora_scale=4.0,
                                       head_dim=8))
    before = net.encode(TEXTS)
    ids, mask = net.batch(TEXTS[:2])
    opt = optim.Adam(learning_rate=1e-2)
    step = nn.value_and_grad(net, pull_together_loss)
    first = None
    for _ in range(20):
        loss, grads = step(net, ids, mask)
        opt.update(net, grads)
        mx.eval(net.parameters(), opt.state)
        first = loss.item() if first is None else first
    assert loss.item() < first / 2
    after = net.encode(TEXTS)
    assert np.abs(after - before).max() > 1e-3
    net.save(tmp_path / "tuned", meta={"note": "test"})
    info = json.loads((tmp_path / "tuned" / "encoder.json").read_text())
    assert info["spec"]["lora_rank"] == 4 and info["meta"] == {"note": "test"}
    loaded = TunedEncoder.load(tmp_path / "tuned")  # LoRA fused into the base weights
    np.testing.assert_allclose(loaded.encode(TEXTS), after, atol=1e-5)
    assert loaded.saved.meta == {"note": "test"}


def test_loading_a_mismatched_fine_tune_lists_the_problem(tiny_bert, tmp_path):
    net = TunedEncoder.create(TuneSpec(base=str(tiny_bert), lora_rank=2))
    net.save(tmp_path / "a")
    info = json.loads((tmp_path / "a" / "encoder.json").read_text())
    info["spec"]["lora_rank"] = 3
    (tmp_path / "a" / "encoder.json").write_text(json.dumps(info))
    with pytest.raises(KillahError, match=r"tuned encoder .*lora_a: shape \(32, 2\), expected \(32, 3\)"):
        TunedEncoder.load(tmp_path / "a")


def test_head_only_on_the_first_layers(tiny_bert):
    """layers=1 keeps the first layer; train_base=False leaves only the head trainable."""
    net = TunedEncoder.create(TuneSpec(base=str(tiny_bert), lora_rank=0, train_base=False,
                                       layers=1, head_dim=5))
    assert len(net.model.layers) == 1
    assert set(net.changed_weights()) == {"head.weight"}
    assert net.encode(TEXTS).shape == (len(TEXTS), 5)
    with pytest.raises(KillahError, match="has 2 layers, not 3"):
        TunedEncoder.create(TuneSpec(base=str(tiny_bert), layers=3))
