"""The event: its file, its setup and settings, the cached lookups servers read, languages, QR codes."""
