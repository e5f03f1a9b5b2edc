"""What the whole window shares: settings, the job queues, the loaded model, the active style.

`Session` loads the model on the "model" queue and tells the panels when it is
ready. It also holds the active style: `style` (an engine.style.Style, the
user's choice) and `active_style()` (that style opened for the loaded model:
transforms, exemplars and prompt settings per mode). `set_style` is its only
writer; panels read it and listen to `style_changed`.
"""

from __future__ import annotations

import os
from typing import Any

from PySide6.QtCore import QObject, Signal

from desktop import settings as settings_mod
from desktop.jobs import Job, JobManager
from engine.style import ActiveStyle, Style


class ModelLoadJob(Job):
    """Prepare (convert or download) and load the model named in the settings."""

    resource = "model"
    title = "loading the model"

    @classmethod
    def prepare(cls, spec: str = "default", network: bool = False) -> tuple[bool, str, dict]:
        from engine.errors import KillahError
        from engine.models import cached_path, resolve

        try:
            resolved = resolve(None if spec in ("", "default") else spec)
            ready = cached_path(None if resolved.kind == "bundled" else spec) is not None
        except KillahError as e:
            return False, str(e), {}
        if resolved.kind == "hub" and not ready and not network:
            return False, (f"model {spec!r} is not downloaded and network access is off "
                           "(Settings → Network access)"), {}
        return True, "", {"spec": None if resolved.kind == "bundled" else spec,
                          "first_time": not ready, "kind": resolved.kind}

    def run(self) -> Any:
        from engine.models import load_model

        self.report("preparing the model" if self.params["first_time"] else "loading the model")
        if self.params["kind"] == "bundled" and self.params["first_time"]:
            self.install_shipped_model()
        lm = load_model(self.params["spec"], progress=self.progress.emit)
        return lm


    def install_shipped_model(self) -> None:
        """A packaged app may ship the prepared model (build_app.py --bundle-model): copy it into
        the models folder, where engine.models finds it, instead of converting the GGUF."""
        import shutil

        from desktop.resources import resources_dir
        from engine import atomic, paths

        shipped = resources_dir() / "models"
        if not shipped.is_dir():
            return
        for folder in shipped.iterdir():
            target = paths.models_dir() / folder.name
            if target.exists():
                continue
            files = [f for f in folder.rglob("*") if f.is_file()]
            with atomic.staging_dir(target) as staging:
                for i, f in enumerate(files):
                    self.report(f"installing the bundled model ({i + 1}/{len(files)} files)")
                    dest = staging / f.relative_to(folder)
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(f, dest)


class OpenStyleJob(Job):
    """Open a Style for the loaded model (adapters, persona, steering vectors)."""

    resource = "model"
    title = "activating the style"

    @classmethod
    def prepare(cls, style: Style | None = None, lm: Any = None) -> tuple[bool, str, dict]:
        if style is None:
            return False, "no style given", {}
        if lm is None and not style.is_plain:
            return False, "the model is still loading", {}
        return True, "", {"style": style, "lm": lm}

    def run(self) -> ActiveStyle:
        return self.params["style"].open(self.params["lm"], progress=self.progress.emit,
                                         cancel=self.token)


class CalibrateJob(Job):
    """Calibrate the active persona's steering (engine.persona.calibrate) in the background.

    On the "train" queue, so typing suggestions are not held up for minutes: each generation
    call takes the model's lock in turn. Its result (cached in the index) applies when the
    style is opened again, which Session does when the job ends.
    """

    resource = "train"
    title = "calibrating the persona"

    @classmethod
    def prepare(cls, active: ActiveStyle | None = None) -> tuple[bool, str, dict]:
        persona = active.persona if active is not None else None
        if persona is None or active.style.steering == 0:
            return False, "no steered persona", {}
        if persona.calibration() is not None:
            return False, "already calibrated", {}
        if not persona.calibration_indices():
            return False, "too few paragraphs to calibrate", {}
        return True, "", {"persona": persona, "style": active.style}

    def run(self) -> Any:
        return self.params["persona"].calibrate(progress=self.progress.emit, cancel=self.token)


