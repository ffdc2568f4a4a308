"""Officer's desk: per-user settings (notification channels, session generation,
notifications seen), read marks of files and receipts, and what each notification
is about (its item, catalogue key and parameters).

Revision ID: 0010_officer_desk
Revises: 0009_web_signin
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_officer_desk"
down_revision = "0011_harden_uploads"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "user_settings",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("notify_email", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("notify_sms", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("session_generation", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("notifications_seen_id", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("password_changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("user_id"),
    )
    op.create_table(
        "item_reads",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("user_id", "kind", "item_id"),
    )
    # the inbox pages by post, open state and arrival; the sent view by sender post
    op.create_index("ix_open_tasks_post_open", "open_tasks", ["post_id", "closed_at",
                                                              "received_at"])
    op.create_index("ix_movements_from_post", "movements", ["from_post_id", "sent_at"])
    op.create_index("ix_outbox_user_channel", "outbox", ["user_id", "channel", "id"])
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("item_kind", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("item_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("message_key", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("params", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        for column in ("params", "message_key", "item_id", "item_kind"):
            batch.drop_column(column)
    op.drop_index("ix_outbox_user_channel", table_name="outbox")
    op.drop_index("ix_movements_from_post", table_name="movements")
    op.drop_index("ix_open_tasks_post_open", table_name="open_tasks")
    op.drop_table("item_reads")
    op.drop_table("user_settings")
