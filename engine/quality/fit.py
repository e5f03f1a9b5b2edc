"""Fitting the WQRM head in MLX on cached encoder features (used by engine.quality.train).

The quality q is either the hidden layer's (q = h wq + bq) or, with `linear` = k, a linear
function of the first k principal components and the text metrics (q = v wl + bq: on the
LAMP pairs a few directions generalise, hundreds overfit). P(broken) always comes from
the hidden layer, which reads every component.

Loss, all terms averaged over their examples:

    L = w_pair  * mean softplus(-(q(better) - q(worse)))         Bradley-Terry, LAMP pairs
      + w_reg   * mean (q(x) - y)^2 / 4                           LAMP 1-10 scores
      + w_brk   * mean BCE(broken_logit(x), is_broken)            corpus passages, clean/broken
      + w_anchor* mean (q(x) - anchor)^2 / 4                      clean prose -> CLEAN_ANCHOR,
                                                                  broken -> BROKEN_SCORE
      + weight_decay * |params|^2 (AdamW)  + l2_linear * |wl|^2

Features are standardised and projected onto their first `pca` principal components
(fitted on the training rows; one common scale, not whitened) before the head; the
projection and the scaling are folded into the first layer's weights at the end, so the
shipped head reads the raw pooled features.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from engine.quality.head import BROKEN_SCORE, Head

CLEAN_ANCHOR = 8.0  # published prose: high on the LAMP 1-10 scale (its best edits score 8-10)


@dataclass(frozen=True)
class FitConfig:
    layers: tuple[int, ...] = (0, 1, 2, 3, 4)
    metrics: bool = True  # the head also reads head.EXTRA
    hidden: int = 64
    pca: int = 256
    steps: int = 250
    lr: float = 2e-3
    weight_decay: float = 1e-3
    dropout: float = 0.1
    w_pair: float = 1.0
    w_reg: float = 0.5
    w_brk: float = 1.0
    w_anchor: float = 0.3
    linear: int = 0  # > 0: quality linear over this many components + the metrics
    l2_linear: float = 1e-2
    seed: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Targets:
    """Row indices into the feature matrix, with what each row is asked to be."""

    pairs: np.ndarray  # (m, 2) better, worse
    reg_idx: np.ndarray
    reg_y: np.ndarray
    brk_idx: np.ndarray
    brk_y: np.ndarray  # 0 clean, 1 broken
    anchor_idx: np.ndarray
    anchor_y: np.ndarray


def fit(x: np.ndarray, t: Targets, cfg: FitConfig, n_extra: int = 0) -> Head:
    """Train the head on rows of `x` and fold it.

    `x` holds the pooled features of cfg.layers, then `n_extra` text metrics (head.EXTRA),
    which bypass the projection: they enter the first layer standardised, as they are.
    """
    import mlx.core as mx
    import mlx.optimizers as optim
    from mlx import nn

    rows = np.unique(
        np.concatenate([t.pairs.ravel(), t.reg_idx, t.brk_idx, t.anchor_idx]).astype(np.int64)
    )
    mean = x[rows].mean(axis=0)
    std = x[rows].std(axis=0)
    std[std < 1e-6] = 1.0
    z = (x - mean) / std
    from sklearn.utils.extmath import randomized_svd

    d_pool = x.shape[1] - n_extra
    centred = z[rows, :d_pool] - z[rows, :d_pool].mean(axis=0)
    _, sv, vt = randomized_svd(
        centred, min(cfg.pca, *centred.shape), n_iter=4, random_state=cfg.seed
    )
    k = int(np.sum(sv > 1e-4 * sv[0]))
    # One scale for all components (not whitening): low-variance directions stay small.
    scale = float(np.sqrt(np.mean((z[rows, :d_pool] @ vt[:k].T).var(axis=0))))
    through = np.zeros((x.shape[1], k + n_extra))  # features -> the head's inputs, linear
    through[:d_pool, :k] = vt[:k].T / scale
    through[d_pool:, k:] = np.eye(n_extra)
    zp = z @ through
    k += n_extra

    mx.random.seed(cfg.seed)

    # The linear quality reads the first `cfg.linear` components and the metrics.
    lin_cols = np.r_[np.arange(min(cfg.linear, k - n_extra)), np.arange(k - n_extra, k)]
    lin_idx = mx.array(lin_cols.astype(np.int32))

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.drop = nn.Dropout(cfg.dropout)
            self.l1 = nn.Linear(k, cfg.hidden)
            self.q = nn.Linear(cfg.hidden, 1) if not cfg.linear else None
            self.lin = nn.Linear(len(lin_cols), 1) if cfg.linear else None
            self.b = nn.Linear(cfg.hidden, 1)

        def __call__(self, v):
            h = nn.gelu(self.l1(self.drop(v)))
            q = self.lin(v[:, lin_idx]) if cfg.linear else self.q(h)
            return q[:, 0] + 5.0, self.b(h)[:, 0]

    net = Net()
    data = mx.array(zp.astype(np.float32))
    pairs = mx.array(t.pairs.astype(np.int32))
    reg_idx, reg_y = mx.array(t.reg_idx.astype(np.int32)), mx.array(t.reg_y.astype(np.float32))
    brk_idx, brk_y = mx.array(t.brk_idx.astype(np.int32)), mx.array(t.brk_y.astype(np.float32))
    anc_idx, anc_y = (
        mx.array(t.anchor_idx.astype(np.int32)),
        mx.array(t.anchor_y.astype(np.float32)),
    )

    def loss_fn(model):
        q, b = model(data)
        loss = mx.array(0.0)
        if t.pairs.size:
            loss += cfg.w_pair * mx.mean(nn.softplus(-(q[pairs[:, 0]] - q[pairs[:, 1]])))
        if t.reg_idx.size:
            loss += cfg.w_reg * mx.mean((q[reg_idx] - reg_y) ** 2) / 4
        if t.brk_idx.size:
            loss += cfg.w_brk * mx.mean(
                nn.losses.binary_cross_entropy(b[brk_idx], brk_y, with_logits=True)
            )
        if t.anchor_idx.size:
            loss += cfg.w_anchor * mx.mean((q[anc_idx] - anc_y) ** 2) / 4
        if cfg.linear:
            loss += cfg.l2_linear * mx.sum(model.lin.weight**2)
        return loss

    opt = optim.AdamW(learning_rate=cfg.lr, weight_decay=cfg.weight_decay)
    step = nn.value_and_grad(net, loss_fn)
    net.train()
    for _ in range(cfg.steps):
        _, grads = step(net)
        opt.update(net, grads)
        mx.eval(net.parameters(), opt.state)
    net.eval()

    # Fold standardisation, projection and component scaling into the first layer.
    w = np.array(net.l1.weight, dtype=np.float64).T  # (k, hidden)
    w1 = (through @ w) / std[:, None]
    b1 = np.array(net.l1.bias, dtype=np.float64) - (mean / std) @ through @ w
    out = net.lin if cfg.linear else net.q
    wq = np.zeros(cfg.hidden) if cfg.linear else np.array(net.q.weight, dtype=np.float64)[0]
    wl, bq = np.zeros(x.shape[1]), np.array(out.bias, dtype=np.float64) + 5.0
    if cfg.linear:
        a = np.array(net.lin.weight, dtype=np.float64)[0]  # over lin_cols of the head's inputs
        wl = (through[:, lin_cols] @ a) / std
        bq = bq - (mean / std) @ through[:, lin_cols] @ a
    arrays = {
        "W1": w1,
        "b1": b1,
        "wl": wl,
        "wq": wq,
        "bq": bq,
        "wb": np.array(net.b.weight, dtype=np.float64)[0],
        "bb": np.array(net.b.bias, dtype=np.float64),
    }
    from engine.quality.head import EXTRA

    extra = list(EXTRA) if n_extra else []
    if n_extra and n_extra != len(EXTRA):
        raise ValueError(f"{n_extra} extra columns, but head.EXTRA has {len(EXTRA)}")
    return Head(arrays, tuple(cfg.layers), {"fit": cfg.to_dict(), "extra": extra})


def corpus_targets(kinds: list[str], offset: int) -> tuple[np.ndarray, ...]:
    """Broken labels and quality anchors for corpus rows starting at `offset`."""
    idx = np.arange(offset, offset + len(kinds))
    broken = np.array([k != "clean" for k in kinds], dtype=np.float64)
    anchors = np.where(broken > 0, BROKEN_SCORE, CLEAN_ANCHOR)
    return idx, broken, idx, anchors