class Session(QObject):
    model_loading = Signal(str)  # a progress message
    model_ready = Signal(object)
    model_failed = Signal(str)
    style_changed = Signal()  # `style` and `active_style()` now hold the new style
    style_progress = Signal(str)
    style_failed = Signal(str)  # why the requested style could not be used (the old one stays)

    def __init__(self, settings: settings_mod.Settings | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        warning = ""
        if settings is None:
            settings, warning = settings_mod.load()
        self.settings = settings
        self.warning = warning
        self.jobs = JobManager(self)
        self.lm: Any = None
        self.load_job: ModelLoadJob | None = None
        self.style_job: OpenStyleJob | None = None
        self.calibrate_job: CalibrateJob | None = None
        self.first_time = False
        self.style = Style()
        self._active = ActiveStyle(self.style)
        self.apply_network_setting()

    def save_settings(self) -> None:
        settings_mod.save(self.settings)

    def apply_network_setting(self) -> None:
        """No network connections unless the user allowed them (Hugging Face's libraries obey)."""
        off = "0" if self.settings.network_access else "1"
        for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "KILLAH_OFFLINE"):
            os.environ[name] = off

    # -- the model -------------------------------------------------------------
    def load_model(self) -> tuple[bool, str]:
        ok, message, params = ModelLoadJob.prepare(self.settings.model,
                                                   self.settings.network_access)
        if not ok:
            self.model_failed.emit(message)
            return False, message
        self.lm = None
        self.first_time = params["first_time"]
        job = ModelLoadJob(params)
        job.progress.connect(self._on_load_progress)
        job.result.connect(self._on_loaded)
        job.error.connect(self.model_failed)
        self.load_job = job
        self.jobs.submit(job)
        return True, ""

    def _on_load_progress(self, p) -> None:  # an engine.progress.Progress
        self.model_loading.emit(p.message)

    def _on_loaded(self, lm: Any) -> None:
        self.lm = lm
        self.model_ready.emit(lm)
        self._restore_style()

    def model(self) -> Any:
        return self.lm

    # -- the active style ------------------------------------------------------
    def active_style(self) -> ActiveStyle:
        """The active style opened for the loaded model (the plain model when none)."""
        return self._active

    def set_style(self, style: Style) -> tuple[bool, str]:
        """Make `style` the active one: it opens on the model queue; then it is stored, recorded
        in the settings and `style_changed` is emitted (or `style_failed`, keeping the old one)."""
        ok, message, params = OpenStyleJob.prepare(style, self.lm)
        if not ok:
            return False, message
        if self.style_job is not None:
            self.style_job.cancel()
        job = OpenStyleJob(params)
        job.progress.connect(self._on_style_progress)
        job.result.connect(self._on_style_opened)
        job.error.connect(self._on_style_failed)
        self.style_job = job
        self.jobs.submit(job)
        return True, ""

    def _on_style_progress(self, p) -> None:  # an engine.progress.Progress
        self.style_progress.emit(p.message)

    def _on_style_opened(self, active: ActiveStyle) -> None:
        if self.sender() is not self.style_job:
            return  # a superseded request
        self.style_job = None
        self.style, self._active = active.style, active
        self.settings.record_style(active.style)
        self.save_settings()
        self.style_changed.emit()
        self._calibrate(active)

    def _calibrate(self, active: ActiveStyle) -> None:
        """A persona steered without a calibration of its own gets one in the background; the
        style is then reopened with it."""
        if self.calibrate_job is not None:
            self.calibrate_job.cancel()
            self.calibrate_job = None
        ok, _message, params = CalibrateJob.prepare(active)
        if not ok:
            return
        job = CalibrateJob(params)
        job.progress.connect(self._on_style_progress)
        job.result.connect(self._on_calibrated)
        self.calibrate_job = job
        self.jobs.submit(job)

    def _on_calibrated(self, _calibration) -> None:
        job, self.calibrate_job = self.calibrate_job, None
        if job is not None and self.sender() is job and job.params["style"] == self.style:
            self.set_style(self.style)

    def _on_style_failed(self, message: str) -> None:
        if self.sender() is self.style_job:
            self.style_job = None
            self.style_failed.emit(message)

    def _restore_style(self) -> None:
        """After a model (re)load: reopen the recorded style for it (a model change invalidates
        adapters and steering vectors)."""
        try:
            style = self.settings.style()
        except ValueError as e:
            self.style_failed.emit(f"the saved style is not usable ({e}); no style is active")
            return
        stale = not self.style.is_plain
        self.style, self._active = Style(), ActiveStyle(Style())  # nothing stale meanwhile
        if stale:
            self.style_changed.emit()
        if not style.is_plain:
            self.set_style(style)

    def shutdown(self) -> bool:
        return self.jobs.shutdown()
