"""Drop user_settings.session_generation: never read (the session generation that signs
other sessions out lives on users.session_generation, engine/domain/sessions.py).

Revision ID: 0019_harden_settings_gen
Revises: 0018_cal_office_calendar
"""

import sqlalchemy as sa
from alembic import op

revision = "0019_harden_settings_gen"
down_revision = "0018_cal_office_calendar"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("user_settings") as batch:
        batch.drop_column("session_generation")


def downgrade() -> None:
    with op.batch_alter_table("user_settings") as batch:
        batch.add_column(sa.Column("session_generation", sa.Integer(), nullable=False,
                                   server_default="0"))
