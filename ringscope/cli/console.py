"""The stderr console every command prints progress and errors on."""

from rich.console import Console

__all__ = ["err"]

err = Console(stderr=True, soft_wrap=True)
