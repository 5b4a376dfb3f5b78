"""Templar's full-screen Textual app. Imports the engine; the engine never imports this."""
