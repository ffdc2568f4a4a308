"""Files in depth: subject heads, file kind, part files, park, digitising, yellow notes,
note references, drafts for approval with versions, dispatch register, file links,
scanned note sheets; triggers for drafts, the note reference, and reopening.

Columns are added without batch mode on SQLite: a batch rebuild would drop the triggers
of migration 0002.

Revision ID: 0007_file_depth
Revises: 0006_dak_people
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_file_depth"
down_revision = "0006_dak_people"
branch_labels = None
depends_on = None

LOCKED = "(SELECT locked FROM files WHERE id = {ref}.file_id)"
NOTE_CHANGED = (
    "NEW.text IS NOT OLD.text OR NEW.para_no IS NOT OLD.para_no OR "
    "NEW.file_id IS NOT OLD.file_id OR NEW.author_id IS NOT OLD.author_id OR "
    "NEW.author_post_id IS NOT OLD.author_post_id OR NEW.created_at IS NOT OLD.created_at OR "
    "NEW.sealed IS NOT OLD.sealed OR NEW.ref_correspondence_id IS NOT OLD.ref_correspondence_id"
)
# A locked file stays locked, except when an approved reopening turns it from closed to open.
FILE_CHANGED = (
    "(NOT NEW.locked AND NOT (OLD.status = 'closed' AND NEW.status = 'open')) OR "
    "NEW.file_no IS NOT OLD.file_no OR NEW.subject IS NOT OLD.subject OR "
    "NEW.locked_at IS NOT OLD.locked_at OR NEW.approved_by IS NOT OLD.approved_by OR "
    "NEW.head IS NOT OLD.head OR NEW.section_id IS NOT OLD.section_id"
)
DRAFT_CHANGED = (
    "NEW.subject IS NOT OLD.subject OR NEW.addressee IS NOT OLD.addressee OR "
    "NEW.version IS NOT OLD.version OR NEW.file_id IS NOT OLD.file_id"
)

OLD_SQLITE = {  # from 0002, replaced here
    "notes_locked_update": "BEFORE UPDATE ON notes WHEN {locked} "
    "OR (OLD.sealed AND ({changed})) "
    "BEGIN SELECT RAISE(ABORT, 'note is read-only (sealed or file locked)'); END",
    "files_locked_update": "BEFORE UPDATE ON files WHEN OLD.locked AND ({file_changed}) "
    "BEGIN SELECT RAISE(ABORT, 'file is locked'); END",
}

SQLITE_NEW = {
    "draft_versions_insert": f"BEFORE INSERT ON draft_versions WHEN {LOCKED.format(ref='NEW')} "
    "OR (SELECT status FROM drafts WHERE id = NEW.draft_id) <> 'draft' "
    "BEGIN SELECT RAISE(ABORT, 'draft is read-only (approved, or the file is locked)'); END",
    "draft_versions_update": "BEFORE UPDATE ON draft_versions "
    "BEGIN SELECT RAISE(ABORT, 'draft versions are never changed'); END",
    "draft_versions_delete": "BEFORE DELETE ON draft_versions "
    "BEGIN SELECT RAISE(ABORT, 'draft versions are never deleted'); END",
    "drafts_locked_update": f"BEFORE UPDATE ON drafts WHEN ({LOCKED.format(ref='OLD')} "
    f"OR OLD.status <> 'draft') AND ({DRAFT_CHANGED}) "
    "BEGIN SELECT RAISE(ABORT, 'draft is read-only (approved, or the file is locked)'); END",
    "drafts_locked_delete": f"BEFORE DELETE ON drafts WHEN {LOCKED.format(ref='OLD')} "
    "OR OLD.status <> 'draft' "
    "BEGIN SELECT RAISE(ABORT, 'draft is read-only (approved, or the file is locked)'); END",
}


def _pg(expr: str) -> str:
    return expr.replace(" IS NOT ", " IS DISTINCT FROM ")


PG_FUNCTIONS = f"""
CREATE OR REPLACE FUNCTION sanchika_guard_notes() RETURNS trigger AS $$
DECLARE fid integer;
BEGIN
  IF TG_OP = 'INSERT' THEN fid := NEW.file_id; ELSE fid := OLD.file_id; END IF;
  IF (SELECT locked FROM files WHERE id = fid) THEN
    RAISE EXCEPTION 'file is locked: notes are read-only' USING ERRCODE = 'check_violation';
  END IF;
  IF TG_OP = 'DELETE' AND OLD.sealed THEN
    RAISE EXCEPTION 'note is read-only (sealed)' USING ERRCODE = 'check_violation';
  END IF;
  IF TG_OP = 'UPDATE' AND OLD.sealed AND ({_pg(NOTE_CHANGED)}) THEN
    RAISE EXCEPTION 'note is read-only (sealed)' USING ERRCODE = 'check_violation';
  END IF;
  IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION sanchika_guard_files() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'DELETE' AND OLD.locked THEN
    RAISE EXCEPTION 'file is locked' USING ERRCODE = 'check_violation';
  END IF;
  IF TG_OP = 'UPDATE' AND OLD.locked AND ({_pg(FILE_CHANGED)}) THEN
    RAISE EXCEPTION 'file is locked' USING ERRCODE = 'check_violation';
  END IF;
  IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION sanchika_guard_draft_versions() RETURNS trigger AS $$
