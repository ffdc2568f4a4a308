"""An index on the signatures' instance: an incremental `sanchika verify` reads the
signatures of the changed instances only, instead of every signature of the installation.

Revision ID: 0025_verify_sig_instance
Revises: 0024_retention_verify_marks
"""

from alembic import op

revision = "0025_verify_sig_instance"
down_revision = "0024_retention_verify_marks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_approval_signatures_instance_id", "approval_signatures",
                    ["instance_id"])


def downgrade() -> None:
    op.drop_index("ix_approval_signatures_instance_id", table_name="approval_signatures")
