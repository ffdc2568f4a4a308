"""Outbox delivery: when a pending message is next due (and a claim's lease).

The index leads with status so the worker's query touches only pending/sending rows,
never the many 'sent' ones.

Revision ID: 0003_outbox_delivery
Revises: 0002_locked_triggers
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_outbox_delivery"
down_revision = "0002_locked_triggers"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("next_attempt_at", sa.DateTime(timezone=True),
                                      nullable=True))
        batch_op.create_index("ix_outbox_due", ["status", "next_attempt_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_due")
        batch_op.drop_column("next_attempt_at")
