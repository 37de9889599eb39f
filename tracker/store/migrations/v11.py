"""Schema 11: actions on themes, and the messages sent to customers about their follow-ups."""

from __future__ import annotations

SQL = """
"""
