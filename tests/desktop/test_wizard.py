"""The Train-my-style wizard runs the real pipeline (tiny model) end to end, then uses the style."""

from __future__ import annotations

from pathlib import Path

from desktop.wizard import EvalModel
from tests.desktop.conftest import TIMEOUT_MS

SHORT_WORK = "corpora/en/austen/lady_susan.txt"


def test_wizard_trains_a_tiny_style_and_uses_it(qtbot, tiny_window, tiny_model_dir, shared_data, tmp_path):
    w = tiny_window
    w.session.settings.ghost_enabled = False
    wiz = w.wizard
    wiz.add_files([str(shared_data / SHORT_WORK)])
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
    metrics = [wiz.eval_model.index(r, EvalModel.COL_METRIC).data() for r in range(wiz.eval_model.rowCount())]
    assert any("loss" in m for m in metrics)
    adapter = Path(wiz.result["adapter"])
    assert (adapter / "adapters.safetensors").is_file()

    wiz.use_button.click()
    qtbot.waitUntil(lambda: w.session.adapter_stack is not None, timeout=TIMEOUT_MS)
    entries = w.session.adapter_stack.entries
    assert [e.adapter.path.resolve() for e in entries] == [adapter.resolve()]
    assert entries[0].scale == entries[0].adapter.lora_scale  # strength 1.0 = the trained scale
    assert w.session.settings.adapters[0]["name"] == adapter.name


def test_wizard_asks_for_files_and_a_name_first(tiny_window):
    wiz = tiny_window.wizard
    assert not wiz.start()
    assert "choose at least one file" in wiz.message.text()
