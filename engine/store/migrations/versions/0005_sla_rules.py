"""Time limits: SLA rules, working calendar, holidays, the scheduler lease, and on open
tasks the late reason and the due-soon warning time.

Revision ID: 0005_sla_rules
Revises: 0007_file_depth
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_sla_rules"
down_revision = "0007_file_depth"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sla_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("task_spec", sa.String(length=128), nullable=True),
        sa.Column("priority", sa.String(length=16), nullable=True),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("unit", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["department_id"], ["departments.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_sla_rules_department_id", "sla_rules", ["department_id"])
    op.create_table(
        "holidays",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("day"),
    )
    op.create_table(
        "work_calendar",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("weekend", sa.String(length=16), nullable=False),
        sa.Column("day_start", sa.String(length=5), nullable=False),
        sa.Column("day_end", sa.String(length=5), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "scheduler_lease",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=200), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    with op.batch_alter_table("open_tasks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("warn_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_open_tasks_warn_at", ["warn_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("open_tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_open_tasks_warn_at")
        batch_op.drop_column("warn_at")
        batch_op.drop_column("reason")
    op.drop_table("scheduler_lease")
    op.drop_table("work_calendar")
    op.drop_table("holidays")
    op.drop_index("ix_sla_rules_department_id", table_name="sla_rules")
    op.drop_table("sla_rules")
