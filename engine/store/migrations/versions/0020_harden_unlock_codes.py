"""Sign-in unlock codes (a user lifts the lock on their username at one address with a
code sent to their own e-mail/phone), and drop user_settings.session_generation: never
read (the generation that signs other sessions out is users.session_generation).

Revision ID: 0020_harden_unlock_codes
Revises: 0019_versions_current_suspended
"""

import sqlalchemy as sa
from alembic import op

revision = "0020_harden_unlock_codes"
down_revision = "0019_versions_current_suspended"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sign_in_unlock_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("wrong_tries", sa.Integer(), nullable=False, server_default="0"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_sign_in_unlock_codes_user_id", "sign_in_unlock_codes", ["user_id"])
    with op.batch_alter_table("user_settings") as batch:
        batch.drop_column("session_generation")


def downgrade() -> None:
    with op.batch_alter_table("user_settings") as batch:
        batch.add_column(sa.Column("session_generation", sa.Integer(), nullable=False,
                                   server_default="0"))
    op.drop_index("ix_sign_in_unlock_codes_user_id", table_name="sign_in_unlock_codes")
    op.drop_table("sign_in_unlock_codes")
