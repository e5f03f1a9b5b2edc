"""Killah's desktop app (PySide6) and the `killah` command-line dispatcher."""
