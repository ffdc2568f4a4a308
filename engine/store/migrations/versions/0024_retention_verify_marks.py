"""Verification marks: what the last intact `sanchika verify` covered, so the next run
re-checks only what changed since (incremental verification).

Revision ID: 0024_retention_verify_marks
Revises: 0023_hotpath_note_marks
"""

import sqlalchemy as sa
from alembic import op

revision = "0024_retention_verify_marks"
down_revision = "0023_hotpath_note_marks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "verify_marks",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("checkpoint_seq", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("instances", sa.Integer(), nullable=False),
        sa.Column("mac", sa.String(length=64), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("verify_marks")
