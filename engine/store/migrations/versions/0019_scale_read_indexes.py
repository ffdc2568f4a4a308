"""Indexes every read at state scale needs (a million files): the open tasks of a file or
receipt, an item's instances, the movements to a post, files by creator, users by post;
and partial indexes where only live rows are read (pending timers, warnings of open tasks)
instead of full ones that grow with every fired timer and closed task.

Revision ID: 0019_scale_read_indexes
Revises: 0018_cal_office_calendar
"""

import sqlalchemy as sa
from alembic import op

revision = "0019_scale_read_indexes"
down_revision = "0018_cal_office_calendar"
branch_labels = None
depends_on = None

PLAIN = (
    ("ix_open_tasks_file_id", "open_tasks", ["file_id"]),
    ("ix_open_tasks_receipt_id", "open_tasks", ["receipt_id"]),
    ("ix_instances_subject", "instances", ["subject_kind", "subject_id"]),
    ("ix_movements_to_post", "movements", ["to_post_id", "sent_at"]),
    ("ix_files_creator_post_id", "files", ["creator_post_id"]),
    ("ix_users_post_id", "users", ["post_id"]),
    ("ix_receipts_diarised_post_id", "receipts", ["diarised_post_id"]),
    ("ix_receipts_file_id", "receipts", ["file_id"]),
    ("ix_files_created_at", "files", ["created_at"]),
)
PENDING = "status = 'pending'"
WARNING = "closed_at IS NULL AND warn_at IS NOT NULL"


def upgrade() -> None:
    for name, table, columns in PLAIN:
        op.create_index(name, table, columns)
    op.drop_index("ix_timers_due_at", table_name="timers")
    op.create_index("ix_timers_pending_due", "timers", ["due_at"],
                    sqlite_where=sa.text(PENDING), postgresql_where=sa.text(PENDING))
    op.drop_index("ix_open_tasks_warn_at", table_name="open_tasks")
    op.create_index("ix_open_tasks_warning", "open_tasks", ["warn_at"],
                    sqlite_where=sa.text(WARNING), postgresql_where=sa.text(WARNING))
    if op.get_bind().dialect.name == "postgresql":
        # planner statistics for the new indexes' columns before the first busy hour
        op.execute("ANALYZE")


def downgrade() -> None:
    op.drop_index("ix_open_tasks_warning", table_name="open_tasks")
    op.create_index("ix_open_tasks_warn_at", "open_tasks", ["warn_at"])
    op.drop_index("ix_timers_pending_due", table_name="timers")
    op.create_index("ix_timers_due_at", "timers", ["due_at"])
    for name, table, _columns in reversed(PLAIN):
        op.drop_index(name, table_name=table)
