"""Dak depth and people: receipt form, acknowledgement numbers, copies, paper location;
monitoring posts, additional charges, access grants, the audit log, and the search index
(SQLite FTS5 / PostgreSQL GIN over to_tsvector('simple', …)).

Revision ID: 0006_dak_people
Revises: 0004_documents
"""

import unicodedata
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0006_dak_people"
down_revision = "0004_documents"
branch_labels = None
depends_on = None

# unicode61 alone splits Devanagari words at every vowel sign (matra) and virama, because
# those are marks (M*), not letters; counting marks as word characters keeps words whole.
FTS_TOKENIZER = "unicode61 remove_diacritics 2 categories 'L* N* Co M*'"
SQLITE_FTS = [
    "CREATE VIRTUAL TABLE search_fts USING fts5(terms, content='search_docs', "
    f"content_rowid='id', tokenize=\"{FTS_TOKENIZER}\")",
    "CREATE TRIGGER search_docs_ai AFTER INSERT ON search_docs BEGIN "
    "INSERT INTO search_fts(rowid, terms) VALUES (new.id, new.terms); END",
    "CREATE TRIGGER search_docs_ad AFTER DELETE ON search_docs BEGIN "
    "INSERT INTO search_fts(search_fts, rowid, terms) VALUES ('delete', old.id, old.terms); END",
    "CREATE TRIGGER search_docs_au AFTER UPDATE ON search_docs BEGIN "
    "INSERT INTO search_fts(search_fts, rowid, terms) VALUES ('delete', old.id, old.terms); "
    "INSERT INTO search_fts(rowid, terms) VALUES (new.id, new.terms); END",
]
PG_INDEX = ("CREATE INDEX ix_search_docs_terms ON search_docs "
            "USING gin (to_tsvector('simple', terms))")


def upgrade() -> None:
    op.add_column("posts", sa.Column("monitors", sa.String(length=16), nullable=True))
    op.add_column("receipts", sa.Column("form", sa.String(length=16), nullable=False,
                                        server_default="physical"))
    op.add_column("receipts", sa.Column("ack_no", sa.String(length=64), nullable=True))
    op.add_column("receipts", sa.Column("paper_location", sa.String(length=200), nullable=True))
    op.add_column("receipts", sa.Column("copy_of_id", sa.Integer(), nullable=True))
    op.add_column("receipts", sa.Column("from_receipt_id", sa.Integer(), nullable=True))
    op.create_index("uq_receipts_ack_no", "receipts", ["ack_no"], unique=True)
    op.create_index("ix_receipts_copy_of_id", "receipts", ["copy_of_id"])
    op.add_column("movements", sa.Column("paper_location", sa.String(length=200), nullable=True))
    bind = op.get_bind()
    # Receipts that already carry a scan were electronic all along.
    bind.execute(sa.text("UPDATE receipts SET form = 'electronic' WHERE pdf_sha256 IS NOT NULL"))

    op.create_table(
        "additional_charges",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("post_id", sa.Integer(), sa.ForeignKey("posts.id"), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("granted_by", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_by", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
    )
    op.create_index("ix_additional_charges_user", "additional_charges", ["user_id", "ends_on"])
    op.create_index("ix_additional_charges_post_id", "additional_charges", ["post_id"])
    op.create_table(
        "access_grants",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("file_id", sa.Integer(), sa.ForeignKey("files.id"), nullable=True),
        sa.Column("receipt_id", sa.Integer(), sa.ForeignKey("receipts.id"), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("granted_by", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
    )
    op.create_index("ix_access_grants_user", "access_grants", ["user_id", "revoked_at"])
    op.create_index("ix_access_grants_file_id", "access_grants", ["file_id"])
    op.create_index("ix_access_grants_receipt_id", "access_grants", ["receipt_id"])
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    op.create_table(
        "search_docs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=200), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("sender", sa.Text(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("terms", sa.Text(), nullable=False),
        sa.UniqueConstraint("kind", "item_id"),
    )
    if bind.dialect.name == "sqlite":
        for statement in SQLITE_FTS:
            bind.execute(sa.text(statement))
    else:
        bind.execute(sa.text(PG_INDEX))
    _backfill(bind)


def words(value: str | None) -> list[str]:
    """Lower-cased words: runs of letters, digits and combining marks (matras, virama).
    A frozen copy of what the search index did when this migration was written, so later
    changes to the application cannot change (or break) this upgrade."""
    out: list[str] = []
    current: list[str] = []
    for ch in (value or "").lower():
        if unicodedata.category(ch)[0] in "LNM":
            current.append(ch)
        elif current:
            out.append("".join(current))
            current = []
    if current:
        out.append("".join(current))
    return out


def _doc(kind: str, item_id: int, number: str, subject: str, sender: str | None, body: str,
         extra: list[str | None]) -> dict[str, Any]:
    terms = " ".join(words(" ".join(filter(None, [number, subject, sender, body, *extra]))))
    return {"kind": kind, "item_id": item_id, "number": number, "subject": subject,
            "sender": sender, "body": body, "terms": terms}


def _backfill(bind: sa.engine.Connection) -> None:
    """Index what is already there: one document per file (number, subject, the text of
    its notes) and per receipt (diary number, subject, sender, letter reference)."""
    rows: list[dict[str, Any]] = []
    files = bind.execute(sa.text("SELECT id, file_no, subject FROM files ORDER BY id")).all()
    for file_id, number, subject in files:
        notes = bind.execute(sa.text(
            "SELECT text FROM notes WHERE file_id = :id ORDER BY para_no, id"),
            {"id": file_id}).scalars().all()
        rows.append(_doc("file", file_id, number, subject, None, "\n".join(notes), []))
    receipts = bind.execute(sa.text(
        "SELECT id, diary_no, subject, sender, letter_ref, ack_no FROM receipts ORDER BY id"))
    for rid, number, subject, sender, letter_ref, ack_no in receipts.all():
        rows.append(_doc("receipt", rid, number, subject, sender, "", [letter_ref, ack_no]))
    for row in rows:
        bind.execute(sa.text(
            "INSERT INTO search_docs (kind, item_id, number, subject, sender, body, terms) "
            "VALUES (:kind, :item_id, :number, :subject, :sender, :body, :terms)"), row)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for name in ("search_docs_ai", "search_docs_ad", "search_docs_au"):
            bind.execute(sa.text(f"DROP TRIGGER IF EXISTS {name}"))
        bind.execute(sa.text("DROP TABLE IF EXISTS search_fts"))
    op.drop_table("search_docs")
    op.drop_table("audit_log")
    op.drop_table("access_grants")
    op.drop_table("additional_charges")
    op.drop_column("movements", "paper_location")
    op.drop_index("ix_receipts_copy_of_id", "receipts")
    op.drop_index("uq_receipts_ack_no", "receipts")
    for column in ("from_receipt_id", "copy_of_id", "paper_location", "ack_no", "form"):
        op.drop_column("receipts", column)
    op.drop_column("posts", "monitors")
