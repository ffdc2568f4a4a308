"""Holidays and the working calendar per office: a nullable office_id on holidays and
work_calendar (NULL = the installation-wide default). A day may now be a holiday in several
offices, so the holiday's uniqueness moves from (day) to (office_id, day).

Revision ID: 0018_cal_office_calendar
Revises: 0013_tests_receipt_links
"""

import sqlalchemy as sa
from alembic import op

revision = "0018_cal_office_calendar"
down_revision = "0013_tests_receipt_links"
branch_labels = None
depends_on = None


def _holidays_table(with_office: bool) -> sa.Table:
    """The holidays table as SQLite's batch mode should rebuild it (its old unique
    constraint on day has no name, so it can only be left out of the copy)."""
    columns: list[sa.Column[object]] = [
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False)]
    if with_office:
        columns.append(sa.Column("office_id", sa.Integer(), nullable=True))
    return sa.Table("holidays", sa.MetaData(), *columns)


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        batch = op.batch_alter_table("holidays", copy_from=_holidays_table(False),
                                     recreate="always")
    else:
        op.drop_constraint("holidays_day_key", "holidays", type_="unique")
        batch = op.batch_alter_table("holidays")
    with batch as b:
        b.add_column(sa.Column("office_id", sa.Integer(), nullable=True))
        b.create_foreign_key("fk_holidays_office_id", "offices", ["office_id"], ["id"])
        b.create_index("ix_holidays_office_id", ["office_id"], unique=False)
        b.create_unique_constraint("uq_holidays_office_day", ["office_id", "day"])
    with op.batch_alter_table("work_calendar") as b:
        b.add_column(sa.Column("office_id", sa.Integer(), nullable=True))
        b.create_foreign_key("fk_work_calendar_office_id", "offices", ["office_id"], ["id"])
        b.create_unique_constraint("uq_work_calendar_office_id", ["office_id"])


def downgrade() -> None:
    # Office calendars and office holidays have no place in the old schema.
    op.execute("DELETE FROM work_calendar WHERE office_id IS NOT NULL")
    op.execute("DELETE FROM holidays WHERE office_id IS NOT NULL")
    with op.batch_alter_table("work_calendar") as b:
        b.drop_constraint("uq_work_calendar_office_id", type_="unique")
        b.drop_constraint("fk_work_calendar_office_id", type_="foreignkey")
        b.drop_column("office_id")
    sqlite = op.get_bind().dialect.name == "sqlite"
    batch = (op.batch_alter_table("holidays", copy_from=_holidays_table(True),
                                  recreate="always") if sqlite
             else op.batch_alter_table("holidays"))
    with batch as b:
        if not sqlite:
            b.drop_constraint("uq_holidays_office_day", type_="unique")
            b.drop_constraint("fk_holidays_office_id", type_="foreignkey")
            b.drop_index("ix_holidays_office_id")
        b.drop_column("office_id")
        b.create_unique_constraint("holidays_day_key", ["day"])
