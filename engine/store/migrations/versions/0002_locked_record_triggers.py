"""Database triggers that protect locked (approved) files and sealed notes.

The service layer refuses these changes too; the triggers make the refusal hold for
anyone with plain SQL access.

Revision ID: 0002_locked_triggers
Revises: 0001_initial
"""

from alembic import op

revision = "0002_locked_triggers"
down_revision = "0001_initial"
branch_labels = None
depends_on = None

LOCKED = "(SELECT locked FROM files WHERE id = {ref}.file_id)"
NOTE_CHANGED = (
    "NEW.text IS NOT OLD.text OR NEW.para_no IS NOT OLD.para_no OR "
    "NEW.file_id IS NOT OLD.file_id OR NEW.author_id IS NOT OLD.author_id OR "
    "NEW.author_post_id IS NOT OLD.author_post_id OR NEW.created_at IS NOT OLD.created_at OR "
    "NEW.sealed IS NOT OLD.sealed"
)
FILE_CHANGED = (
    "NOT NEW.locked OR NEW.file_no IS NOT OLD.file_no OR NEW.subject IS NOT OLD.subject OR "
    "NEW.locked_at IS NOT OLD.locked_at OR NEW.approved_by IS NOT OLD.approved_by OR "
    "NEW.head IS NOT OLD.head OR NEW.section_id IS NOT OLD.section_id"
)

SQLITE_TRIGGERS = {
    "notes_locked_insert": f"BEFORE INSERT ON notes WHEN {LOCKED.format(ref='NEW')} "
    "BEGIN SELECT RAISE(ABORT, 'file is locked: notes are read-only'); END",
    "notes_locked_update": f"BEFORE UPDATE ON notes WHEN {LOCKED.format(ref='OLD')} "
    f"OR (OLD.sealed AND ({NOTE_CHANGED})) "
    "BEGIN SELECT RAISE(ABORT, 'note is read-only (sealed or file locked)'); END",
    "notes_locked_delete": f"BEFORE DELETE ON notes WHEN {LOCKED.format(ref='OLD')} OR OLD.sealed "
    "BEGIN SELECT RAISE(ABORT, 'note is read-only (sealed or file locked)'); END",
    "corr_locked_insert": f"BEFORE INSERT ON correspondence WHEN {LOCKED.format(ref='NEW')} "
    "BEGIN SELECT RAISE(ABORT, 'file is locked: correspondence is read-only'); END",
    "corr_locked_update": f"BEFORE UPDATE ON correspondence WHEN {LOCKED.format(ref='OLD')} "
    "BEGIN SELECT RAISE(ABORT, 'file is locked: correspondence is read-only'); END",
    "corr_locked_delete": f"BEFORE DELETE ON correspondence WHEN {LOCKED.format(ref='OLD')} "
    "BEGIN SELECT RAISE(ABORT, 'file is locked: correspondence is read-only'); END",
    "files_locked_update": f"BEFORE UPDATE ON files WHEN OLD.locked AND ({FILE_CHANGED}) "
    "BEGIN SELECT RAISE(ABORT, 'file is locked'); END",
    "files_locked_delete": "BEFORE DELETE ON files WHEN OLD.locked "
    "BEGIN SELECT RAISE(ABORT, 'file is locked'); END",
}

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
  IF TG_OP = 'UPDATE' AND OLD.sealed AND ({NOTE_CHANGED.replace(' IS NOT ', ' IS DISTINCT FROM ')}) THEN
    RAISE EXCEPTION 'note is read-only (sealed)' USING ERRCODE = 'check_violation';
  END IF;
  IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION sanchika_guard_correspondence() RETURNS trigger AS $$
DECLARE fid integer;
BEGIN
  IF TG_OP = 'INSERT' THEN fid := NEW.file_id; ELSE fid := OLD.file_id; END IF;
  IF (SELECT locked FROM files WHERE id = fid) THEN
    RAISE EXCEPTION 'file is locked: correspondence is read-only' USING ERRCODE = 'check_violation';
  END IF;
  IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION sanchika_guard_files() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'DELETE' AND OLD.locked THEN
    RAISE EXCEPTION 'file is locked' USING ERRCODE = 'check_violation';
  END IF;
  IF TG_OP = 'UPDATE' AND OLD.locked AND ({FILE_CHANGED.replace(' IS NOT ', ' IS DISTINCT FROM ')}) THEN
    RAISE EXCEPTION 'file is locked' USING ERRCODE = 'check_violation';
  END IF;
  IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql;
"""

PG_TRIGGERS = {
    "notes_guard": "BEFORE INSERT OR UPDATE OR DELETE ON notes "
    "FOR EACH ROW EXECUTE FUNCTION sanchika_guard_notes()",
    "correspondence_guard": "BEFORE INSERT OR UPDATE OR DELETE ON correspondence "
    "FOR EACH ROW EXECUTE FUNCTION sanchika_guard_correspondence()",
    "files_guard": "BEFORE UPDATE OR DELETE ON files "
    "FOR EACH ROW EXECUTE FUNCTION sanchika_guard_files()",
}


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for name, body in SQLITE_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {body}")
    elif dialect == "postgresql":
        op.execute(PG_FUNCTIONS)
        for name, body in PG_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {body}")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    elif dialect == "postgresql":
        for name, body in PG_TRIGGERS.items():
            table = body.split(" ON ")[1].split()[0]
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
        for fn in ("sanchika_guard_notes", "sanchika_guard_correspondence", "sanchika_guard_files"):
            op.execute(f"DROP FUNCTION IF EXISTS {fn}()")
