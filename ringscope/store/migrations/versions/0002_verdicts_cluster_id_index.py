"""Index verdicts by (cluster_id, id): the latest verdict of a cluster is one index probe.

The queue asks for the latest verdict of each cluster of the served snapshot; with this
index that is a covering-index lookup per cluster, however many verdicts past clusters
have accumulated.

Revision ID: 0002_verdicts_cluster_id_index
Revises: 0001_initial
"""

from __future__ import annotations

from alembic import op

revision = "0002_verdicts_cluster_id_index"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the (cluster_id, id) index."""
    op.create_index("ix_verdicts_cluster_id_id", "verdicts", ["cluster_id", "id"])


def downgrade() -> None:
    """Drop it."""
    op.drop_index("ix_verdicts_cluster_id_id", table_name="verdicts")
