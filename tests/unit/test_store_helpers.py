"""The narrowing helpers of engine.store.db: a lookup that misses is a NotFound naming what
was missing, and an UPDATE's row count is read from its result."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, select, update
from sqlalchemy.orm import Session

from engine.errors import NotFound
from engine.store.db import get_or_404, rows_changed
from engine.store.models import Base, Department


@pytest.fixture
def session() -> Iterator[Session]:
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as s:
        s.add(Department(code="GAD", name="General Administration"))
        s.commit()
        yield s
    engine.dispose()


def test_get_or_404_returns_the_row(session: Session) -> None:
    dept_id = session.scalar(select(Department.id))
    assert get_or_404(session, Department, dept_id).code == "GAD"


@pytest.mark.parametrize("ident", [999, None])
def test_get_or_404_names_what_is_missing(session: Session, ident: int | None) -> None:
    with pytest.raises(NotFound, match=f"no department with id {ident}"):
        get_or_404(session, Department, ident)
    with pytest.raises(NotFound, match=f"no subject head with id {ident}"):
        get_or_404(session, Department, ident, "subject head")


def test_rows_changed_counts_an_update(session: Session) -> None:
    changed = session.execute(update(Department).where(Department.code == "GAD")
                              .values(name="GAD"))
    assert rows_changed(changed) == 1
    missed = session.execute(update(Department).where(Department.code == "none")
                             .values(name="x"))
    assert rows_changed(missed) == 0


def test_rows_changed_refuses_a_result_without_a_count(session: Session) -> None:
    rows = session.execute(select(Department)).freeze()
    with pytest.raises(TypeError, match="no row count"):
        rows_changed(rows())


def test_every_plain_insert_has_a_plan() -> None:
    """Rows inserted outside the ORM's flush name every column; none may rely on a server
    default alone (it would be written NULL)."""
    from sqlalchemy import inspect

    from engine.store import db

    for cls in db._PLAIN_INSERT:
        _statement, columns = db._insert_plan(inspect(cls))
        assert {name for name, _, _ in columns} == {
            c.name for c in cls.__table__.columns if not c.primary_key}


def test_a_server_default_alone_is_refused() -> None:
    from sqlalchemy import Integer, String, inspect
    from sqlalchemy.orm import DeclarativeBase, mapped_column

    from engine.store import db

    class Other(DeclarativeBase):
        pass

    class Row(Other):
        __tablename__ = "rows"
        id = mapped_column(Integer, primary_key=True)
        kind = mapped_column(String(8), server_default="a")

    with pytest.raises(ValueError, match="server default only"):
        db._insert_plan(inspect(Row))
