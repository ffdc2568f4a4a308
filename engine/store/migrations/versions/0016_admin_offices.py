"""Offices above sections, department retirement, password-reset codes, weekly reviews,
e-mail attachments.

Revision ID: 0010_admin_offices
Revises: 0012_dak_exchange
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_admin_offices"
down_revision = "0012_dak_exchange"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "offices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["department_id"], ["departments.id"]),
        sa.ForeignKeyConstraint(["parent_id"], ["offices.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    op.create_index("ix_offices_department_id", "offices", ["department_id"])
    op.create_index("ix_offices_parent_id", "offices", ["parent_id"])
    with op.batch_alter_table("departments") as batch:
        batch.add_column(sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("sections") as batch:
        batch.add_column(sa.Column("office_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_sections_office_id", "offices", ["office_id"], ["id"])
        batch.create_index("ix_sections_office_id", ["office_id"])
    op.create_table(
        "password_resets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=256), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_password_resets_user_id", "password_resets", ["user_id"])
    op.create_table(
        "weekly_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("week_start", sa.Date(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("made_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("pdf", sa.LargeBinary(), nullable=False),
        sa.Column("pages", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["post_id"], ["posts.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("week_start", "post_id"),
    )
    op.create_index("ix_weekly_reviews_week_start", "weekly_reviews", ["week_start"])
    op.create_table(
        "outbox_attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["outbox_id"], ["outbox.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_outbox_attachments_outbox_id", "outbox_attachments", ["outbox_id"])


def downgrade() -> None:
    op.drop_table("outbox_attachments")
    op.drop_table("weekly_reviews")
    op.drop_table("password_resets")
    with op.batch_alter_table("sections") as batch:
        batch.drop_index("ix_sections_office_id")
        batch.drop_constraint("fk_sections_office_id", type_="foreignkey")
        batch.drop_column("office_id")
    with op.batch_alter_table("departments") as batch:
        batch.drop_column("retired_at")
    op.drop_table("offices")
