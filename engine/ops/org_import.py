"""Importing a real organisation from one CSV file (`sanchika init --organisation FILE`).

One row per post (with the user who holds it), or per user without a post (an auditor,
a designer, an administrator). Departments and sections are made on first mention (or
reused when they exist). Every row is checked first and every problem is named by row and
column; if any row is bad nothing is imported. Everything is written in one transaction.
docs/organisation-import.md describes the columns.
"""

from __future__ import annotations

import csv
import io
import re
import secrets
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from engine.domain import org
from engine.domain.offices import MONITOR_SCOPES
from engine.domain.passwords import require_strong
from engine.errors import InvalidInput
from engine.ops import org_import_offices
from engine.ops.admin import USERNAME
from engine.store.db import Database
from engine.store.models import Department, Post, Section, User

COLUMNS = ("department_code", "department_name", "section_code", "section_name", "post_code",
           "post_title", "rank", "can_approve", "superior_post", "monitors", "username",
           "full_name", "role", "email", "phone", "language", "password",
           *org_import_offices.COLUMNS)
REQUIRED_COLUMNS = ("department_code", "section_code", "post_code", "username")
CODE = re.compile(r"^[A-Z0-9][A-Z0-9-]{0,15}$")
POST_CODE = re.compile(r"^[A-Z0-9][A-Z0-9-]{0,63}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE = re.compile(r"^\+?[0-9 -]{6,20}$")
YES = {"yes", "y", "true", "1"}
NO = {"no", "n", "false", "0", ""}
LANGUAGES = ("en", "hi")


@dataclass
class ImportResult:
    departments: int = 0
    sections: int = 0
    offices: int = 0
    posts: int = 0
    users: int = 0
    # username -> generated first password (rows that gave none)
    passwords: dict[str, str] = field(default_factory=dict)


@dataclass
class _Row:
    number: int
    values: dict[str, str]

    def __getitem__(self, name: str) -> str:
        return (self.values.get(name) or "").strip()


class _Problems:
    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def add(self, row: int, column: str, message: str) -> None:
        self.items.append({"row": row, "column": column, "message": message})


def parse(text: str) -> list[_Row]:
    """The rows of the CSV text (header line first); refused when a column is unknown or a
    required one is missing."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip() for h in (reader.fieldnames or [])]
    unknown = [h for h in header if h not in COLUMNS]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    details = [{"row": 1, "column": h, "message": "unknown column"} for h in unknown]
    details += [{"row": 1, "column": c, "message": "required column missing"} for c in missing]
    if details:
        raise InvalidInput(_summary(details), details)
    reader.fieldnames = header
    rows = []
    for number, values in enumerate(reader, start=2):  # line 1 is the header
        if None in values:
            raise InvalidInput(f"row {number}: more fields than columns",
                               [{"row": number, "column": "", "message": "too many fields"}])
        if any((v or "").strip() for v in values.values()):
            rows.append(_Row(number, values))
    if not rows:
        raise InvalidInput("file: no rows under the header",
                           [{"row": 2, "column": "", "message": "no rows"}])
    return rows


def import_organisation(db: Database, text: str) -> ImportResult:
    """Validate every row, then import all of them in one transaction (or none)."""
    rows = parse(text)
    with db.transaction() as s:
        problems = _Problems()
        existing_posts = set(s.scalars(select(Post.code)))
        existing_users = set(s.scalars(select(User.username)))
        departments = {d.code: d for d in s.scalars(select(Department))}
        plan = _check(rows, problems, existing_posts, existing_users, departments)
        plan["offices"] = org_import_offices.check(s, rows, problems)
        problems.items.sort(key=lambda p: p["row"])
        if problems.items:
            raise InvalidInput(_summary(problems.items), problems.items)
        return _write(s, rows, plan, departments)


# One flat list of per-column checks, read top to bottom like the format's documentation.
def _check(rows: list[_Row], problems: _Problems, existing_posts: set[str],  # noqa: C901
           existing_users: set[str], departments: dict[str, Department]) -> dict[str, Any]:
    dept_names: dict[str, str] = {d: dept.name for d, dept in departments.items()}
    section_names: dict[tuple[str, str], str] = {}
    posts_in_file: dict[str, int] = {}
    superiors: dict[str, str] = {}
    usernames: dict[str, int] = {}
    for row in rows:
        n = row.number
        dept, section, post, username = (row["department_code"], row["section_code"],
                                         row["post_code"], row["username"])
        if post or section or dept:
            for column, value, pattern in (("department_code", dept, CODE),
                                           ("section_code", section, CODE)):
                if not value:
                    problems.add(n, column, "required for a row with a post")
                elif not pattern.match(value):
                    problems.add(n, column, "upper-case letters, digits and '-' (at most 16)")
            name = row["department_name"]
            if dept and name and dept_names.setdefault(dept, name) != name:
                problems.add(n, "department_name",
                             f"department {dept} is named '{dept_names[dept]}' elsewhere")
            if dept and dept not in dept_names:
                problems.add(n, "department_name", f"required for new department {dept}")
            sname = row["section_name"]
            key = (dept, section)
            if section and sname and section_names.setdefault(key, sname) != sname:
                problems.add(n, "section_name",
                             f"section {section} is named '{section_names[key]}' elsewhere")
        if post:
            if not POST_CODE.match(post):
                problems.add(n, "post_code", "upper-case letters, digits and '-' (at most 64)")
            elif post in existing_posts:
                problems.add(n, "post_code", f"post {post} already exists")
            elif post in posts_in_file:
                problems.add(n, "post_code", f"post {post} is already on row "
                                             f"{posts_in_file[post]}")
            else:
                posts_in_file[post] = n
            if not row["post_title"]:
                problems.add(n, "post_title", "required for a post")
            rank = row["rank"] or "1"
            if not rank.isdigit() or not 1 <= int(rank) <= 6:
                problems.add(n, "rank", "a number from 1 (dealing hand) to 6 (secretary)")
            if row["can_approve"].lower() not in YES | NO:
                problems.add(n, "can_approve", "yes or no")
            if row["monitors"] not in ("", *MONITOR_SCOPES):
                problems.add(n, "monitors", f"empty or one of {', '.join(MONITOR_SCOPES)}")
            if row["superior_post"]:
                superiors[post] = row["superior_post"]
        else:
            for column in ("post_title", "rank", "can_approve", "superior_post", "monitors"):
                if row[column]:
                    problems.add(n, column, "only for a row with a post_code")
        role = row["role"] or "officer"
        if not username:
            if not post:
                problems.add(n, "username", "required for a row without a post")
        else:
            if not USERNAME.match(username):
                problems.add(n, "username", "2-64 characters: lower-case letters, digits, "
                                            "'.', '_' or '-', starting with a letter")
            elif username in existing_users:
                problems.add(n, "username", f"user {username} already exists")
            elif username in usernames:
                problems.add(n, "username", f"user {username} is already on row "
                                            f"{usernames[username]}")
            else:
                usernames[username] = n
            if not row["full_name"]:
                problems.add(n, "full_name", "required for a user")
            if role not in org.ROLES:
                problems.add(n, "role", f"one of {', '.join(org.ROLES)}")
            elif role == "officer" and not post:
                problems.add(n, "role", "an officer needs a post_code")
            if row["email"] and not EMAIL.match(row["email"]):
                problems.add(n, "email", "not an e-mail address")
            if row["phone"] and not PHONE.match(row["phone"]):
                problems.add(n, "phone", "digits, spaces, '-' and a leading '+' only")
            if row["language"] and row["language"] not in LANGUAGES:
                problems.add(n, "language", "en or hi")
            if row["password"]:
                try:
                    require_strong(row["password"], username)
                except InvalidInput as exc:
                    problems.add(n, "password", exc.message.split(": ", 1)[1])
        if not username and any(row[c] for c in ("full_name", "email", "phone", "password")):
            problems.add(n, "username", "required when user columns are filled")
    by_post_row = {row["post_code"]: row for row in rows if row["post_code"]}
    for post, superior in superiors.items():
        n = by_post_row[post].number
        if superior == post:
            problems.add(n, "superior_post", "a post cannot report to itself")
        elif superior not in posts_in_file and superior not in existing_posts:
            problems.add(n, "superior_post", f"no post {superior} in the file or the database")
    for post in superiors:  # a chain of superiors must end
        seen, current = {post}, superiors[post]
        while current in superiors:
            if current in seen:
                problems.add(by_post_row[post].number, "superior_post",
                             "the superiors form a loop")
                break
            seen.add(current)
            current = superiors[current]
    return {"superiors": superiors}


def _write(s: Any, rows: list[_Row], plan: dict[str, Any],
           departments: dict[str, Department]) -> ImportResult:
    result = ImportResult()
    sections: dict[tuple[str, str], Section] = {}
    posts: dict[str, Post] = {}
    for row in rows:  # departments first: offices belong to them
        dept_code = row["department_code"]
        if row["post_code"] and dept_code not in departments:
            departments[dept_code] = org.ensure_department(s, dept_code, row["department_name"])
            result.departments += 1
    result.offices = org_import_offices.write(s, plan["offices"], departments)
    for row in rows:
        dept_code, section_code = row["department_code"], row["section_code"]
        post_code = row["post_code"]
        post = None
        if post_code:
            key = (dept_code, section_code)
            if key not in sections:
                dept = departments[dept_code]
                before = s.scalar(select(Section.id).where(
                    Section.department_id == dept.id, Section.code == section_code))
                sections[key] = org.ensure_section(s, dept, section_code,
                                                   row["section_name"] or section_code)
                result.sections += before is None
                if row["office_code"] and sections[key].office_id is None:
                    sections[key].office_id = org_import_offices.office_id(s, row["office_code"])
            post = Post(code=post_code, title=row["post_title"], section_id=sections[key].id,
                        rank=int(row["rank"] or 1),
                        can_approve=row["can_approve"].lower() in YES,
                        monitors=row["monitors"] or None)
            s.add(post)
            posts[post_code] = post
            result.posts += 1
        username = row["username"]
        if username:
            password = row["password"] or secrets.token_urlsafe(12)
            if not row["password"]:
                result.passwords[username] = password
            s.add(User(username=username, full_name=row["full_name"],
                       password_hash=org.hash_password(password),
                       post=post, role=row["role"] or "officer",
                       email=row["email"] or None, phone=row["phone"] or None,
                       language=row["language"] or "en"))
            result.users += 1
    s.flush()
    for post_code, superior in plan["superiors"].items():
        target = posts.get(superior) or s.scalar(select(Post).where(Post.code == superior))
        posts[post_code].superior_post_id = target.id
    s.flush()
    return result


def _summary(details: list[dict[str, Any]]) -> str:
    shown = "; ".join(f"row {d['row']}, {d['column'] or 'line'}: {d['message']}"
                      for d in details[:5])
    more = f" (and {len(details) - 5} more)" if len(details) > 5 else ""
    return f"organisation file: {len(details)} problem(s): {shown}{more}"
