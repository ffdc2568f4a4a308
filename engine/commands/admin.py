"""The administrator's office (a mixin of Sanchika): departments and offices created and
retired, the organisation at a glance, the user list, reactivating users and one-time
password-reset codes (deactivating, direct resets and unlocking are in SessionServices
and UiServices). Every act is one transaction with its authorization here and a row in
the audit log."""

from __future__ import annotations

import re
import secrets
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.commands.executor import CommandRunner
from engine.commands.people import audit
from engine.domain import offices, org, passwords, sessions, throttle
from engine.errors import Conflict, InvalidInput, NotFound, Unauthorized
from engine.read import views
from engine.store.admin_models import OFFICE_KINDS, Office, PasswordReset
from engine.store.models import Department, OpenTask, Post, Section, User, utcnow
from engine.store.web_models import SignInThrottle

if TYPE_CHECKING:
    from engine.store.db import Database

CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{0,31}$")
# A reset code is shown once to the administrator, who hands it over in person or by
# phone; it works once, for a day.
RESET_VALID = timedelta(hours=24)
RESET_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread


def _code(value: Any, field: str, max_len: int) -> str:
    code = str(value or "").strip().upper()
    if not CODE_RE.match(code) or len(code) > max_len:
        raise InvalidInput(f"{field}: 1-{max_len} capital letters, digits, '-' or '_'")
    return code


def _name(value: Any, field: str = "name") -> str:
    name = str(value or "").strip()
    if not name or len(name) > 200:
        raise InvalidInput(f"{field}: required, at most 200 characters")
    return name


def office_row(o: Office, dept_codes: dict[int, str], codes: dict[int, str]) -> dict[str, Any]:
    return {"id": o.id, "code": o.code, "name": o.name, "kind": o.kind,
            "department": dept_codes.get(o.department_id),
            "parent": codes.get(o.parent_id) if o.parent_id else None,
            "retired": o.retired_at is not None}


