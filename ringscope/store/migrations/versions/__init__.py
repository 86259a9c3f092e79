"""Migration scripts, one revision per file, applied in ``down_revision`` order."""
