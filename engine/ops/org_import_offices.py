"""The office columns of the organisation CSV (engine/ops/org_import.py): office_code,
office_name, office_kind, office_parent. A row's section works in its office; an office
is made on first mention (name and kind required then) under its parent office, which
must be in the database or somewhere in the file. Checked with every other column, so a
bad office row means nothing is imported."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.domain import offices
from engine.store.admin_models import OFFICE_KINDS, Office
from engine.store.models import Department

COLUMNS = ("office_code", "office_name", "office_kind", "office_parent")
OFFICE_CODE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{0,31}$")


class Row(Protocol):
    number: int

    def __getitem__(self, name: str) -> str: ...


class Problems(Protocol):
    def add(self, row: int, column: str, message: str) -> None: ...


def check(s: Session, rows: Sequence[Row], problems: Problems) -> dict[str, dict[str, Any]]:
    """Every office named in the file: {code: {name, kind, parent, department, row}}."""
    existing = {o.code: o for o in s.scalars(select(Office))}
    dept_codes = {d.id: d.code for d in s.scalars(select(Department))}
    planned: dict[str, dict[str, Any]] = {}
    for row in rows:
        _check_row(row, existing, dept_codes, planned, problems)
    for code, entry in planned.items():
        _check_parent(code, entry, planned, existing, problems)
    return planned


def _check_row(row: Row, existing: dict[str, Office], dept_codes: dict[int, str],
               planned: dict[str, dict[str, Any]], problems: Problems) -> None:
    n, code, dept = row.number, row["office_code"], row["department_code"]
    if not code:
        for column in ("office_name", "office_kind", "office_parent"):
            if row[column]:
                problems.add(n, column, "only for a row with an office_code")
        return
    if not OFFICE_CODE.match(code):
        problems.add(n, "office_code", "upper-case letters, digits, '-' or '_' (at most 32)")
        return
    if not row["section_code"]:
        problems.add(n, "office_code", "an office is given for a row's section; "
                                       "section_code is empty")
    if code in existing:
        owner = dept_codes.get(existing[code].department_id)
        if dept and owner != dept:
            problems.add(n, "office_code", f"office {code} belongs to department {owner}")
        return
    entry = {"name": row["office_name"], "kind": row["office_kind"],
             "parent": row["office_parent"], "department": dept, "row": n}
    first = planned.setdefault(code, entry)
    if first is not entry:
        _same_office(code, entry, first, problems)
        return
    if not entry["name"]:
        problems.add(n, "office_name", f"required for new office {code}")
    if entry["kind"] not in OFFICE_KINDS:
        problems.add(n, "office_kind", f"one of {', '.join(OFFICE_KINDS)}")


def _same_office(code: str, entry: dict[str, Any], first: dict[str, Any],
                 problems: Problems) -> None:
    """A later row naming the office again must agree with its first row."""
    n = entry["row"]
    for key in ("name", "kind", "parent"):
        if entry[key] and entry[key] != first[key]:
            problems.add(n, f"office_{key}",
                         f"office {code} has '{first[key]}' on row {first['row']}")
    if entry["department"] != first["department"]:
        problems.add(n, "office_code", f"office {code} is in department "
                                       f"{first['department']} on row {first['row']}")


def _check_parent(code: str, entry: dict[str, Any], planned: dict[str, dict[str, Any]],
                  existing: dict[str, Office], problems: Problems) -> None:
    parent = entry["parent"]
    n = entry["row"]
    if not parent:
        if entry["kind"] in ("division", "district", "field"):
            problems.add(n, "office_parent", f"a {entry['kind']} office needs a parent")
        return
    if parent == code:
        problems.add(n, "office_parent", "an office cannot sit under itself")
        return
    parent_kind = (existing[parent].kind if parent in existing else
                   planned[parent]["kind"] if parent in planned else None)
    if parent_kind is None:
        problems.add(n, "office_parent", f"no office {parent} in the file or the database")
    elif entry["kind"] in OFFICE_KINDS and parent_kind in OFFICE_KINDS and \
            OFFICE_KINDS.index(entry["kind"]) <= OFFICE_KINDS.index(parent_kind):
        problems.add(n, "office_parent",
                     f"a {entry['kind']} office cannot sit under a {parent_kind} office")


def write(s: Session, planned: dict[str, dict[str, Any]],
          departments: dict[str, Department]) -> int:
    """Make the planned offices, parents first (kinds are ordered, so by kind)."""
    made = 0
    for code, entry in sorted(planned.items(),
                              key=lambda kv: OFFICE_KINDS.index(kv[1]["kind"])):
        parent = offices.by_code(s, entry["parent"], "office_parent") \
            if entry["parent"] else None
        offices.ensure_office(s, departments[entry["department"]], code, entry["name"],
                              entry["kind"], parent)
        made += 1
    return made


def office_id(s: Session, code: str) -> int | None:
    return offices.by_code(s, code).id if code else None
