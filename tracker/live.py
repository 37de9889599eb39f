"""The only module that emits Socket.IO events (built out by the live scoreboard)."""

from flask import Flask


def init_app(app: Flask) -> None:
    return None
