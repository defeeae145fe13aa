"""Reporters: text, json, sarif, junit (built-in plugins, registered like any pack)."""
