"""The package imports with only the core installed: no torch, no pyspark at import time."""

from __future__ import annotations

import subprocess
import sys


def test_import_does_not_load_heavy_engines():
    code = (
        "import sys, ringscope, ringscope.graph, ringscope.ranking, ringscope.pipeline, "
        "ringscope.cli; heavy = {'torch', 'pyspark', 'torch_geometric'} & set(sys.modules); "
        "print(sorted(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