class AdminServices(CommandRunner):
    db: Database

    # ------------------------------------------------------------ the organisation

    def organisation(self, actor: User) -> dict[str, Any]:
        """Departments, offices (as a tree, parents first), sections and posts with their
        holders: what the administration pages list."""
        org.require_role(actor, "admin", "auditor")
        with self.db.reader() as s:
            depts = list(s.scalars(select(Department).order_by(Department.code)))
            dept_codes = {d.id: d.code for d in depts}
            all_offices = list(s.scalars(select(Office).order_by(Office.id)))
            codes = {o.id: o.code for o in all_offices}
            ordered: list[tuple[int, Office]] = []

            def walk(parent: int | None, depth: int) -> None:
                for o in all_offices:
                    if o.parent_id == parent:
                        ordered.append((depth, o))
                        walk(o.id, depth + 1)
            walk(None, 0)
            sections = list(s.scalars(select(Section).order_by(Section.department_id,
                                                                Section.code)))
            holders = {p: u for p, u in s.execute(
                select(User.post_id, User.username).where(User.active,
                                                          User.post_id.is_not(None)))
                if p is not None}
            posts = list(s.scalars(select(Post).order_by(Post.section_id, Post.rank.desc(),
                                                         Post.code)))
            post_codes = {p.id: p.code for p in posts}
            section_rows = []
            for sec in sections:
                office = offices.office_of_section(s, sec)
                section_rows.append({"id": sec.id, "code": sec.code, "name": sec.name,
                                     "department": dept_codes.get(sec.department_id),
                                     "office": codes.get(office) if office else None})
            section_names = {sec.id: f"{dept_codes.get(sec.department_id)}/{sec.code}"
                             for sec in sections}
            return {
                "departments": [{"id": d.id, "code": d.code, "name": d.name,
                                 "retired": d.retired_at is not None} for d in depts],
                "offices": [{**office_row(o, dept_codes, codes), "depth": depth}
                            for depth, o in ordered],
                "office_kinds": list(OFFICE_KINDS),
                "sections": section_rows,
                "posts": [{"id": p.id, "code": p.code, "title": p.title, "rank": p.rank,
                           "section": section_names.get(p.section_id),
                           "superior": post_codes.get(p.superior_post_id or 0),
                           "can_approve": p.can_approve, "monitors": p.monitors,
                           "holder": holders.get(p.id)} for p in posts],
            }

    def users_list(self, actor: User) -> list[dict[str, Any]]:
        org.require_role(actor, "admin", "auditor")
        now = utcnow()
        with self.db.reader() as s:
            # sign-in locks are per (username, address): engine/domain/throttle.py
            locked = {row.key[5:].split("|")[0] for row in s.scalars(select(SignInThrottle)
                      .where(SignInThrottle.key.like("pair:%"),
                             SignInThrottle.locked_until > now))}
            names = views.Names(s)
            return [{"username": u.username, "full_name": u.full_name, "role": u.role,
                     "post": names.post(u.post_id), "email": u.email, "phone": u.phone,
                     "active": u.active, "locked": u.username.lower() in locked}
                    for u in s.scalars(select(User).order_by(User.username))]

    # ------------------------------------------------------------ departments

    def create_department(self, actor: User, fields: dict[str, Any]) -> dict[str, Any]:
        """A department, with its secretariat office unless `secretariat` is false."""
        org.require_role(actor, "admin")
        code = _code(fields.get("code"), "code", 16)
        name = _name(fields.get("name"))
        with self.command() as s:
            if s.scalar(select(Department.id).where(Department.code == code)) is not None:
                raise Conflict(f"code: a department with code '{code}' exists")
            dept = org.ensure_department(s, code, name)
            out: dict[str, Any] = {"id": dept.id, "code": code, "name": name, "office": None}
            if fields.get("secretariat", True):
                office_code = f"{code}-SECTT"
                if s.scalar(select(Office.id).where(Office.code == office_code)) is None:
                    offices.ensure_office(s, dept, office_code, f"{name} (Secretariat)",
                                          "secretariat")
                    out["office"] = office_code
            audit(s, actor, "department_created", code, {"name": name,
                                                         "office": out["office"]})
            return out

    def retire_department(self, actor: User, code: str) -> dict[str, Any]:
        """Nothing new is created in a retired department; refused while anyone active
        still holds one of its posts or any of its posts holds an open item."""
        org.require_role(actor, "admin")
        with self.command() as s:
            dept = s.scalar(select(Department).where(Department.code == code))
            if dept is None:
                raise NotFound(f"no department with code '{code}'")
            if dept.retired_at is not None:
                raise Conflict(f"department {code} is already retired")
            posts = select(Post.id).join(Section, Post.section_id == Section.id).where(
                Section.department_id == dept.id)
            self._require_empty(s, posts, f"department {code}")
            now = utcnow()
            dept.retired_at = now
            for office in s.scalars(select(Office).where(Office.department_id == dept.id,
                                                         Office.retired_at.is_(None))):
                office.retired_at = now
            audit(s, actor, "department_retired", code, {})
            return {"code": code, "retired": True}

    @staticmethod
    def _require_empty(s: Session, posts: Any, what: str) -> None:
        holder = s.scalar(select(User.username).where(User.active, User.post_id.in_(posts))
                          .limit(1))
        if holder is not None:
            raise Conflict(f"{what}: '{holder}' still holds a post there; transfer them first")
        open_items = s.scalar(select(func.count()).select_from(OpenTask).where(
            OpenTask.closed_at.is_(None), OpenTask.post_id.in_(posts)))
        if open_items:
            raise Conflict(f"{what}: its posts still hold {open_items} open item(s)")

    # ------------------------------------------------------------ offices

    def create_office(self, actor: User, fields: dict[str, Any]) -> dict[str, Any]:
        org.require_role(actor, "admin")
        code = _code(fields.get("code"), "code", 32)
        name = _name(fields.get("name"))
        kind = offices.check_kind(str(fields.get("kind") or ""))
        with self.command() as s:
            if s.scalar(select(Office.id).where(Office.code == code)) is not None:
                raise Conflict(f"code: an office with code '{code}' exists")
            dept = s.scalar(select(Department).where(
                Department.code == str(fields.get("department") or "")))
            if dept is None:
                raise InvalidInput(f"department: no department '{fields.get('department')}'")
            if dept.retired_at is not None:
                raise InvalidInput(f"department: {dept.code} is retired")
            parent = offices.by_code(s, fields["parent"], "parent") \
                if fields.get("parent") else None
            if parent is None and kind != "secretariat" and kind != "directorate":
                raise InvalidInput(f"parent: a {kind} office needs a parent office")
            offices.check_parent(kind, parent)
            office = offices.ensure_office(s, dept, code, name, kind, parent)
            audit(s, actor, "office_created", code,
                  {"name": name, "kind": kind, "department": dept.code,
                   "parent": parent.code if parent else None})
            return office_row(office, {dept.id: dept.code},
                              {parent.id: parent.code} if parent else {})

    def retire_office(self, actor: User, code: str) -> dict[str, Any]:
        org.require_role(actor, "admin")
        with self.command() as s:
            office = offices.by_code(s, code, "code")
            if office.retired_at is not None:
                raise Conflict(f"office {code} is already retired")
            child = s.scalar(select(Office.code).where(Office.parent_id == office.id,
                                                       Office.retired_at.is_(None)).limit(1))
            if child is not None:
                raise Conflict(f"office {code}: office {child} under it is still working; "
                               "retire it first")
            sections = offices.sections_in(s, [office.id])
            self._require_empty(s, select(Post.id).where(Post.section_id.in_(sections)),
                                f"office {code}")
            office.retired_at = utcnow()
            audit(s, actor, "office_retired", code, {})
            return {"code": code, "retired": True}

    # ------------------------------------------------------------ users

    def reactivate_user(self, actor: User, username: str) -> dict[str, Any]:
        """Give a deactivated account back (deactivation: SessionServices.deactivate_user).
        If someone else holds their old post by now, they come back without a post."""
        org.require_role(actor, "admin")
        with self.command() as s:
            user = org.user_by_username(s, username)
            if user.active:
                raise Conflict(f"'{username}' is already active")
            user.active = True
            taken = user.post_id is not None and s.scalar(select(User.id).where(
                User.post_id == user.post_id, User.active, User.id != user.id)) is not None
            if taken:
                user.post_id = None
            audit(s, actor, "user_reactivated", username, {"post_taken": taken})
            return {"username": username, "active": True,
                    "post": views.Names(s).post(user.post_id)}

    def issue_reset_code(self, actor: User, username: str) -> dict[str, Any]:
        """A one-time code (shown once) with which the user sets a new password at the
        sign-in page; earlier codes stop working and the sign-in lock is lifted."""
        org.require_role(actor, "admin")
        code = "-".join("".join(secrets.choice(RESET_ALPHABET) for _ in range(4))
                        for _ in range(3))
        with self.command() as s:
            user = org.user_by_username(s, username)
            if not user.active:
                raise Conflict(f"'{username}' is inactive; reactivate the account first")
            now = utcnow()
            for old in s.scalars(select(PasswordReset).where(
                    PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None))):
                old.used_at = now
            s.add(PasswordReset(user_id=user.id, code_hash=org.hash_password(code),
                                created_by=actor.id, created_at=now,
                                expires_at=now + RESET_VALID))
            throttle.unlock(s, user.username)
            audit(s, actor, "password_reset_issued", username, {})
            return {"username": username, "code": code,
                    "expires_at": views.iso(now + RESET_VALID)}

    def redeem_reset_code(self, username: str, code: str, new_password: str) -> None:
        """The user sets a new password with the code (no sign-in needed); every session
        and token of theirs ends."""
        passwords.require_strong(new_password or "", (username or "").strip(), "new_password")
        with self.command() as s:
            user = s.scalar(select(User).where(User.username == (username or "").strip()))
            now = utcnow()
            rows = list(s.scalars(select(PasswordReset).where(
                PasswordReset.user_id == (user.id if user else -1),
                PasswordReset.used_at.is_(None), PasswordReset.expires_at > now)))
            match = next((r for r in rows if org.check_password(
                r.code_hash, (code or "").strip().upper())), None)
            if user is None or not user.active or match is None:
                raise Unauthorized("code: wrong or expired reset code")
            match.used_at = now
            user.password_hash = org.hash_password(new_password)
            throttle.unlock(s, user.username)
            sessions.end_all(s, user)
            audit(s, user, "password_reset_used", user.username, {})

    # ------------------------------------------------------------ import

    def import_organisation_csv(self, actor: User, text: str) -> dict[str, Any]:
        """The organisation CSV (engine/ops/org_import.py) uploaded by an administrator:
        every row checked first, every problem named, all rows or none."""
        from engine.ops.org_import import import_organisation

        org.require_role(actor, "admin")
        result = import_organisation(self.db, text)
        with self.command() as s:
            audit(s, actor, "organisation_imported", "csv",
                  {"departments": result.departments, "offices": result.offices,
                   "sections": result.sections, "posts": result.posts,
                   "users": result.users})
        return {"departments": result.departments, "offices": result.offices,
                "sections": result.sections, "posts": result.posts, "users": result.users,
                "passwords": result.passwords}
