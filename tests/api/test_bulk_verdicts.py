"""``ringscope verdicts import|export``: all rows or none, bad rows named by line."""

from __future__ import annotations

import csv
import json

import pytest

from ringscope.cli import main
from ringscope.feedback.bulk import BulkError, import_verdicts
from ringscope.snapshot import read_table
from ringscope.store import open_store
from tests.api.conftest import publish_copy


def test_import_export_round_trip_and_bad_rows(tmp_path, snapshots, capsys):
    root = tmp_path / "root"
    publish_copy(snapshots.early, root)
    clusters = read_table(snapshots.early, "clusters")["cluster_id"].to_list()
    members = read_table(snapshots.early, "members")
    actor = members["actor_id"][0]
    store_args = ["--snapshot", str(root)]

    bad = tmp_path / "bad.csv"
    with bad.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["cluster_id", "actor_id", "verdict", "note", "investigator", "time"])
        w.writerow([clusters[0], "", "confirmed", "ok row", "ann", "2026-11-01T10:00:00Z"])
        w.writerow(["cnosuchcluster", "", "confirmed", "", "ann", "2026-11-01T10:00:00Z"])
        w.writerow([clusters[1], actor, "dismissed", "", "ann", "2026-11-01T10:00:00Z"])
        w.writerow([clusters[1], "", "maybe", "", "ann", "2026-11-01T10:00:00Z"])
        w.writerow([clusters[1], "", "dismissed", "multi\nline", "ann", "2026-11-01 10:00"])
        w.writerow([clusters[0], "", "confirmed", "again", "ann", "2026-11-01T10:00:00Z"])
        w.writerow(["", "ghost-account", "confirmed", "", "ann", "2026-11-01T10:00:00Z"])
        w.writerow([clusters[2], "", "confirmed", "", "", "2999-01-01T00:00:00Z"])
    assert main(["verdicts", "import", str(bad), *store_args]) == 2
    message = " ".join(capsys.readouterr().err.split())
    assert "7 bad row(s)" in message and "nothing was imported" in message
    store = open_store(f"sqlite:///{root / 'ringscope.sqlite3'}")
    try:
        with pytest.raises(BulkError) as caught:
            import_verdicts(bad, snapshots.early, store)
    finally:
        store.close()
    problems = dict(caught.value.problems)
    assert len(problems) == 7
    for line, reason in [
        (3, "no cluster 'cnosuchcluster'"),
        (4, "exactly one of cluster_id and actor_id"),
        (5, "unknown verdict 'maybe'"),
        (6, "has no timezone"),  # the quoted note spans lines 6-7
        (8, "repeats line 2"),
        (9, "account 'ghost-account' is not in snapshot"),
        (10, "missing investigator"),
    ]:
        assert reason in problems[line]
    store = open_store(f"sqlite:///{root / 'ringscope.sqlite3'}")
    try:
        assert store.all_verdicts() == [] and store.actor_verdicts() == []
    finally:
        store.close()

    good = tmp_path / "good.jsonl"
    rows = [
        {"cluster_id": clusters[0], "verdict": "confirmed", "investigator": "ann",
         "time": "2026-11-01T10:00:00Z", "note": "from the old tool"},
        {"cluster_id": clusters[1], "verdict": "dismissed", "investigator": "bob",
         "time": "2026-11-02T09:30:00+02:00"},
        {"actor_id": actor, "verdict": "confirmed", "investigator": "ann",
         "time": "2026-11-03T00:00:00Z"},
    ]  # fmt: skip
    good.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert main(["verdicts", "import", str(good), *store_args]) == 0
    store = open_store(f"sqlite:///{root / 'ringscope.sqlite3'}")
    try:
        imported = store.all_verdicts()
        assert [(v.cluster_id, v.verdict, v.investigator) for v in imported] == [
            (clusters[0], "confirmed", "ann"),
            (clusters[1], "dismissed", "bob"),
        ]
        assert imported[1].created_at.isoformat() == "2026-11-02T07:30:00+00:00"
        assert imported[0].features and imported[0].snapshot_id == snapshots.early.name
        assert set(imported[0].actor_ids) == set(
            members.filter(members["cluster_id"] == clusters[0])["actor_id"]
        )
        assert [v.actor_id for v in store.actor_verdicts()] == [actor]
    finally:
        store.close()

    exported = tmp_path / "out.csv"
    assert main(["verdicts", "export", str(exported), *store_args]) == 0
    with exported.open(newline="") as fh:
        back = list(csv.DictReader(fh))
    assert [(r["cluster_id"], r["actor_id"], r["verdict"]) for r in back] == [
        (clusters[0], "", "confirmed"),
        (clusters[1], "", "dismissed"),
        ("", actor, "confirmed"),
    ]
    assert back[0]["note"] == "from the old tool" and back[1]["time"] == "2026-11-02T07:30:00Z"
    other = tmp_path / "other.sqlite3"
    assert (
        main(
            [
                "verdicts",
                "import",
                str(exported),
                *store_args,
                "--database-url",
                f"sqlite:///{other}",
            ]
        )
        == 0
    ), "an export imports again"
