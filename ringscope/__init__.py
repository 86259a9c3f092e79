"""ringscope: find, explain and stop coordinated bad-actor rings in event logs.

The package import stays light: heavy engines (torch, pyspark) load only when used.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
