"""Where the quality package finds its shipped files (lexicons, trained WQRM weights)."""

from __future__ import annotations

from pathlib import Path

RESOURCES = Path(__file__).resolve().parents[2] / "resources"
LEXICONS_DIR = RESOURCES / "lexicons"
WQRM_DIR = RESOURCES / "wqrm"
