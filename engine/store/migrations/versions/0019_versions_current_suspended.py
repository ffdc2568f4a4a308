"""Versions under control: which deployed version of a process is current (new
instances start on it; rollback moves it) and which versions are suspended. The newest
version of each process starts out current, as it was before.

Revision ID: 0019_versions_current_suspended
Revises: 0018_cal_office_calendar
"""

import sqlalchemy as sa
from alembic import op

revision = "0019_versions_current_suspended"
down_revision = "0018_cal_office_calendar"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("process_definitions") as b:
        b.add_column(sa.Column("is_current", sa.Boolean(), nullable=False,
                               server_default=sa.false()))
        b.add_column(sa.Column("suspended", sa.Boolean(), nullable=False,
                               server_default=sa.false()))
    op.execute(
        "UPDATE process_definitions SET is_current = TRUE WHERE version = "
        "(SELECT MAX(p2.version) FROM process_definitions p2 "
        "WHERE p2.process_id = process_definitions.process_id)")


def downgrade() -> None:
    with op.batch_alter_table("process_definitions") as b:
        b.drop_column("suspended")
        b.drop_column("is_current")
