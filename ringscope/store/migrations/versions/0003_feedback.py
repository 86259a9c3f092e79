"""Feedback: verdict feature vectors and members, actor verdicts, signup outcomes.

Revision ID: 0003_feedback
Revises: 0002_verdicts_cluster_id_index
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ringscope.store.schema import UTCDateTime

revision = "0003_feedback"
down_revision = "0002_verdicts_cluster_id_index"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the verdict's features and members; create actor verdicts and signup outcomes."""
    with op.batch_alter_table("verdicts") as batch:
        batch.add_column(sa.Column("features", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("actor_ids", sa.JSON(), nullable=True))
    op.create_table(
        "actor_verdicts",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("actor_id", sa.String(256), nullable=False),
        sa.Column("verdict", sa.String(20), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("investigator", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_actor_verdicts_actor", "actor_verdicts", ["actor_id", "created_at"])
    op.create_table(
        "signup_outcomes",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("actor_id", sa.String(256), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("investigator", sa.String(200), nullable=False),
        sa.Column("snapshot_id", sa.String(64), nullable=False),
        sa.Column("risk", sa.Float(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    """Drop what the upgrade added."""
    op.drop_table("signup_outcomes")
    op.drop_index("ix_actor_verdicts_actor", table_name="actor_verdicts")
    op.drop_table("actor_verdicts")
    with op.batch_alter_table("verdicts") as batch:
        batch.drop_column("actor_ids")
        batch.drop_column("features")
