"""Labels from verdicts: who counts, disputes, withdrawn labels, account labels."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ringscope.feedback.labels import actor_labels, cluster_labels, examples
from ringscope.store import ActorVerdictRecord, VerdictRecord

T0 = datetime(2026, 12, 1, tzinfo=UTC)


def verdict(i: int, cluster: str, kind: str, who: str, *, snap: str = "s1", **kw) -> VerdictRecord:
    features = kw.pop("features", {"labels": float(i)})
    members = kw.pop("members", ())
    return VerdictRecord(
        i, cluster, kind, None, who, snap, T0 + timedelta(minutes=i), features, tuple(members)
    )


def test_needs_more_info_is_not_a_label_and_withdraws_the_investigators_own():
    labels = cluster_labels(
        [
            verdict(1, "a", "needs_more_info", "ann"),
            verdict(2, "b", "confirmed", "ann"),
            verdict(3, "b", "needs_more_info", "ann"),
            verdict(4, "c", "dismissed", "ann"),
        ]
    )
    assert set(labels) == {"c"}
    assert labels["c"].label == 0 and labels["c"].investigators == ("ann",)


def test_two_investigators_disagreeing_is_a_dispute_until_one_changes_their_mind():
    history = [verdict(1, "a", "confirmed", "ann"), verdict(2, "a", "dismissed", "bob")]
    disputed = cluster_labels(history)["a"]
    assert disputed.disputed and disputed.label is None
    assert disputed.disputed_with == ("ann", "bob")
    train, _ = examples(history, cluster_labels(history), lambda s, c: None)
    assert train == [], "a disputed cluster teaches nothing"
    resolved = cluster_labels([*history, verdict(3, "a", "dismissed", "ann")])["a"]
    assert resolved.label == 0 and not resolved.disputed


def test_examples_one_per_snapshot_with_stored_features_else_the_snapshot_else_vanished():
    history = [
        verdict(1, "a", "confirmed", "ann", snap="s1"),
        verdict(2, "a", "confirmed", "bob", snap="s1"),  # same snapshot: counts once
        verdict(3, "a", "confirmed", "ann", snap="s2"),
        verdict(4, "b", "dismissed", "ann", snap="old", features=None),
        verdict(5, "c", "dismissed", "ann", snap="gone", features=None),
    ]
    stored = {("old", "b"): {"labels": 0.5}}
    train, vanished = examples(history, cluster_labels(history), lambda s, c: stored.get((s, c)))
    got = sorted((e.cluster_id, e.snapshot_id, e.label, e.features["labels"]) for e in train)
    assert got == [("a", "s1", 1, 2.0), ("a", "s2", 1, 3.0), ("b", "old", 0, 0.5)]
    assert vanished == 1


def test_account_labels_from_members_and_account_verdicts():
    labels = cluster_labels(
        [
            verdict(1, "ring", "confirmed", "ann", members=["u1", "u2"]),
            verdict(2, "team", "dismissed", "ann", members=["u3", "u2"]),
        ]
    )
    account = [
        ActorVerdictRecord(1, "u4", "confirmed", None, "ann", T0),
        ActorVerdictRecord(2, "u1", "needs_more_info", None, "ann", T0),
    ]
    # the later dismissal wins for u2; an account's own needs_more_info drops its label
    assert actor_labels(labels, account) == {"u2": 0, "u3": 0, "u4": 1}
