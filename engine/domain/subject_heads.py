"""Subject heads: each department's configurable list of heads used in file numbers
(DEPT/SECTION/HEAD/SERIAL/YEAR). Retired heads stay for old files but open no new ones."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import Conflict, InvalidInput, NotFound
from engine.store import config_cache
from engine.store.models import Department, SubjectHead, utcnow

CODE = re.compile(r"^[A-Za-z0-9-]{1,32}$")


def department(session: Session, code: str | None) -> Department:
    dept = session.scalar(select(Department).where(Department.code == (code or "").strip()))
    if dept is None:
        raise InvalidInput(f"department: no department with code '{code}'")
    return dept


def listing(session: Session, department_id: int | None = None,
            include_retired: bool = True) -> list[SubjectHead]:
    query = select(SubjectHead).order_by(SubjectHead.department_id, SubjectHead.code)
    if department_id is not None:
        query = query.where(SubjectHead.department_id == department_id)
    if not include_retired:
        query = query.where(SubjectHead.active.is_(True))
    return list(session.scalars(query))


def add(session: Session, dept: Department, code: str, title: str) -> SubjectHead:
    code = (code or "").strip()
    title = (title or "").strip()
    if not CODE.match(code):
        raise InvalidInput("code: letters, digits and '-' only, at most 32 (e.g. 11011)")
    if not title or len(title) > 200:
        raise InvalidInput("title: required, at most 200 characters")
    existing = session.scalar(select(SubjectHead).where(
        SubjectHead.department_id == dept.id, SubjectHead.code == code))
    if existing is not None:
        if existing.active:
            raise Conflict(f"code: {dept.code} already has the subject head {code}")
        existing.active, existing.retired_at, existing.title = True, None, title
        return existing
    head = SubjectHead(department_id=dept.id, code=code, title=title, active=True)
    session.add(head)
    session.flush()
    return head


def retire(session: Session, head_id: int) -> SubjectHead:
    head = session.get(SubjectHead, head_id)
    if head is None:
        raise NotFound(f"no subject head with id {head_id}")
    if not head.active:
        raise Conflict(f"subject head {head.code} is already retired")
    head.active = False
    head.retired_at = utcnow()
    return head


def require(session: Session, dept: Department, code: str) -> SubjectHead:
    """The head a new file is opened under must be one of the department's active heads."""
    head = session.scalar(select(SubjectHead).where(
        SubjectHead.department_id == dept.id, SubjectHead.code == code))
    if head is None or not head.active:
        known = ", ".join(h.code for h in listing(session, dept.id, include_retired=False))
        state = "retired" if head is not None else "not a subject head"
        raise InvalidInput(f"head: '{code}' is {state} of department {dept.code}"
                           f" (known: {known or 'none configured'})")
    return head


def require_active(session: Session, department_id: int, code: str) -> None:
    """`require`, answered from the configuration cache when the head is active (opening
    a file reads nothing); otherwise `require` says why not."""
    active = config_cache.get("subject_heads", session, _load_active)
    if (department_id, code) in active:
        return
    dept = session.get(Department, department_id)
    if dept is None:
        raise NotFound(f"no department with id {department_id}")
    require(session, dept, code)


def _load_active(session: Session) -> frozenset[tuple[int, str]]:
    return frozenset((d, c) for d, c in session.execute(
        select(SubjectHead.department_id, SubjectHead.code).where(SubjectHead.active.is_(True))))


def ensure(session: Session, dept: Department, code: str, title: str) -> SubjectHead:
    head = session.scalar(select(SubjectHead).where(
        SubjectHead.department_id == dept.id, SubjectHead.code == code))
    return head or add(session, dept, code, title)


def row(head: SubjectHead, dept_code: str | None = None) -> dict[str, Any]:
    from engine.read.views import iso
    return {"id": head.id, "department": dept_code, "department_id": head.department_id,
            "code": head.code, "title": head.title, "active": head.active,
            "retired_at": iso(head.retired_at)}
