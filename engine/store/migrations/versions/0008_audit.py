"""Audit trail: checkpoints over every history chain, users' signing keys, signed
approvals; append-only triggers on history, checkpoints, keys and signatures; receipts
held in a locked file's correspondence become read-only. (Drafts and their versions are
guarded by 0007_file_depth.)

Revision ID: 0008_audit
Revises: 0005_sla_rules
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_audit"
down_revision = "0005_sla_rules"
branch_labels = None
depends_on = None

APPEND_ONLY = ("history_events", "checkpoints", "checkpoint_heads", "user_keys",
               "approval_signatures")

RECEIPT_IN_LOCKED_FILE = (
    "EXISTS (SELECT 1 FROM correspondence c JOIN files f ON f.id = c.file_id "
    "WHERE c.receipt_id = OLD.id AND f.locked)")
RECEIPT_CHANGED = (
    "NEW.diary_no IS NOT OLD.diary_no OR NEW.section_id IS NOT OLD.section_id OR "
    "NEW.sender IS NOT OLD.sender OR NEW.subject IS NOT OLD.subject OR "
    "NEW.mode IS NOT OLD.mode OR NEW.category IS NOT OLD.category OR "
    "NEW.letter_ref IS NOT OLD.letter_ref OR NEW.letter_date IS NOT OLD.letter_date OR "
    "NEW.language IS NOT OLD.language OR NEW.grading IS NOT OLD.grading OR "
    "NEW.received_at IS NOT OLD.received_at OR NEW.diarised_by IS NOT OLD.diarised_by OR "
    "NEW.diarised_post_id IS NOT OLD.diarised_post_id OR NEW.pdf_sha256 IS NOT OLD.pdf_sha256 OR "
    "NEW.file_id IS NOT OLD.file_id"
)

def _sqlite_triggers() -> dict[str, str]:
    triggers = {}
    for table in APPEND_ONLY:
        for op_name in ("UPDATE", "DELETE"):
            triggers[f"{table}_no_{op_name.lower()}"] = (
                f"BEFORE {op_name} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END")
    triggers["receipts_locked_update"] = (
        f"BEFORE UPDATE ON receipts WHEN {RECEIPT_IN_LOCKED_FILE} AND ({RECEIPT_CHANGED}) "
        "BEGIN SELECT RAISE(ABORT, 'receipt is part of a locked file: read-only'); END")
    triggers["receipts_locked_delete"] = (
        f"BEFORE DELETE ON receipts WHEN {RECEIPT_IN_LOCKED_FILE} "
        "BEGIN SELECT RAISE(ABORT, 'receipt is part of a locked file: read-only'); END")
    return triggers


PG_FUNCTIONS = f"""
CREATE OR REPLACE FUNCTION sanchika_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'check_violation';
END $$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION sanchika_guard_receipts() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    IF {RECEIPT_IN_LOCKED_FILE} THEN
      RAISE EXCEPTION 'receipt is part of a locked file: read-only'
        USING ERRCODE = 'check_violation';
    END IF;
    RETURN OLD;
  END IF;
  IF ({RECEIPT_CHANGED.replace(' IS NOT ', ' IS DISTINCT FROM ')}) AND {RECEIPT_IN_LOCKED_FILE} THEN
    RAISE EXCEPTION 'receipt is part of a locked file: read-only'
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql;

"""


def _pg_triggers() -> dict[str, str]:
    triggers = {f"{table}_append_only": f"BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION sanchika_append_only()" for table in APPEND_ONLY}
    triggers["receipts_guard"] = ("BEFORE UPDATE OR DELETE ON receipts "
                                  "FOR EACH ROW EXECUTE FUNCTION sanchika_guard_receipts()")
    return triggers


def upgrade() -> None:
    op.create_table(
        "checkpoints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("instances", sa.Integer(), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("root", sa.String(length=64), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("mac", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("seq"),
    )
    op.create_table(
        "checkpoint_heads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("checkpoint_id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("event_count", sa.Integer(), nullable=False),
        sa.Column("head_hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["checkpoint_id"], ["checkpoints.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("checkpoint_id", "instance_id"),
    )
    op.create_index("ix_checkpoint_heads_instance", "checkpoint_heads",
                    ["instance_id", "event_count"])
    op.create_table(
        "user_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("public_pem", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key_id"),
    )
    op.create_index("ix_user_keys_user_id", "user_keys", ["user_id"])
    op.create_table(
        "approval_signatures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("signature", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["file_id"], ["files.id"]),
        sa.ForeignKeyConstraint(["instance_id"], ["instances.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_approval_signatures_file_id", "approval_signatures", ["file_id"])

    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for name, body in _sqlite_triggers().items():
            op.execute(f"CREATE TRIGGER {name} {body}")
    elif dialect == "postgresql":
        op.execute(PG_FUNCTIONS)
        for name, body in _pg_triggers().items():
            op.execute(f"CREATE TRIGGER {name} {body}")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for name in _sqlite_triggers():
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    elif dialect == "postgresql":
        for name, body in _pg_triggers().items():
            table = body.split(" ON ")[1].split()[0]
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
        for fn in ("sanchika_append_only", "sanchika_guard_receipts"):
            op.execute(f"DROP FUNCTION IF EXISTS {fn}()")
    op.drop_table("approval_signatures")
    op.drop_table("user_keys")
    op.drop_index("ix_checkpoint_heads_instance", table_name="checkpoint_heads")
    op.drop_table("checkpoint_heads")
    op.drop_table("checkpoints")
