"""The links between receipts the models declare: a copy names its original
(receipts.copy_of_id) and a receipt diarised from another names it (from_receipt_id).
Migration 0006 added both columns without their foreign keys. PostgreSQL gets them here;
SQLite cannot add a foreign key to an existing table without rebuilding it (and its
triggers), so there the application alone keeps these links, as it always has.

Revision ID: 0013_tests_receipt_links
Revises: 0010_officer_desk
"""

from alembic import op

revision = "0013_tests_receipt_links"
down_revision = "0010_admin_offices"
branch_labels = None
depends_on = None

LINKS = (("fk_receipts_copy_of_id", "copy_of_id"),
         ("fk_receipts_from_receipt_id", "from_receipt_id"))


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    for name, column in LINKS:
        op.create_foreign_key(name, "receipts", "receipts", [column], ["id"])


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    for name, _column in LINKS:
        op.drop_constraint(name, "receipts", type_="foreignkey")
