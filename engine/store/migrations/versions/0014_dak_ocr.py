"""Recognised text of stored PDFs (text layer or OCR) per page, and reading progress.

Revision ID: 0011_dak_ocr
Revises: 0010_dak_email
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_dak_ocr"
down_revision = "0010_dak_email"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "document_texts",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("pages_total", sa.Integer(), nullable=False),
        sa.Column("pages_done", sa.Integer(), nullable=False),
        sa.Column("ocr_pages", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["sha256"], ["documents.sha256"]),
        sa.PrimaryKeyConstraint("sha256"),
    )
    op.create_index("ix_document_texts_status", "document_texts", ["status"])
    op.create_table(
        "document_pages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("page_no", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["sha256"], ["documents.sha256"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("sha256", "page_no"),
    )
    op.create_index("ix_document_pages_sha256", "document_pages", ["sha256"])


def downgrade() -> None:
    op.drop_index("ix_document_pages_sha256", table_name="document_pages")
    op.drop_table("document_pages")
    op.drop_index("ix_document_texts_status", table_name="document_texts")
    op.drop_table("document_texts")
