"""Dictation: microphone (QtMultimedia) or WAV audio -> engine.voice.Listener on a worker ->
dictated text and commands executed in the editor, each one undo step.

Audio arrives on the GUI thread (QAudioSource's readyRead, or a WAV file fed in
chunks), drives the level meter, and is queued to `ListenJob`, which runs the
listener on the "audio" queue and emits its events back as signals.
"""

from __future__ import annotations

import queue
from pathlib import Path

import numpy as np
from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from desktop.corrections import Corrections
from desktop.jobs import Job
from desktop.voice_edit import VoiceEditor
from engine.errors import KillahError

SAMPLE_RATE = 16_000
PUSH_TO_TALK = Qt.Key_F9  # hold to talk
SETTLE_MS = 2500  # a correction of dictated words is read this long after the last keystroke


class ListenJob(Job):
    """One listening session: audio chunks in (from any thread), events out as `event`."""

    event = Signal(object)
    resource = "audio"
    title = "dictation"

    def __init__(self, params: dict | None = None, parent=None) -> None:
        super().__init__(params, parent)
        self.chunks: queue.Queue = queue.Queue()
        self.listener = None

    def push(self, chunk: np.ndarray) -> None:
        self.chunks.put(chunk)

    def end(self) -> None:
        """No more audio: transcribe what is left, then finish."""
        self.chunks.put(None)

    def cancel(self) -> None:
        super().cancel()
        if self.listener is not None:
            self.listener.stop()
        self.chunks.put(None)

    def run(self) -> None:
        from engine.voice.listen import Listener, ListenOptions
        from engine.voice.transcribe import StreamOptions, TranscribeOptions

        p = self.params
        lang = p.get("language", "en")
        model = "tiny.en" if lang == "en" else "base"
        self.listener = Listener(
            TranscribeOptions(model=model, language=lang if lang in ("en", "ru") else "auto",
                              vocabulary=p.get("vocabulary")),
            ListenOptions(spoken_punctuation=p.get("spoken_punctuation", True)),
            StreamOptions(partial_every_s=1.0),
            context=p.get("context", ""),
        )
        while not self.is_cancelled and not self.listener.stopped:
            chunk = self.chunks.get()
            events = self.listener.finish() if chunk is None else self.listener.feed(chunk)
            for e in events:
                self.event.emit(e)
            if chunk is None:
                break


