"""What the whole window shares: settings, the job queues, the loaded model, the active style.

`Session` loads the model on the "model" queue and tells the panels when it is
ready; panels ask it for the model, the generation transforms (adapters and
persona steering) and the persona's exemplars.
"""

from __future__ import annotations

import os
from typing import Any, Callable

from PySide6.QtCore import QObject, Signal

from desktop import settings as settings_mod
from desktop.jobs import Job, JobManager


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

        from engine import atomic, paths
        from desktop.resources import resources_dir

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


class Session(QObject):
    model_loading = Signal(str)  # a progress message
    model_ready = Signal(object)
    model_failed = Signal(str)
    style_changed = Signal()

    def __init__(self, settings: settings_mod.Settings | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        warning = ""
        if settings is None:
            settings, warning = settings_mod.load()
        self.settings = settings
        self.warning = warning
        self.jobs = JobManager(self)
        self.lm: Any = None
        self.load_job: ModelLoadJob | None = None
        self.first_time = False
        # The active style: set by the persona & adapters panel.
        self.adapter_stack: Any = None
        self.steering: Any = None
        self.persona_exemplars: Callable[[str], tuple] | None = None
        self.persona_profile: Any = None  # engine.quality StyleProfile of the active persona
        self.apply_network_setting()

    def save_settings(self) -> None:
        settings_mod.save(self.settings)

    def apply_network_setting(self) -> None:
        """No network connections unless the user allowed them (Hugging Face libraries obey these)."""
        off = "0" if self.settings.network_access else "1"
        for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "KILLAH_OFFLINE"):
            os.environ[name] = off

    # -- the model -------------------------------------------------------------
    def load_model(self) -> tuple[bool, str]:
        ok, message, params = ModelLoadJob.prepare(self.settings.model, self.settings.network_access)
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

    def model(self) -> Any:
        return self.lm

    # -- the active style ------------------------------------------------------
    def transforms(self) -> tuple:
        return tuple(t for t in (self.adapter_stack, self.steering) if t is not None)

    def exemplars(self) -> Callable[[str], tuple] | None:
        """The active persona's exemplar picker (slow: call it on a worker), or None."""
        return self.persona_exemplars

    def shutdown(self) -> bool:
        return self.jobs.shutdown()
