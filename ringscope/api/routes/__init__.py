"""One router per resource: clusters, verdicts, actors, snapshots, health, admin."""
