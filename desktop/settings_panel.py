"""The Settings tab. Each control's tooltip is the field's help text from desktop.settings."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

LANGUAGES = (("en", "English"), ("ru", "Russian"), ("de", "German"), ("fr", "French"),
             ("es", "Spanish"), ("it", "Italian"))


class SettingsPanel(QWidget):
    def __init__(self, session, parent=None) -> None:
        super().__init__(parent)
        self.session = session
        s = session.settings
        help_ = s.help

        # -- model -------------------------------------------------------------
        self.source_bundled = QRadioButton("Bundled (Gemma 3 270M base)")
        self.source_local = QRadioButton("Local folder or .gguf")
        self.source_hub = QRadioButton("Hugging Face id")
        group = QButtonGroup(self)
        for b in (self.source_bundled, self.source_local, self.source_hub):
            group.addButton(b)
        self.model_path = QLineEdit()
        self.model_path.setToolTip(help_("model"))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        from engine.models import resolve

        try:
            kind = resolve(None if s.model in ("", "default") else s.model).kind
        except Exception:  # noqa: BLE001 - a stale setting: show it, let the user fix it
            kind = "mlx"
        by_kind = {"bundled": self.source_bundled, "hub": self.source_hub}
        by_kind.get(kind, self.source_local).setChecked(True)
        self.model_path.setText("" if kind == "bundled" else s.model)
        self.load_button = QPushButton("Use this model")
        self.load_button.clicked.connect(self.apply_model)
        self.model_progress = QProgressBar()
        self.model_progress.setRange(0, 1)
        self.model_message = QLabel("")
        self.model_message.setWordWrap(True)
        self.backend = QLabel(self._backend_text())
        model_box = QGroupBox("Model")
        mf = QVBoxLayout(model_box)
        for b in (self.source_bundled, self.source_local, self.source_hub):
            mf.addWidget(b)
        row = QHBoxLayout()
        row.addWidget(self.model_path, 1)
        row.addWidget(browse)
        row.addWidget(self.load_button)
        mf.addLayout(row)
        mf.addWidget(self.model_progress)
        mf.addWidget(self.model_message)
        mf.addWidget(self.backend)

        # -- sampling and suggestions ---------------------------------------------
        self.temperature = self._double("temperature", 0.0, 2.0, 0.05)
        self.min_p = self._double("min_p", 0.0, 0.5, 0.01)
        self.pause = QSpinBox()
        self.pause.setRange(100, 5000)
        self.pause.setSingleStep(100)
        self.pause.setSuffix(" ms")
        self.pause.setValue(s.ghost_pause_ms)
        self.pause.setToolTip(help_("ghost_pause_ms"))
        self.pause.valueChanged.connect(lambda v: self._set("ghost_pause_ms", int(v)))
        self.ghost_enabled = self._check("ghost_enabled", "Suggest continuations while I write")
        sampling_box = QGroupBox("Writing suggestions")
        sf = QFormLayout(sampling_box)
        sf.addRow(self.ghost_enabled)
        sf.addRow("Pause before a suggestion", self.pause)
        sf.addRow("Temperature", self.temperature)
        sf.addRow("min-p", self.min_p)

        # -- dictation -------------------------------------------------------------
        self.language = QComboBox()
        for code, name in LANGUAGES:
            self.language.addItem(name, code)
        self.language.setCurrentIndex(max(0, self.language.findData(s.dictation_language)))
        self.language.setToolTip(help_("dictation_language"))
        self.language.currentIndexChanged.connect(
            lambda _i: self._set("dictation_language", self.language.currentData()))
        self.punctuation = self._check("spoken_punctuation",
                                       "Spoken punctuation (“comma”, “full stop”…)")
        voice_box = QGroupBox("Dictation")
        vf = QFormLayout(voice_box)
        vf.addRow("Language", self.language)
        vf.addRow(self.punctuation)

        # -- privacy ------------------------------------------------------------------
        self.network = self._check("network_access",
                                   "Allow network access (only to download a model)")
        self.network.toggled.connect(lambda _v: session.apply_network_setting())
        privacy_box = QGroupBox("Privacy")
        pf = QVBoxLayout(privacy_box)
        pf.addWidget(self.network)
        pf.addWidget(QLabel("Off by default: Killah opens no network connection unless you "
                            "download a model."))

        layout = QVBoxLayout(self)
        for box in (model_box, sampling_box, voice_box, privacy_box):
            layout.addWidget(box)
        layout.addStretch(1)
        session.model_loading.connect(self._on_loading)
        session.model_ready.connect(self._on_ready)
        session.model_failed.connect(self._on_failed)

    def _backend_text(self) -> str:
        from engine.runtime import backend

        return f"Compute backend: {backend().describe()}"

    def _set(self, name: str, value) -> None:
        setattr(self.session.settings, name, value)
        self.session.save_settings()

    def _double(self, name: str, lo: float, hi: float, step: float) -> QDoubleSpinBox:
        box = QDoubleSpinBox()
        box.setRange(lo, hi)
        box.setSingleStep(step)
        box.setDecimals(2)
        box.setValue(getattr(self.session.settings, name))
        box.setToolTip(self.session.settings.help(name))
        box.valueChanged.connect(lambda v: self._set(name, float(v)))
        return box

    def _check(self, name: str, label: str) -> QCheckBox:
        box = QCheckBox(label)
        box.setChecked(bool(getattr(self.session.settings, name)))
        box.setToolTip(self.session.settings.help(name))
        box.toggled.connect(lambda v: self._set(name, bool(v)))
        return box

    def _browse(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Choose an MLX model folder")
        if path:
            self.source_local.setChecked(True)
            self.model_path.setText(path)

    def model_spec(self) -> str:
        if self.source_bundled.isChecked():
            return "default"
        return self.model_path.text().strip()

    def apply_model(self) -> bool:
        spec = self.model_spec()
        if not spec:
            self.model_message.setText("enter a folder, a .gguf file or a Hugging Face id")
            return False
        old = self.session.settings.model
        self.session.settings.model = spec
        ok, message = self.session.load_model()
        if not ok:
            self.session.settings.model = old
            self.model_message.setText(message)
            return False
        self.session.save_settings()
        self.model_progress.setRange(0, 0)  # busy: downloads and conversions report steps
        return True

    def _on_loading(self, message: str) -> None:
        self.model_progress.setRange(0, 0)
        self.model_message.setText(message)

    def _on_ready(self, lm) -> None:
        self.model_progress.setRange(0, 1)
        self.model_progress.setValue(1)
        self.model_message.setText(f"in use: {lm.model_id} ({lm.dtype}) from {lm.path}")

    def _on_failed(self, message: str) -> None:
        self.model_progress.setRange(0, 1)
        self.model_progress.setValue(0)
        self.model_message.setText(message)
