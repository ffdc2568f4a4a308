"""Visibility's id lookups from the index alone (PostgreSQL): the indexes by which an
officer's files and receipts are found (movements from and to a post, files by creator and
holder, receipts by diarising post, holder and file) carry the ids they return as INCLUDE
columns. Search as an officer reads every item of the officer's chain; at a million files
that was one heap page per movement and per item, most of the query's time.

SQLite: nothing to do (an index there holds the rowid, which is the id); the movements'
item ids are read from the table as before.

Revision ID: 0025_search_covering_ix
Revises: 0024_retention_verify_marks
"""

from alembic import op

revision = "0025_search_covering_ix"
down_revision = "0024_retention_verify_marks"
branch_labels = None
depends_on = None

# (index, table, key columns, included columns)
COVERING = (
    ("ix_movements_from_post", "movements", ["from_post_id", "sent_at"],
     ["file_id", "receipt_id"]),
    ("ix_movements_to_post", "movements", ["to_post_id", "sent_at"], ["file_id", "receipt_id"]),
    ("ix_files_creator_post_id", "files", ["creator_post_id"], ["id"]),
    ("ix_files_holder_post_id", "files", ["holder_post_id"], ["id"]),
    ("ix_receipts_diarised_post_id", "receipts", ["diarised_post_id"], ["id"]),
    ("ix_receipts_holder_post_id", "receipts", ["holder_post_id"], ["id"]),
    ("ix_receipts_file_id", "receipts", ["file_id"], ["id"]),
)


def _remake(include: bool) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, table, columns, extra in COVERING:
        op.drop_index(name, table_name=table)
        op.create_index(name, table, columns, postgresql_include=extra if include else [])
    # the planner's statistics for the new indexes (autovacuum keeps the visibility map that
    # index-only scans read)
    op.execute("ANALYZE movements")
    op.execute("ANALYZE files")
    op.execute("ANALYZE receipts")


def upgrade() -> None:
    _remake(True)


def downgrade() -> None:
    _remake(False)
