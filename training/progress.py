"""One progress display for the training command line (tqdm on stderr).

The library reports through callbacks: `on_train_loss_report(info)` and
`on_val_loss_report(info)` for training (mlx-lm's TrainingCallback protocol), and
a plain call `callback(event: dict)` with {"stage", "done", "total", ...} for the
other stages. `CliProgress` renders both; the desktop wraps the same protocol in
a QObject that emits signals.
"""

from __future__ import annotations

from engine.clikit import progress_bar


class CliProgress:
    def __init__(self, stage: str = ""):
        self.stage = stage
        self._bar = None
        self._bar_stage = None

    def __enter__(self) -> "CliProgress":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def _ensure(self, stage: str, total: int | None, unit: str = "it"):
        if self._bar is None or self._bar_stage != stage or (total and self._bar.total != total):
            self.close()
            self._bar = progress_bar(total, desc=stage, unit=unit)
            self._bar_stage = stage
        return self._bar

    def __call__(self, event: dict) -> None:
        stage = event.get("stage", self.stage)
        bar = self._ensure(stage, event.get("total"), event.get("unit", "it"))
        if "done" in event:
            bar.n = event["done"]
        if event.get("note"):
            bar.set_postfix_str(str(event["note"])[:60])
        bar.refresh()

    def on_train_loss_report(self, info: dict) -> None:
        bar = self._ensure("fit", info.get("iters"), "step")
        bar.n = info["step"]
        bar.set_postfix(loss=f"{info['train_loss']:.3f}", tok_s=f"{info['tokens_per_second']:.0f}",
                        eta=f"{info['eta_seconds']:.0f}s")
        bar.refresh()

    def on_val_loss_report(self, info: dict) -> None:
        bar = self._ensure("fit", None, "step")
        bar.write(f"step {info['step']}: val loss {info['val_loss']:.3f} (ppl {info['val_perplexity']:.1f})")
