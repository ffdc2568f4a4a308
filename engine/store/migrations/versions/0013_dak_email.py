"""E-mail diarisation: mailbox cursors, taken mails (pending e-mail receipts), attachments.

Revision ID: 0010_dak_email
Revises: 0009_web_signin
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_dak_email"
down_revision = "0010_officer_desk"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mailbox_cursors",
        sa.Column("mailbox", sa.String(length=100), nullable=False),
        sa.Column("uidvalidity", sa.BigInteger(), nullable=False),
        sa.Column("last_uid", sa.BigInteger(), nullable=False),
        sa.Column("polled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("taken", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("mailbox"),
    )
    op.create_table(
        "email_receipts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mailbox", sa.String(length=100), nullable=False),
        sa.Column("uidvalidity", sa.BigInteger(), nullable=False),
        sa.Column("uid", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.String(length=500), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("sender", sa.String(length=300), nullable=False),
        sa.Column("sender_address", sa.String(length=300), nullable=True),
        sa.Column("subject", sa.String(length=500), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("eml_sha256", sa.String(length=64), nullable=False),
        sa.Column("eml_size", sa.Integer(), nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("remark", sa.Text(), nullable=True),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("receipt_id", sa.Integer(), nullable=True),
        sa.Column("marked", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["post_id"], ["posts.id"]),
        sa.ForeignKeyConstraint(["decided_by"], ["users.id"]),
        sa.ForeignKeyConstraint(["receipt_id"], ["receipts.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("mailbox", "message_id", name="uq_email_message"),
        sa.UniqueConstraint("mailbox", "uidvalidity", "uid", name="uq_email_uid"),
    )
    op.create_index("ix_email_receipts_post_id", "email_receipts", ["post_id"])
    op.create_index("ix_email_receipts_status", "email_receipts", ["status"])
    op.create_table(
        "email_attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("is_pdf", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["email_id"], ["email_receipts.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("email_id", "position"),
    )
    op.create_index("ix_email_attachments_email_id", "email_attachments", ["email_id"])


def downgrade() -> None:
    op.drop_index("ix_email_attachments_email_id", table_name="email_attachments")
    op.drop_table("email_attachments")
    op.drop_index("ix_email_receipts_status", table_name="email_receipts")
    op.drop_index("ix_email_receipts_post_id", table_name="email_receipts")
    op.drop_table("email_receipts")
    op.drop_table("mailbox_cursors")
