"""schemathesis, every check, against a real server: answers match the OpenAPI schema.

The ``schemathesis`` CLI runs all its checks (no 5xx, documented status codes, content
types, headers and response schemas, invalid input rejected, valid input accepted,
authentication enforced, unsupported methods refused) over every operation, as an
admin, against uvicorn serving a real snapshot and SQLite store. Bounded: a fixed seed
and a few examples per operation.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ringscope.api.app import create_app
from tests.api.conftest import running_server

pytestmark = pytest.mark.slow

EXAMPLES = 12


def test_schemathesis_all_checks_pass_against_a_running_server(settings, keys, tmp_path: Path):
    with running_server(create_app(settings)) as base:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "schemathesis.cli",
                "run",
                f"{base}/openapi.json",
                "--checks",
                "all",
                "--header",
                f"Authorization: Bearer {keys['admin']}",
                "--max-examples",
                str(EXAMPLES),
                "--seed",
                "7",
                "--phases",
                "examples,coverage,fuzzing",
                "--no-color",
            ],
            capture_output=True,
            text=True,
            timeout=600,
            cwd=tmp_path,
            check=False,
        )
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
