"""Voice fixtures: speech made here with espeak-ng + sox, models loaded once per run."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from engine.voice.audio import SAMPLE_RATE, read_audio


class Speaker:
    """Synthesises speech to 16 kHz mono WAV files, cached for the whole session."""

    def __init__(self, folder: Path):
        self.folder = folder

    def wav(self, text: str, voice: str = "en-us", speed: int = 160) -> Path:
        key = hashlib.sha1(f"{voice}|{speed}|{text}".encode()).hexdigest()[:16]
        out = self.folder / f"{key}.wav"
        if not out.exists():
            raw = self.folder / f"{key}.raw.wav"
            subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(raw), text],
                           check=True, capture_output=True)
            subprocess.run(["sox", str(raw), "-r", str(SAMPLE_RATE), "-c", "1", "-b", "16",
                            str(out)],
                           check=True, capture_output=True)
        return out

    def say(self, text: str, voice: str = "en-us", speed: int = 160) -> np.ndarray:
        return read_audio(self.wav(text, voice, speed))


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * SAMPLE_RATE), np.float32)


def write_wav(path: Path, audio: np.ndarray) -> Path:
    import soundfile as sf

    sf.write(str(path), audio, SAMPLE_RATE, subtype="PCM_16")
    return path


@pytest.fixture(scope="session")
def speaker(tmp_path_factory) -> Speaker:
    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is missing: run scripts/install.sh "
                        "(it installs espeak-ng and sox)")
    return Speaker(tmp_path_factory.mktemp("speech"))


@pytest.fixture(scope="session")
def tiny_en():
    """The bundled tiny.en, converted once (KILLAH_MODELS_DIR is shared by the run) and loaded."""
    from engine.voice.models import load_whisper

    return load_whisper("tiny.en")


@pytest.fixture(scope="session")
def faster_whisper_tiny():
    """The reference engine on the SAME CTranslate2 weights (float32 compute, 2 threads)."""
    from faster_whisper import WhisperModel

    from engine.voice.models import ct2_dir

    return WhisperModel(str(ct2_dir("tiny.en")), device="cpu", compute_type="float32",
                        cpu_threads=2)