BEGIN
  IF TG_OP <> 'INSERT' THEN
    RAISE EXCEPTION 'draft versions are never changed' USING ERRCODE = 'check_violation';
  END IF;
  IF (SELECT locked FROM files WHERE id = NEW.file_id)
     OR (SELECT status FROM drafts WHERE id = NEW.draft_id) <> 'draft' THEN
    RAISE EXCEPTION 'draft is read-only (approved, or the file is locked)'
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION sanchika_guard_drafts() RETURNS trigger AS $$
BEGIN
  IF ((SELECT locked FROM files WHERE id = OLD.file_id) OR OLD.status <> 'draft')
     AND (TG_OP = 'DELETE' OR ({_pg(DRAFT_CHANGED)})) THEN
    RAISE EXCEPTION 'draft is read-only (approved, or the file is locked)'
      USING ERRCODE = 'check_violation';
  END IF;
  IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql;
"""

PG_TRIGGERS = {
    "draft_versions_guard": "BEFORE INSERT OR UPDATE OR DELETE ON draft_versions "
    "FOR EACH ROW EXECUTE FUNCTION sanchika_guard_draft_versions()",
    "drafts_guard": "BEFORE UPDATE OR DELETE ON drafts "
    "FOR EACH ROW EXECUTE FUNCTION sanchika_guard_drafts()",
}


def _tables() -> None:
    op.create_table(
        "subject_heads",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("department_id", sa.Integer(), sa.ForeignKey("departments.id"), nullable=False),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("department_id", "code"),
    )
    op.create_table(
        "yellow_notes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("file_id", sa.Integer(), sa.ForeignKey("files.id"), nullable=False, index=True),
        sa.Column("author_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False,
                  index=True),
        sa.Column("author_post_id", sa.Integer(), sa.ForeignKey("posts.id"), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("ref_correspondence_id", sa.Integer(), sa.ForeignKey("correspondence.id"),
                  nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "drafts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("file_id", sa.Integer(), sa.ForeignKey("files.id"), nullable=False, index=True),
        sa.Column("subject", sa.String(500), nullable=False),
        sa.Column("addressee", sa.String(300), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("created_post_id", sa.Integer(), sa.ForeignKey("posts.id"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("approved_by", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "draft_versions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("draft_id", sa.Integer(), sa.ForeignKey("drafts.id"), nullable=False,
                  index=True),
        sa.Column("file_id", sa.Integer(), sa.ForeignKey("files.id"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("author_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("draft_id", "version"),
    )
    op.create_table(
        "dispatches",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("draft_id", sa.Integer(), sa.ForeignKey("drafts.id"), nullable=False,
                  index=True),
        sa.Column("file_id", sa.Integer(), sa.ForeignKey("files.id"), nullable=False, index=True),
        sa.Column("dispatch_no", sa.String(64), nullable=False, unique=True),
        sa.Column("dispatch_date", sa.String(10), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("addressee", sa.String(300), nullable=False),
        sa.Column("draft_version", sa.Integer(), nullable=False),
        sa.Column("dispatched_by", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("dispatched_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "file_links",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("file_id", sa.Integer(), sa.ForeignKey("files.id"), nullable=False, index=True),
        sa.Column("other_file_id", sa.Integer(), sa.ForeignKey("files.id"), nullable=False,
                  index=True),
        sa.Column("linked_by", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("file_id", "other_file_id"),
    )
    op.create_table(
        "file_documents",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("file_id", sa.Integer(), sa.ForeignKey("files.id"), nullable=False, index=True),
        sa.Column("sha256", sa.String(64), sa.ForeignKey("documents.sha256"), nullable=False,
                  index=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("added_by", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("file_id", "sha256"),
    )


def _fk_column(table: str, name: str, target: str) -> None:
    """A nullable integer column referencing target(id). SQLite cannot ALTER in a
    constraint, but takes a REFERENCES clause on ADD COLUMN."""
    if op.get_bind().dialect.name == "sqlite":
        ref_table, ref_col = target.split(".")
        op.execute(f"ALTER TABLE {table} ADD COLUMN {name} INTEGER "
                   f"REFERENCES {ref_table}({ref_col})")
    else:
        op.add_column(table, sa.Column(name, sa.Integer(), sa.ForeignKey(target), nullable=True))


def _columns() -> None:
    add = op.add_column
    add("files", sa.Column("kind", sa.String(16), nullable=False, server_default="electronic"))
    _fk_column("files", "parent_file_id", "files.id")
    add("files", sa.Column("part_no", sa.Integer(), nullable=True))
    add("files", sa.Column("parked_at", sa.DateTime(timezone=True), nullable=True))
    _fk_column("files", "parked_by", "users.id")
    _fk_column("files", "digitised_by", "users.id")
    add("files", sa.Column("digitised_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_files_parent_file_id", "files", ["parent_file_id"])
    _fk_column("notes", "ref_correspondence_id", "correspondence.id")
    add("open_tasks", sa.Column("parked", sa.Boolean(), nullable=False,
                                server_default=sa.false()))


def upgrade() -> None:
    _tables()
    _columns()
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for name, body in OLD_SQLITE.items():
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
            op.execute(f"CREATE TRIGGER {name} " + body.format(
                locked=LOCKED.format(ref="OLD"), changed=NOTE_CHANGED,
                file_changed=FILE_CHANGED))
        for name, body in SQLITE_NEW.items():
            op.execute(f"CREATE TRIGGER {name} {body}")
    elif dialect == "postgresql":
        op.execute(PG_FUNCTIONS)
        for name, body in PG_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {body}")


def downgrade() -> None:
    raise NotImplementedError("0007_file_depth is not reversible; restore a backup instead")