def to_mono16k(data: bytes, fmt) -> np.ndarray:
    """Raw QAudioSource bytes -> float32 mono 16 kHz."""
    from PySide6.QtMultimedia import QAudioFormat

    kind = fmt.sampleFormat()
    if kind == QAudioFormat.Float:
        x = np.frombuffer(data, dtype=np.float32)
    elif kind == QAudioFormat.Int32:
        x = np.frombuffer(data, dtype=np.int32).astype(np.float32) / 2**31
    elif kind == QAudioFormat.UInt8:
        x = (np.frombuffer(data, dtype=np.uint8).astype(np.float32) - 128) / 128
    else:
        x = np.frombuffer(data, dtype=np.int16).astype(np.float32) / 32768
    ch = max(1, fmt.channelCount())
    if ch > 1:
        x = x[: len(x) // ch * ch].reshape(-1, ch).mean(axis=1)
    rate = fmt.sampleRate()
    if rate != SAMPLE_RATE and len(x):
        n = int(round(len(x) * SAMPLE_RATE / rate))
        x = np.interp(np.linspace(0, len(x) - 1, n), np.arange(len(x)), x).astype(np.float32)
    return x


def microphone_problem() -> str:
    """Why the microphone cannot be used, or '' when it can."""
    from PySide6.QtMultimedia import QMediaDevices

    if not QMediaDevices.audioInputs():
        return "No microphone found: connect one, or check the sound settings."
    try:
        from PySide6.QtCore import QMicrophonePermission
        from PySide6.QtWidgets import QApplication

        status = QApplication.instance().checkPermission(QMicrophonePermission())
        if status == Qt.PermissionStatus.Denied:
            return ("Killah may not use the microphone: allow it in System Settings › "
                    "Privacy & Security › Microphone.")
    except (ImportError, AttributeError):
        pass
    return ""


class DictationBar(QWidget):
    """Mic button, level meter, live partial text and the last command's confirmation."""

    def __init__(self, session, editor, window, parent=None) -> None:
        super().__init__(parent)
        self.session = session
        self.editor = editor
        self.window_ = window
        self.job: ListenJob | None = None
        self.source = None
        self.io = None
        self.partial = ""
        self.log: list[dict] = []  # what was heard and done this session (shown, and for tests)
        self.voice = VoiceEditor(self, rephrase=lambda mode: window.request_rephrase(
            mode, origin="voice"), cont=window.ghost.start, stop=self.stop)
        self.corrections = Corrections()
        self.learned: tuple[str, str, bool] | None = None  # (heard, right, was it there before)
        self.settle_timer = QTimer(self)
        self.settle_timer.setSingleShot(True)
        self.settle_timer.setInterval(SETTLE_MS)
        self.settle_timer.timeout.connect(self.settle_corrections)
        editor.document().contentsChange.connect(self._on_contents_change)

        self.button = QPushButton("● Dictate")
        self.button.setCheckable(True)
        self.button.setToolTip("Start / stop dictation (Ctrl+Shift+D); hold F9 to talk")
        self.button.clicked.connect(self._on_button)
        self.meter = QProgressBar()
        self.meter.setRange(0, 100)
        self.meter.setTextVisible(False)
        self.meter.setFixedWidth(90)
        self.meter.setFixedHeight(10)
        self.heard = QLabel("")
        self.confirm = QLabel("")
        self.confirm.setStyleSheet("font-weight: 600")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 2, 8, 2)
        layout.addWidget(self.button)
        layout.addWidget(self.meter)
        layout.addWidget(self.heard, 1)
        layout.addWidget(self.confirm)
        self.forget = QPushButton("Forget")
        self.forget.setObjectName("forget_term")
        self.forget.setToolTip("take the word just learned out of your vocabulary")
        self.forget.clicked.connect(self.forget_learned)
        self.forget.hide()
        layout.addWidget(self.forget)
        self.confirm_timer = QTimer(self)
        self.confirm_timer.setSingleShot(True)
        self.confirm_timer.timeout.connect(self._clear_confirmation)
        window.installEventFilter(self)
        editor.installEventFilter(self)

    # -- the VoiceView side ------------------------------------------------------------
    def text(self) -> str:
        return self.editor.toPlainText()

    def cursor(self) -> tuple[int, int]:
        c = self.editor.textCursor()
        return c.selectionStart(), c.selectionEnd()

    def replace_range(self, start: int, end: int, text: str) -> None:
        c = QTextCursor(self.editor.document())
        c.setPosition(start)
        c.setPosition(end, QTextCursor.KeepAnchor)
        c.beginEditBlock()
        c.insertText(text)
        c.endEditBlock()
        self.editor.setTextCursor(c)

    def select_range(self, start: int, end: int) -> None:
        c = QTextCursor(self.editor.document())
        c.setPosition(start)
        c.setPosition(end, QTextCursor.KeepAnchor)
        self.editor.setTextCursor(c)

    def undo(self) -> None:
        self.editor.undo()

    def redo(self) -> None:
        self.editor.redo()

    # -- listening -----------------------------------------------------------------------
    @property
    def listening(self) -> bool:
        return self.job is not None

    def toggle(self) -> None:
        self.stop() if self.listening else self.start()

    def _on_button(self, checked: bool) -> None:
        self.start() if checked else self.stop()

    def start(self, use_microphone: bool = True) -> bool:
        if self.listening:
            return True
        if use_microphone:
            problem = microphone_problem()
            if problem:
                self.button.setChecked(False)
                self.show_confirmation(problem, ms=8000)
                return False
        s = self.session.settings
        job = ListenJob({"language": s.dictation_language,
                         "spoken_punctuation": s.spoken_punctuation,
                         "context": self.editor.text_before_cursor(400),
                         "vocabulary": self._vocabulary()})
        job.event.connect(self._on_event)
        job.error.connect(self._on_error)
        job.finished.connect(self._on_finished)
        self.job = job
        self.window_.ghost.cancel()
        self.session.jobs.submit(job)
        self.button.setChecked(True)
        self.heard.setText("listening…")
        if use_microphone:
            self._open_microphone()
        return True

    def _open_microphone(self) -> None:
        from PySide6.QtMultimedia import QAudioFormat, QAudioSource, QMediaDevices

        device = QMediaDevices.defaultAudioInput()
        fmt = QAudioFormat()
        fmt.setSampleRate(SAMPLE_RATE)
        fmt.setChannelCount(1)
        fmt.setSampleFormat(QAudioFormat.Int16)
        if not device.isFormatSupported(fmt):
            fmt = device.preferredFormat()
        self.source = QAudioSource(device, fmt, self)
        self.io = self.source.start()
        if self.io is None:
            self.show_confirmation(f"cannot open the microphone {device.description()}", ms=8000)
            self.stop()
            return
        self.io.readyRead.connect(self._on_audio_ready)

    def _on_audio_ready(self) -> None:
        data = bytes(self.io.readAll().data())
        if data:
            self.feed(to_mono16k(data, self.source.format()))

    def feed(self, chunk: np.ndarray) -> None:
        """Audio from the microphone or a file: meter it and send it to the listener."""
        if len(chunk):
            rms = float(np.sqrt(np.mean(np.square(chunk, dtype=np.float64))))
            self.meter.setValue(int(min(100, rms * 400)))
        if self.job is not None:
            self.job.push(chunk)

    def feed_wav(self, path: str | Path, chunk_s: float = 0.5) -> None:
        """Feed a recording as if it came from the microphone (used by tests and demos)."""
        from engine.voice.audio import read_audio

        audio = read_audio(path)
        step = int(chunk_s * SAMPLE_RATE)
        for i in range(0, len(audio), step):
            self.feed(audio[i : i + step])
        if self.job is not None:
            self.job.end()

    def stop(self) -> None:
        if self.source is not None:
            self.source.stop()
            self.source = None
            self.io = None
        if self.job is not None:
            self.job.end()  # let it transcribe what it has; _on_finished clears the state
        self.button.setChecked(False)
        self.meter.setValue(0)

    def shutdown(self) -> None:
        if self.source is not None:
            self.source.stop()
            self.source = None
        if self.job is not None:
            self.job.cancel()

    # -- events ---------------------------------------------------------------------------
    def _on_event(self, event) -> None:
        if self.sender() is not self.job:
            return
        from engine.voice.commands import Command, Dictation
        from engine.voice.listen import Partial

        if isinstance(event, Partial):
            self.partial = event.text
            self.heard.setText(f"… {event.text}")
            self.editor.show_ghost(" " + event.text)  # live at the cursor, not in the document
            return
        self.editor.clear_ghost()
        self.partial = ""
        if isinstance(event, Dictation):
            start = self.cursor()[0]
            said = self.voice.dictate(event.text)
            end = self.cursor()[1]
            if said and end > start:
                self.corrections.dictated(start, self.text()[start:end])
            self.heard.setText(said)
            self.log.append({"type": "dictation", "text": event.text})
        elif isinstance(event, Command):
            self.heard.setText(f"heard: “{event.heard}”")
            done = self.voice.execute(event.name, dict(event.args))
            self.show_confirmation("✓ " + done)
            self.log.append({"type": "command", "name": event.name, "args": dict(event.args),
                             "done": done})
        if self.job is not None:
            self.job.listener and self.job.listener.set_context(self.editor.text_before_cursor(400))

    def show_confirmation(self, text: str, ms: int = 2500) -> None:
        self.confirm.setText(text)
        self.confirm_timer.start(ms)

    def _on_error(self, message: str) -> None:
        self.show_confirmation(message, ms=8000)

    def _on_finished(self) -> None:
        if self.sender() is self.job:
            self.job = None
            self.stop()
            self.editor.clear_ghost()
            if self.heard.text() == "listening…":
                self.heard.setText("")

    # -- push to talk ---------------------------------------------------------------------
    def eventFilter(self, obj: QObject, e: QEvent) -> bool:  # noqa: N802 - Qt API
        if e.type() in (QEvent.KeyPress, QEvent.KeyRelease) and e.key() == PUSH_TO_TALK:
            if not e.isAutoRepeat():
                self.start() if e.type() == QEvent.KeyPress else self.stop()
            return True
        return False

    # -- learning corrections --------------------------------------------------------------
    def _vocabulary(self):
        from engine.voice.vocabulary import Vocabulary

        try:
            return Vocabulary.load()
        except KillahError as e:
            self.show_confirmation(f"{e}: dictating without it", ms=8000)
            return None

    def _on_contents_change(self, position: int, removed: int, added: int) -> None:
        self.corrections.changed(position, removed, added)
        if self.corrections.pending:
            self.settle_timer.start()

    def settle_corrections(self) -> list[tuple[str, str]]:
        """Dictated words the writer corrected into names or terms go to the vocabulary."""
        from engine.voice.vocabulary import Vocabulary

        lang = self.session.settings.dictation_language
        learned = self.corrections.settle(self.text(), lang if lang == "ru" else "en")
        if not learned:
            return []
        try:
            vocab = Vocabulary.load()
            existed = vocab.find(learned[-1][1]) is not None
            for heard, right in learned:
                vocab = vocab.learn(heard, right)
            vocab.save()
        except (OSError, KillahError) as e:
            self.show_confirmation(f"could not add to your vocabulary: {e}", ms=8000)
            return []
        if self.job is not None and self.job.listener is not None:
            self.job.listener.set_vocabulary(vocab)
        heard, right = learned[-1]
        self.learned = (heard, right, existed)
        self.show_confirmation(f"✓ “{right}” is in your vocabulary (heard “{heard}”)", ms=8000)
        self.forget.show()
        return learned

    def forget_learned(self) -> None:
        from engine.voice.vocabulary import Vocabulary

        if self.learned is None:
            return
        heard, right, existed = self.learned
        vocab = Vocabulary.load()
        term = vocab.find(right)
        if term is not None:
            rest = tuple(h for h in term.heard if h != heard)
            vocab, _ = vocab.remove([right])
            if existed:  # it was there before: only the heard form goes
                vocab = vocab.add([right], heard=rest)
            vocab.save()
        self.learned = None
        self._clear_confirmation()

    def _clear_confirmation(self) -> None:
        self.confirm.setText("")
        self.forget.hide()
