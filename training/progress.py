"""The command line's progress display for training: engine.progress events as tqdm bars.

Library code reports `Progress` events (engine.progress); `CliProgress` is a
callback that draws one bar per stage on stderr, with the fit stage's loss,
tokens/s and ETA beside its bar and validation losses printed above it. The
desktop consumes the same events as Qt signals (desktop.jobs, desktop.wizard).
"""

from __future__ import annotations

from engine.clikit import progress_bar
from engine.progress import Progress


class CliProgress:
    def __init__(self) -> None:
        self._bar = None
        self._bar_stage: str | None = None

    def __enter__(self) -> CliProgress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def _ensure(self, stage: str, total: int | None, unit: str):
        bar = self._bar
        if bar is None or self._bar_stage != stage or (total and bar.total != total):
            self.close()
            bar = self._bar = progress_bar(total, desc=stage, unit=unit)
            self._bar_stage = stage
        return bar

    def __call__(self, p: Progress) -> None:
        bar = self._ensure(p.stage, p.total, p.unit)
        event = p.info.get("event")
        if event == "val":
            ppl = p.info.get("val_perplexity")
            bar.write(f"step {p.done}: val loss {p.info['val_loss']:.3f}"
                      + (f" (ppl {ppl:.1f})" if ppl is not None else ""))
            return
        if p.done is not None:
            bar.n = p.done
        if event == "train":  # fit's keys; DPO's events carry the loss only
            shown = {"loss": f"{p.info['train_loss']:.3f}"}
            if "tokens_per_second" in p.info:
                shown["tok_s"] = f"{p.info['tokens_per_second']:.0f}"
            if "eta_seconds" in p.info:
                shown["eta"] = f"{p.info['eta_seconds']:.0f}s"
            bar.set_postfix(**shown)
        elif p.message:
            bar.set_postfix_str(p.message[:60])
        bar.refresh()
