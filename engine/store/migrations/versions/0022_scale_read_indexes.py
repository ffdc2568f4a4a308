"""Indexes every read at state scale needs (a million files): the open tasks of a file or
receipt, an item's instances, the movements to a post, files by creator, users by post;
partial indexes where only live rows are read (pending timers, warnings of open tasks)
instead of full ones that grow with every fired timer and closed task; and, on PostgreSQL,
the search document's vector stored (kept by a trigger) and GIN-indexed, so matching and
ranking read it instead of re-parsing every matching document's text.

Revision ID: 0022_scale_read_indexes
Revises: 0021_passkey_webauthn
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0022_scale_read_indexes"
down_revision = "0021_passkey_webauthn"
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
    ("ix_files_created_at", "files", ["created_at", "section_id"]),
    ("ix_search_docs_number", "search_docs", ["number"]),
)
PENDING = "status = 'pending'"
LATE = "closed_at > due_at"
OPEN = "closed_at IS NULL"
PG_VECTOR = [
    "CREATE OR REPLACE FUNCTION sanchika_search_vector() RETURNS trigger AS $$ "
    "BEGIN NEW.vector := to_tsvector('simple', NEW.terms); RETURN NEW; END "
    "$$ LANGUAGE plpgsql",
    "CREATE TRIGGER search_docs_vector BEFORE INSERT OR UPDATE OF terms ON search_docs "
    "FOR EACH ROW EXECUTE FUNCTION sanchika_search_vector()",
    "UPDATE search_docs SET vector = to_tsvector('simple', terms)",
    "CREATE INDEX ix_search_docs_vector ON search_docs USING gin (vector)",
    "DROP INDEX IF EXISTS ix_search_docs_terms",
]
WARNING = "closed_at IS NULL AND warn_at IS NOT NULL"


def upgrade() -> None:
    for name, table, columns in PLAIN:
        op.create_index(name, table, columns)
    op.create_index("ix_open_tasks_late", "open_tasks", ["closed_at"],
                    sqlite_where=sa.text(LATE), postgresql_where=sa.text(LATE))
    # the inbox index also carries received_at: pendency per post from the index alone
    op.drop_index("ix_open_tasks_inbox", table_name="open_tasks")
    op.create_index("ix_open_tasks_inbox", "open_tasks", ["post_id", "due_at", "received_at"],
                    sqlite_where=sa.text(OPEN), postgresql_where=sa.text(OPEN))
    op.drop_index("ix_timers_due_at", table_name="timers")
    op.create_index("ix_timers_pending_due", "timers", ["due_at"],
                    sqlite_where=sa.text(PENDING), postgresql_where=sa.text(PENDING))
    op.drop_index("ix_open_tasks_warn_at", table_name="open_tasks")
    op.create_index("ix_open_tasks_warning", "open_tasks", ["warn_at"],
                    sqlite_where=sa.text(WARNING), postgresql_where=sa.text(WARNING))
    if op.get_bind().dialect.name == "postgresql":
        op.add_column("search_docs", sa.Column("vector", postgresql.TSVECTOR(), nullable=True))
        for statement in PG_VECTOR:
            op.execute(statement)
        # planner statistics for the new indexes' columns before the first busy hour
        op.execute("ANALYZE")
    else:  # SQLite's FTS5 table indexes terms; the column stays empty
        op.add_column("search_docs", sa.Column("vector", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_index("ix_open_tasks_late", table_name="open_tasks")
    op.drop_index("ix_open_tasks_inbox", table_name="open_tasks")
    op.create_index("ix_open_tasks_inbox", "open_tasks", ["post_id", "due_at"],
                    sqlite_where=sa.text(OPEN), postgresql_where=sa.text(OPEN))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS search_docs_vector ON search_docs")
        op.execute("DROP FUNCTION IF EXISTS sanchika_search_vector()")
        op.execute("CREATE INDEX ix_search_docs_terms ON search_docs "
                   "USING gin (to_tsvector('simple', terms))")
    with op.batch_alter_table("search_docs") as batch:
        batch.drop_column("vector")
    op.drop_index("ix_open_tasks_warning", table_name="open_tasks")
    op.create_index("ix_open_tasks_warn_at", "open_tasks", ["warn_at"])
    op.drop_index("ix_timers_pending_due", table_name="timers")
    op.create_index("ix_timers_due_at", "timers", ["due_at"])
    for name, table, _columns in reversed(PLAIN):
        op.drop_index(name, table_name=table)
