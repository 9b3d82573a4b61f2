"""Checks on a citizen's message made before the dialog engine sees it (danger now)."""
