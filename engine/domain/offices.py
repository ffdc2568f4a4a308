"""The office hierarchy above sections: secretariat departments, directorates (heads of
department), divisions, districts and field offices, each an `Office` row with a parent.

A section with no office works in its department's secretariat (the first secretariat
office of the department, if one exists): organisations set up before offices existed
keep working unchanged. Monitoring scopes and the monitoring reports walk this tree."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import InvalidInput
from engine.store.admin_models import OFFICE_KINDS, Office
from engine.store.db import get_or_404
from engine.store.models import Department, Post, Section

# What a monitoring post (posts.monitors) reads: its department, its section, its office
# with every office under it, or everything (a Chief Secretary's monitoring cell).
MONITOR_SCOPES = ("department", "section", "office", "state")


def by_code(session: Session, code: str, field: str = "office") -> Office:
    office = session.scalar(select(Office).where(Office.code == code))
    if office is None:
        raise InvalidInput(f"{field}: no office with code '{code}'")
    return office


def subtree(session: Session, office_id: int) -> list[int]:
    """The office and every office below it (breadth first)."""
    children: dict[int | None, list[int]] = {}
    for oid, parent in session.execute(select(Office.id, Office.parent_id)):
        children.setdefault(parent, []).append(oid)
    out, queue = [], [office_id]
    while queue:
        current = queue.pop(0)
        if current in out:  # a cycle cannot be created, but never loop on bad data
            continue
        out.append(current)
        queue.extend(children.get(current, []))
    return out


def head_office_id(session: Session, department_id: int) -> int | None:
    """The department's secretariat office: where its office-less sections work."""
    return session.scalar(select(Office.id).where(
        Office.department_id == department_id, Office.kind == "secretariat")
        .order_by(Office.id).limit(1))


def office_of_section(session: Session, section: Section) -> int | None:
    if section.office_id is not None:
        return section.office_id
    return head_office_id(session, section.department_id)


def sections_in(session: Session, office_ids: list[int]) -> list[int]:
    """Sections working in any of these offices (office-less sections count as their
    department's secretariat)."""
    if not office_ids:
        return []
    found = set(session.scalars(select(Section.id).where(Section.office_id.in_(office_ids))))
    heads = {d: head_office_id(session, d) for d in session.scalars(
        select(Section.department_id).where(Section.office_id.is_(None)).distinct())}
    for sid, dept in session.execute(select(Section.id, Section.department_id)
                                     .where(Section.office_id.is_(None))):
        if heads.get(dept) in office_ids:
            found.add(sid)
    return sorted(found)


def monitor_sections(session: Session, post: Post) -> list[int]:
    """The sections a monitoring post reads, by its scope."""
    section = get_or_404(session, Section, post.section_id)
    if post.monitors == "state":
        return list(session.scalars(select(Section.id)))
    if post.monitors == "office":
        office = office_of_section(session, section)
        if office is None:  # no offices set up: the department stands for the office
            return list(session.scalars(select(Section.id).where(
                Section.department_id == section.department_id)))
        return sections_in(session, subtree(session, office))
    if post.monitors == "department":
        return list(session.scalars(select(Section.id).where(
            Section.department_id == section.department_id)))
    return [section.id]


def check_kind(kind: str) -> str:
    if kind not in OFFICE_KINDS:
        raise InvalidInput(f"kind: one of {', '.join(OFFICE_KINDS)}")
    return kind


def check_parent(kind: str, parent: Office | None) -> None:
    """An office sits below a higher kind: a district under a division (or directorate or
    secretariat), a field office under a district; a secretariat has no parent."""
    if parent is None:
        return
    if parent.retired_at is not None:
        raise InvalidInput(f"parent: office {parent.code} is retired")
    if OFFICE_KINDS.index(kind) <= OFFICE_KINDS.index(parent.kind):
        raise InvalidInput(f"parent: a {kind} office cannot sit under a {parent.kind} office")


def ensure_office(session: Session, dept: Department, code: str, name: str, kind: str,
                  parent: Office | None = None) -> Office:
    office = session.scalar(select(Office).where(Office.code == code))
    if office is None:
        check_kind(kind)
        check_parent(kind, parent)
        office = Office(code=code, name=name, kind=kind, department_id=dept.id,
                        parent_id=parent.id if parent else None)
        session.add(office)
        session.flush()
    return office


def path(session: Session, office_id: int | None) -> list[Office]:
    """The office and its ancestors, top first."""
    out: list[Office] = []
    while office_id is not None and len(out) < 20:
        office = session.get(Office, office_id)
        if office is None:
            break
        out.insert(0, office)
        office_id = office.parent_id
    return out
