"""Builds the window's optional panels. Each panel shows an honest "not available yet" state
when the engine or training part it drives is missing from this build."""

from __future__ import annotations


def build_panels(window) -> dict:
    panels: dict = {}
    return panels
