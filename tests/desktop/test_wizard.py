"""The Train-my-style wizard runs the real pipeline (tiny model) end to end, then uses the style."""

from __future__ import annotations

from pathlib import Path

from desktop.wizard import EvalModel
from tests.desktop.conftest import TIMEOUT_MS
from tests.training.conftest import SHORT_WORK


def test_wizard_trains_a_tiny_style_and_uses_it(qtbot, tiny_window, tiny_model_dir, tmp_path):
    w = tiny_window
    w.session.settings.ghost_enabled = False
    wiz = w.wizard
    wiz.add_files([str(SHORT_WORK)])
    wiz.author.setText("Jane Austen")
    wiz.iters.setValue(4)
    assert wiz.start(model=str(tiny_model_dir), limit_chunks=10, out=str(tmp_path / "work"))
    qtbot.waitUntil(lambda: wiz.job is None, timeout=TIMEOUT_MS * 4)
    assert wiz.result is not None, wiz.message.text()
    # curation report shown, neutralization finished, loss curve drawn, evaluation table filled
    assert "Kept:" in wiz.curation.toPlainText()
    assert wiz.neutral_bar.value() == wiz.neutral_bar.maximum() > 0
    assert wiz.loss.count() >= 1
    assert wiz.eval_model.rowCount() >= 2
    metrics = [wiz.eval_model.index(r, EvalModel.COL_METRIC).data()
               for r in range(wiz.eval_model.rowCount())]
    assert any("loss" in m for m in metrics)
    adapter = Path(wiz.result["adapter"])
    assert (adapter / "adapters.safetensors").is_file()

    wiz.use_button.click()
    qtbot.waitUntil(lambda: bool(w.session.style.adapters), timeout=TIMEOUT_MS)
    entries = w.session.active_style().stack("continue").entries
    assert [e.adapter.path.resolve() for e in entries] == [adapter.resolve()]
    assert entries[0].scale == entries[0].adapter.lora_scale  # strength 1.0 = the trained scale
    assert w.session.settings.adapters[0]["name"] == adapter.name


def test_wizard_asks_for_files_and_a_name_first(tiny_window):
    wiz = tiny_window.wizard
    assert not wiz.start()
    assert "choose at least one file" in wiz.message.text()


class StandInView:
    """A WizardView that records what the logic shows."""

    def __init__(self) -> None:
        self.step, self.messages, self.status, self.losses = 0, [], [], []
        self.curation = self.neutralization = self.evaluation = self.adapter = None
        self.running = None

    def current_step(self) -> int:
        return self.step

    def show_step(self, step: int) -> None:
        self.step = step

    def show_message(self, text: str) -> None:
        self.messages.append(text)

    def show_status(self, text: str) -> None:
        self.status.append(text)

    def show_curation(self, html: str) -> None:
        self.curation = html

    def show_neutralization(self, done: int, total: int) -> None:
        self.neutralization = (done, total)

    def clear_losses(self) -> None:
        self.losses = []

    def add_loss(self, series: str, step: float, loss: float) -> None:
        self.losses.append((series, step, loss))

    def show_training(self, step: int, iters: int) -> None:
        pass

    def show_evaluation(self, rows, note: str) -> None:
        self.evaluation = (rows, note)

    def show_adapter(self, text: str, usable: bool) -> None:
        self.adapter = (text, usable)

    def set_running(self, running: bool, can_resume: bool) -> None:
        self.running = (running, can_resume)


def _excerpt(src: Path, dest: Path, words: int) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    paragraphs, n = [], 0
    for para in src.read_text("utf-8").split("\n\n")[40:]:
        paragraphs.append(para)
        n += len(para.split())
        if n >= words:
            break
    dest.write_text("\n\n".join(paragraphs), "utf-8")


def test_the_wizard_logic_shows_the_style_harness_with_a_stand_in_view(
        qtbot, tiny_model_dir, reference, tmp_path):
    """The whole flow with the harness on (tiny random model: plumbing, not quality)."""
    from desktop.jobs import JobManager
    from desktop.wizard_logic import STEP_EVALUATE, Wizard
    from training.evaluate import EvaluateConfig
    from training.evaluation.metrics import Estimate

    corpora = reference / "en"
    target = tmp_path / "target" / "austen"
    _excerpt(corpora / "austen" / "persuasion.txt", target / "persuasion.txt", 4000)
    for author, work in (("carroll", "a_tangled_tale.txt"), ("poe", "works_volume_1_tales.txt")):
        _excerpt(corpora / author / work, tmp_path / "candidates" / author / work, 3000)
    harness = EvaluateConfig(harness_author_dir=str(target), harness_n=2,
                             harness_candidates=str(tmp_path / "candidates"))
    view, jobs, used = StandInView(), JobManager(), []
    wizard = Wizard(view, jobs, use_style=used.append)
    try:
        assert wizard.start([str(SHORT_WORK)], "Jane Austen", iters=2,
                            model=str(tiny_model_dir), limit_chunks=10, out=str(tmp_path / "work"),
                            harness=harness)
        config = wizard.last_params["config"]
        assert config.evaluate.harness_n == 2 and config.fit.iters == 2  # a config, not argv
        qtbot.waitUntil(lambda: wizard.job is None, timeout=TIMEOUT_MS * 6)
    finally:
        jobs.shutdown()
    assert wizard.result is not None, view.messages[-1]
    assert "Kept:" in view.curation and view.neutralization[0] == view.neutralization[1] > 0
    assert [s for s, *_ in view.losses].count("train") >= 1
    rows, note = view.evaluation
    assert view.step == STEP_EVALUATE and view.running == (False, False)
    labels = [r[0] for r in rows]
    assert "valid loss" in labels and "attribution top-1" in labels and "P(target)" in labels
    harness_rows = [r for r in rows if isinstance(r[1], Estimate)]
    assert harness_rows and all(isinstance(r[2], Estimate) for r in harness_rows)
    # every passage is judged; a text metric leaves out a passage the random model left empty
    assert all(r[1].n == 2 for r in harness_rows if r[0] in ("attribution top-1", "P(target)"))
    assert all(1 <= r[1].n <= 2 for r in harness_rows)
    assert note.startswith("Style harness: 2 held-out passages of austen, judged among 3 authors")
    assert wizard.report.harness.rows.keys() >= {"base", "real (ceiling)"}
    assert wizard.use() and used == [wizard.result["adapter"]]
