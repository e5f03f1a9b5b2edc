"""Choosing the active style: PersonaControl with a stand-in view (no window), then the real panel.

The session is real (job queues, settings file), the model the tiny random one, the adapters
real mlx-lm folders and the persona a real index over shipped reference prose.
"""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt

from desktop.persona_panel import AdapterModel, PersonaControl
from desktop.session import Session
from desktop.settings import Settings
from engine import paths
from engine.persona.steering import DEFAULT_STRENGTH as MEASURED_STEERING
from engine.style import AdapterSpec, Style
from tests.desktop.conftest import TIMEOUT_MS
from tests.training.test_adapters import make_adapter

PARAGRAPH = "My dear brother, I can no longer refuse myself the pleasure of your kind invitation."


class StandInView:
    """The persona panel as PersonaControl sees it: choices to read, things to show."""

    def __init__(self):
        self.personas, self.adapters, self.active = [], [], []
        self.persona, self.strength, self.exemplars, self.checked = "", 0.25, 3, {}
        self.status, self.similarity, self.shown = "", "unset", None
        self.paragraph = PARAGRAPH

    def show_personas(self, names, current):
        self.personas, self.persona = list(names), current

    def show_adapters(self, adapters, active):
        self.adapters, self.active = list(adapters), list(active)

    def show_choice(self, style):
        self.shown = style

    def chosen_persona(self): return self.persona
    def chosen_strength(self): return self.strength
    def chosen_exemplars(self): return self.exemplars

    def chosen_adapters(self):
        return [AdapterSpec(a.path, self.checked[a.path], a.tasks, a.name)
                for a in self.adapters if a.path in self.checked]

    def check_adapter(self, path):
        hit = [a for a in self.adapters if a.path == str(path)]
        for a in hit:
            self.checked[a.path] = 1.0
        return bool(hit)

    def current_paragraph(self): return self.paragraph
    def show_status(self, message): self.status = message
    def show_similarity(self, score): self.similarity = score


@pytest.fixture
def session(qtbot, tiny_lm):
    s = Session(Settings())
    s.lm = tiny_lm  # loaded once for the whole run; the load job is tested elsewhere
    yield s
    s.shutdown()


@pytest.fixture
def installed_adapter(tiny_lm):
    """A style adapter (author 'Test Author', 8% input noise) in the adapters folder."""
    return make_adapter(tiny_lm, paths.adapters_dir() / "austen", 1, ["self_attn.q_proj"])


@pytest.fixture
def persona():
    """Persona 'me' in the app's index: 24 paragraphs of the shipped reference prose."""
    from engine.index import IndexStore, sync
    from engine.persona import create_persona, reference_paragraphs

    folder = paths.home() / "Writing"
    folder.mkdir(parents=True)
    texts = [p for p in reference_paragraphs("en") if len(p.split()) > 40][:24]
    (folder / "mine.txt").write_text("\n\n".join(texts), encoding="utf-8")
    with IndexStore() as store:
        create_persona(store, "me", [folder])
        sync(store)
    return "me"


def test_checked_adapter_becomes_the_sessions_style_and_is_saved(qtbot, session, installed_adapter):
    view = StandInView()
    control = PersonaControl(view, session)
    control.refresh()
    assert [a.name for a in view.adapters] == ["austen"] and view.personas == []
    view.checked[str(installed_adapter)] = 0.5
    with qtbot.waitSignal(session.style_changed, timeout=TIMEOUT_MS):
        assert control.activate()
    assert session.style == Style(adapters=(AdapterSpec(str(installed_adapter), 0.5),))
    (entry,) = session.active_style().stack("continue").entries
    assert entry.scale == entry.adapter.lora_scale * 0.5
    assert view.status == "active: no persona, austen × 0.50" and view.shown == session.style
    assert view.similarity is None  # no persona: the meter is off
    saved = json.loads(paths.settings_path().read_text(encoding="utf-8"))
    assert saved["adapters"] == [{"name": "austen", "path": str(installed_adapter), "strength": 0.5,
                                  "tasks": []}]
    assert Settings.from_dict(saved).style() == session.style


def test_a_bad_choice_is_refused_in_the_status_and_changes_nothing(qtbot, session):
    view = StandInView()
    control = PersonaControl(view, session)
    view.strength = 1.5
    assert not control.activate()
    assert view.status == "persona strength must be in [0, 1], got 1.5"
    assert session.style_job is None and session.style == Style()


def test_no_style_before_the_model_is_loaded(qtbot):
    session = Session(Settings())
    view = StandInView()
    view.persona = "me"
    try:
        assert not PersonaControl(view, session).activate()
        assert view.status == "the model is still loading"
    finally:
        session.shutdown()


def test_a_failed_style_keeps_the_old_one_and_says_why(qtbot, session, installed_adapter):
    view = StandInView()
    control = PersonaControl(view, session)
    control.refresh()
    view.checked[str(installed_adapter)] = 1.0
    with qtbot.waitSignal(session.style_changed, timeout=TIMEOUT_MS):
        control.activate()
    before = session.active_style()
    view.persona = "nobody"
    with qtbot.waitSignal(session.style_failed, timeout=TIMEOUT_MS):
        control.activate()
    assert "nobody" in view.status
    assert session.active_style() is before


def test_use_adapter_checks_a_trained_adapter_and_activates_it(qtbot, session, installed_adapter):
    view = StandInView()
    control = PersonaControl(view, session)
    assert not control.use_adapter(str(paths.adapters_dir() / "elsewhere"))
    assert "is not in the adapters folder" in view.status
    with qtbot.waitSignal(session.style_changed, timeout=TIMEOUT_MS):
        assert control.use_adapter(str(installed_adapter))
    assert [a.name for a in session.style.adapters] == ["austen"]


