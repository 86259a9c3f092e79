"""``check-signups`` and ``suspend`` through the real command line entry point."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ringscope.cli import main
from tests.signup.conftest import TrapSnapshot


def test_check_signups_writes_one_result_per_line_in_order(
    trap: TrapSnapshot, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    signups = tmp_path / "signups.jsonl"
    signups.write_text(
        "\n".join(
            [
                json.dumps({"actor_id": "n-1", "device_id": "dev-john"}),
                '{"actor_id": "n-2", "ip": "999.1.1.1"}',
                "",
                "not json",
                json.dumps({"actor_id": "n-3", "display_name": "Somebody New"}),
            ]
        )
        + "\n"
    )
    out = tmp_path / "results.jsonl"
    args = ["check-signups", "--snapshot", str(trap.root), "--insecure-demo-key"]
    code = main([*args, "--in", str(signups), "--out", str(out)])
    results = [json.loads(line) for line in out.read_text().splitlines()]
    assert code == 2  # two lines were not valid signups
    assert [r["actor_id"] for r in results] == ["n-1", "n-2", None, "n-3"]
    assert [r["decision"] for r in results] == ["block", None, None, "allow"]
    assert [r.get("error", "")[:10] for r in results] == ["", "invalid_ip", "malformed_", ""]
    assert all({"risk", "decision", "matches"} <= set(r) for r in results)
    err = capsys.readouterr().err
    assert "1 allow, 0 review, 1 block, 2 error" in err
    assert "999.1.1.1" not in out.read_text() + err


def test_suspend_then_check(trap: TrapSnapshot, tmp_path: Path) -> None:
    root = Path(shutil.copytree(trap.root, tmp_path / "root"))
    identifiers = tmp_path / "ids.json"
    identifiers.write_text(json.dumps({"device_id": "dev-ghost"}))
    demo = "--insecure-demo-key"
    args = ["suspend", "--snapshot", str(root), "--actor-id", "ghost", demo]
    assert main([*args, "--identifiers", str(identifiers)]) == 0
    signups = tmp_path / "s.jsonl"
    signups.write_text(json.dumps({"actor_id": "n-1", "device_id": "dev-ghost"}) + "\n")
    out = tmp_path / "r.jsonl"
    check = ["check-signups", "--snapshot", str(root), demo, "--in", str(signups)]
    assert main([*check, "--out", str(out)]) == 0
    assert json.loads(out.read_text())["matches"][0]["actor_id"] == "ghost"


def test_missing_input_is_one_clear_error(
    trap: TrapSnapshot, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["check-signups", "--snapshot", str(trap.root), "--insecure-demo-key"]
    code = main([*args, "--in", str(tmp_path / "nope.jsonl"), "--out", str(tmp_path / "o")])
    assert code == 2
    assert "cannot read signups file" in capsys.readouterr().err
