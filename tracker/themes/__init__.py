"""Themes: what many stories have in common, read from the stories themselves on this machine."""