def test_persona_steers_at_the_mapped_strength_and_scores_the_paragraph(qtbot, session, persona):
    view = StandInView()
    control = PersonaControl(view, session)
    control.refresh()
    assert view.personas == ["me"]
    view.persona, view.strength, view.exemplars = "me", 0.25, 2
    with qtbot.waitSignal(session.style_changed, timeout=TIMEOUT_MS):
        control.activate()
    active = session.active_style()
    (steer,) = active.transforms("continue")
    assert steer.strength == MEASURED_STEERING  # the user's 0.25 is the measured default
    assert len(active.exemplars(PARAGRAPH)) == 2 and active.offers("like_me")
    qtbot.waitUntil(lambda: view.similarity not in ("unset", 0.0, None), timeout=TIMEOUT_MS)
    assert 0.0 < view.similarity <= 1.0
    assert session.settings.persona == "me" and session.settings.persona_exemplars == 2
    from engine.encoders.style import unavailable

    missing = unavailable()  # None, or why the shipped encoder is not used
    assert ("'sounds like you' by stylometry only" in view.status) == (missing is not None)


def test_without_the_style_encoder_the_meter_runs_on_stylometry_and_says_so(
        qtbot, session, persona, tmp_path, monkeypatch):
    import engine.encoders.style as style_module

    monkeypatch.setattr(style_module, "STYLE_ENCODER", tmp_path / "absent")
    view = StandInView()
    control = PersonaControl(view, session)
    control.refresh()
    view.persona = "me"
    with qtbot.waitSignal(session.style_changed, timeout=TIMEOUT_MS):
        control.activate()
    assert view.status.startswith("active: ")
    assert "('sounds like you' by stylometry only: style encoder missing: " in view.status
    qtbot.waitUntil(lambda: view.similarity not in ("unset", 0.0, None), timeout=TIMEOUT_MS)
    assert 0.0 < view.similarity <= 1.0


def test_the_recorded_style_is_reopened_when_the_model_loads(qtbot, tiny_model_dir,
                                                             installed_adapter):
    settings = Settings(model=str(tiny_model_dir))
    settings.record_style(Style(adapters=(AdapterSpec(str(installed_adapter), 0.7),)))
    session = Session(settings)
    try:
        with qtbot.waitSignal(session.style_changed, timeout=TIMEOUT_MS):
            session.load_model()
        assert session.style.adapters[0].strength == 0.7
        assert session.active_style().stack("rephrase") is not None
    finally:
        session.shutdown()


# -- the real widgets -------------------------------------------------------------------------


def test_panel_shows_the_strength_mapping_and_turns_on_like_me(qtbot, tiny_window,
                                                               installed_adapter):
    w = tiny_window
    w.session.settings.ghost_enabled = False
    panel, rephrase = w.persona, w.rephrase
    assert panel.strength.value() == 25
    assert panel.strength_label.text() == f"25% (steering × {MEASURED_STEERING:.1f})"
    panel.strength.setValue(50)
    assert panel.strength_label.text() == f"50% (steering × {2 * MEASURED_STEERING:.1f})"
    assert not rephrase.mode_buttons["like_me"].isEnabled()  # no voice to write in yet

    panel.refresh_button.click()
    model = panel.adapters
    assert model.rowCount() == 1
    assert model.index(0, AdapterModel.COL_SERVES).data() == "every mode (style)"
    model.setData(model.index(0, AdapterModel.COL_USE), Qt.Checked.value, Qt.CheckStateRole)
    model.setData(model.index(0, AdapterModel.COL_STRENGTH), "0.8")
    panel.apply_button.click()
    qtbot.waitUntil(lambda: bool(w.session.style.adapters), timeout=TIMEOUT_MS)
    assert w.session.style.adapters[0].strength == 0.8
    assert panel.status.text() == "active: no persona, austen × 0.80"
    assert rephrase.mode_buttons["like_me"].isEnabled()

    w.editor.setPlainText(PARAGRAPH)
    w.editor.selectAll()
    assert w.request_rephrase("like_me"), rephrase.status.text()
    qtbot.waitUntil(lambda: rephrase.job is None, timeout=TIMEOUT_MS)
    assert "candidates, best first" in rephrase.status.text()


def test_a_steered_persona_is_calibrated_in_the_background_then_reopened(qtbot, session, persona,
                                                                       monkeypatch):
    """The first use of a steered persona starts its calibration on the train queue; when it
    ends the style is opened again with the persona's own layer and strength."""
    from engine.persona import PersonaConditioning

    real = PersonaConditioning.calibrate
    monkeypatch.setattr(PersonaConditioning, "calibrate", lambda self, **kw: real(
        self, strengths=(2.0,), tokens=8, **kw))  # a short search, the real procedure
    view = StandInView()
    control = PersonaControl(view, session)
    control.refresh()
    view.persona, view.strength, view.exemplars = "me", 0.25, 1
    with qtbot.waitSignal(session.style_changed, timeout=TIMEOUT_MS):
        control.activate()
    assert session.calibrate_job is not None
    assert session.active_style().persona.calibration() is None
    with qtbot.waitSignal(session.style_changed, timeout=4 * TIMEOUT_MS):
        pass  # the calibration ended and the style was reopened
    assert session.calibrate_job is None
    cal = session.active_style().persona.calibration()
    assert cal is not None and cal.prompts == 6
    (steer,) = session.active_style().transforms("continue")
    layer, strength = session.active_style().persona.steering_setting()
    assert layer == (cal.layer,) and steer.strength == strength == cal.strength  # 0.25: as is
    with qtbot.assertNotEmitted(session.style_changed, wait=300):
        pass  # calibrated once: no second job
    assert session.calibrate_job is None
