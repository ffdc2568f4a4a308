"""Indexes for an incremental `sanchika verify` at scale: the signatures by instance (it
reads the changed instances' signatures only, not every one), and the history's heads
with their hash (every checkpointed head is found in its chain by an index-only lookup
instead of a scan of every event).

Revision ID: 0026_verify_indexes
Revises: 0025_search_covering_ix
"""

from alembic import op

revision = "0026_verify_indexes"
down_revision = "0025_search_covering_ix"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_approval_signatures_instance_id", "approval_signatures",
                    ["instance_id"])
    op.create_index("ix_history_events_head", "history_events", ["instance_id", "seq", "hash"])


def downgrade() -> None:
    op.drop_index("ix_history_events_head", table_name="history_events")
    op.drop_index("ix_approval_signatures_instance_id", table_name="approval_signatures")
