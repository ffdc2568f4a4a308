"""Each receipt keeps its own upload name for its scan (identical scans share one stored
document).

Revision ID: 0011_harden_uploads
Revises: 0010_harden_sessions
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_harden_uploads"
down_revision = "0010_harden_sessions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("receipts") as batch:
        batch.add_column(sa.Column("pdf_name", sa.String(length=200), nullable=True))
    # existing receipts: the name the shared document was stored under
    op.execute("UPDATE receipts SET pdf_name = (SELECT filename FROM documents "
               "WHERE documents.sha256 = receipts.pdf_sha256) WHERE pdf_sha256 IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table("receipts") as batch:
        batch.drop_column("pdf_name")
