"""Two marks on each file that spare every action work on its notes: the last paragraph
number written (`last_para_no`: the next note's number without a MAX over the notes) and
the paragraph up to which the notes are sealed (`sealed_para_no`). A file whose notes are
all sealed moves on without an UPDATE of its note rows. `notes.sealed` stays the truth
(the sealed-note triggers read it); the marks only say when there is nothing to seal.

Revision ID: 0023_hotpath_note_marks
Revises: 0022_scale_read_indexes
"""

import sqlalchemy as sa
from alembic import op

revision = "0023_hotpath_note_marks"
down_revision = "0022_scale_read_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("files", sa.Column("last_para_no", sa.Integer(), nullable=False,
                                     server_default="0"))
    op.add_column("files", sa.Column("sealed_para_no", sa.Integer(), nullable=False,
                                     server_default="0"))
    # files that have notes: the last paragraph, and sealed through it unless any is not
    op.execute("UPDATE files SET last_para_no = COALESCE("
               "(SELECT MAX(notes.para_no) FROM notes WHERE notes.file_id = files.id), 0)")
    op.execute("UPDATE files SET sealed_para_no = CASE WHEN EXISTS (SELECT 1 FROM notes "
               "WHERE notes.file_id = files.id AND NOT notes.sealed) THEN 0 "
               "ELSE last_para_no END")


def downgrade() -> None:
    with op.batch_alter_table("files") as batch:
        batch.drop_column("sealed_para_no")
        batch.drop_column("last_para_no")
