"""Posts, not persons (a mixin of Sanchika): the administrator sets up sections, posts
and users, transfers a user to another post, and gives additional charges. Every act is
one transaction and leaves a row in the audit log.

A transfer moves only the person: open tasks sit on posts, so the old post's pending items
wait for its next holder, and the user's inbox becomes the new post's inbox."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.commands.executor import CommandRunner
from engine.domain import contact, org
from engine.domain.offices import MONITOR_SCOPES, by_code
from engine.errors import Conflict, InvalidInput, NotFound
from engine.read import views
from engine.store.access_models import AdditionalCharge, AuditEntry
from engine.store.models import Department, Post, Section, User, utcnow

if TYPE_CHECKING:
    from engine.store.db import Database



def audit(s: Session, actor: User, kind: str, subject: str, data: dict[str, Any]) -> None:
    s.add(AuditEntry(at=utcnow(), actor=actor.username, kind=kind, subject=subject, data=data))


def post_by_ref(s: Session, ref: Any, field: str = "post") -> Post:
    """A post by code or id (not by its holder's username: a transfer names the post)."""
    post = None
    if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit()):
        post = s.get(Post, int(ref))
    if post is None and isinstance(ref, str):
        post = s.scalar(select(Post).where(Post.code == ref))
    if post is None:
        raise InvalidInput(f"{field}: no post with code '{ref}'")
    return post


def _day(value: Any, field: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput(f"{field}: a date as YYYY-MM-DD, not {value!r}") from None


def charge_view(c: AdditionalCharge, names: views.Names, today: date) -> dict[str, Any]:
    return {"id": c.id, "username": names.user(c.user_id), "post": names.post(c.post_id),
            "from": c.starts_on.isoformat(), "until": c.ends_on.isoformat(),
            "ended_at": views.iso(c.ended_at),
            "active": c.ended_at is None and c.starts_on <= today <= c.ends_on}


def person_view(s: Session, user: User) -> dict[str, Any]:
    names = views.Names(s)
    today = org.office_today()
    charges = s.scalars(select(AdditionalCharge).where(
        AdditionalCharge.user_id == user.id, AdditionalCharge.ended_at.is_(None),
        AdditionalCharge.ends_on >= today).order_by(AdditionalCharge.id))
    return {"username": user.username, "full_name": user.full_name, "role": user.role,
            "active": user.active, "post": names.post(user.post_id),
            "acting_posts": [names.post(p) for p in org.acting_post_ids(s, user)],
            "additional_charges": [charge_view(c, names, today) for c in charges]}


class PeopleServices(CommandRunner):
    db: Database

    # -------------------------------------------------------------- set-up

    def create_section(self, actor: User, fields: dict[str, Any]) -> dict[str, Any]:
        org.require_role(actor, "admin")
        with self.command() as s:
            dept = org.ensure_department(s, fields["department"],
                                         fields.get("department_name") or fields["department"])
            office = by_code(s, fields["office"]) if fields.get("office") else None
            if office is not None and office.department_id != dept.id:
                raise InvalidInput(f"office: {office.code} belongs to another department")
            if dept.retired_at is not None:
                raise InvalidInput(f"department: {dept.code} is retired")
            section = org.ensure_section(s, dept, fields["code"], fields.get("name") or
                                         fields["code"])
            if office is not None and section.office_id is None:
                section.office_id = office.id
            audit(s, actor, "section_created", f"{dept.code}/{section.code}", dict(fields))
            return {"id": section.id, "department": dept.code, "code": section.code,
                    "name": section.name, "office": office.code if office else None}

    def create_post(self, actor: User, fields: dict[str, Any]) -> dict[str, Any]:
        org.require_role(actor, "admin")
        with self.command() as s:
            if s.scalar(select(Post.id).where(Post.code == fields["code"])) is not None:
                raise Conflict(f"code: a post with code '{fields['code']}' exists")
            section = self._section(s, fields["department"], fields["section"])
            monitors = fields.get("monitors")
            if monitors not in (None, *MONITOR_SCOPES):
                raise InvalidInput(f"monitors: one of {', '.join(MONITOR_SCOPES)}, or absent")
            superior = post_by_ref(s, fields["superior"], "superior") \
                if fields.get("superior") else None
            post = org.ensure_post(s, section, fields["code"], fields["title"],
                                   rank=int(fields.get("rank") or 1),
                                   can_approve=bool(fields.get("can_approve")), superior=superior)
            post.monitors = monitors
            audit(s, actor, "post_created", post.code, dict(fields))
            return {**views.Names(s).known_post(post.id), "rank": post.rank,
                    "monitors": post.monitors, "can_approve": post.can_approve}

    @staticmethod
    def _section(s: Session, dept_code: str, section_code: str) -> Section:
        section = s.scalar(select(Section).join(Department).where(
            Department.code == dept_code, Section.code == section_code))
        if section is None:
            raise InvalidInput(f"section: no section {dept_code}/{section_code}; create it first")
        return section

    def create_user(self, actor: User, fields: dict[str, Any]) -> dict[str, Any]:
        org.require_role(actor, "admin")
        fields = {**fields, "full_name": contact.name(fields.get("full_name"), "full_name"),
                  "email": contact.email(fields.get("email")),
                  "phone": contact.phone(fields.get("phone"))}
        with self.command() as s:
            if s.scalar(select(User.id).where(User.username == fields["username"])):
                raise Conflict(f"username: '{fields['username']}' is taken")
            post = post_by_ref(s, fields["post"]) if fields.get("post") else None
            if post is not None:
                self._require_vacant(s, post, None)
            user = org.ensure_user(s, fields["username"], fields["full_name"],
                                   fields["password"], post=post,
                                   role=fields.get("role") or "officer",
                                   email=fields.get("email"))
            user.phone = fields.get("phone")
            if post is not None and user.role != "officer":
                raise InvalidInput("post: only an officer holds a post")
            audit(s, actor, "user_created", user.username,
                  {k: v for k, v in fields.items() if k != "password"})
            return person_view(s, user)

    def acting_posts(self, actor: User) -> list[dict[str, Any]]:
        """The posts the user acts for now: own post first, then additional charges."""
        with self.db.reader() as s:
            names = views.Names(s)
            return [names.known_post(p) for p in org.acting_post_ids(s, actor)]

    def person(self, actor: User, username: str) -> dict[str, Any]:
        org.require_role(actor, "admin", "auditor")
        with self.db.reader() as s:
            return person_view(s, org.user_by_username(s, username))

    # -------------------------------------------------------------- transfers

    @staticmethod
    def _require_vacant(s: Session, post: Post, user: User | None) -> None:
        holder = s.scalar(select(User).where(User.post_id == post.id, User.active,
                                             User.id != (user.id if user else -1)))
        if holder is not None:
            raise Conflict(f"post: {post.code} is held by '{holder.username}'; "
                           "transfer them first")

    def transfer(self, actor: User, username: str, post_ref: Any) -> dict[str, Any]:
        """Move a user to another post (or, with post null, relieve them of theirs)."""
        org.require_role(actor, "admin")
        with self.command() as s:
            user = org.user_by_username(s, username)
            if user.role != "officer":
                raise InvalidInput(f"username: '{username}' is {user.role}; only officers "
                                   "hold posts")
            post = post_by_ref(s, post_ref) if post_ref not in (None, "") else None
            if post is not None and post.id == user.post_id:
                raise Conflict(f"post: '{username}' already holds {post.code}")
            if post is not None:
                self._require_vacant(s, post, user)
            old = s.get(Post, user.post_id) if user.post_id else None
            user.post_id = post.id if post else None
            if post is not None:  # an additional charge of the new post becomes substantive
                for charge in s.scalars(select(AdditionalCharge).where(
                        AdditionalCharge.user_id == user.id, AdditionalCharge.post_id == post.id,
                        AdditionalCharge.ended_at.is_(None))):
                    charge.ended_at, charge.ended_by = utcnow(), actor.id
            audit(s, actor, "user_transferred", username,
                  {"from": old.code if old else None, "to": post.code if post else None})
            s.flush()
            return person_view(s, user)

    def add_charge(self, actor: User, username: str, post_ref: Any, starts: Any,
                   ends: Any) -> dict[str, Any]:
        """The user also acts for `post` from `starts` to `ends` (office days, inclusive)."""
        org.require_role(actor, "admin")
        with self.command() as s:
            user = org.user_by_username(s, username)
            if user.role != "officer":
                raise InvalidInput(f"username: '{username}' is {user.role}; only officers "
                                   "hold posts")
            if post_ref in (None, ""):
                raise InvalidInput("post: required")
            post = post_by_ref(s, post_ref)
            if post.id == user.post_id:
                raise InvalidInput(f"post: {post.code} is already '{username}'s own post")
            today = org.office_today()
            start = _day(starts, "from") if starts else today
            if ends in (None, ""):
                raise InvalidInput("until: required (the last day of the charge)")
            end = _day(ends, "until")
            if end < start:
                raise InvalidInput("until: before 'from'")
            if end < today:
                raise InvalidInput("until: already past")
            overlapping = s.scalar(select(AdditionalCharge.id).where(
                AdditionalCharge.user_id == user.id, AdditionalCharge.post_id == post.id,
                AdditionalCharge.ended_at.is_(None), AdditionalCharge.starts_on <= end,
                AdditionalCharge.ends_on >= start))
            if overlapping is not None:
                raise Conflict(f"post: '{username}' already holds additional charge of "
                               f"{post.code} in that period")
            charge = AdditionalCharge(user_id=user.id, post_id=post.id, starts_on=start,
                                      ends_on=end, granted_by=actor.id, granted_at=utcnow())
            s.add(charge)
            s.flush()
            audit(s, actor, "additional_charge", username,
                  {"charge_id": charge.id, "post": post.code, "from": start.isoformat(),
                   "until": end.isoformat()})
            return charge_view(charge, views.Names(s), today)

    def end_charges(self, actor: User, username: str, post_ref: Any = None
                    ) -> list[dict[str, Any]]:
        """End the user's additional charges not yet over (only for `post` if given)."""
        org.require_role(actor, "admin")
        with self.command() as s:
            user = org.user_by_username(s, username)
            today = org.office_today()
            query = select(AdditionalCharge).where(
                AdditionalCharge.user_id == user.id, AdditionalCharge.ended_at.is_(None),
                AdditionalCharge.ends_on >= today)
            if post_ref not in (None, ""):
                query = query.where(AdditionalCharge.post_id == post_by_ref(s, post_ref).id)
            charges = list(s.scalars(query))
            if not charges:
                raise NotFound(f"'{username}' holds no additional charge to end")
            names = views.Names(s)
            for charge in charges:
                charge.ended_at, charge.ended_by = utcnow(), actor.id
                audit(s, actor, "additional_charge_ended", username,
                      {"charge_id": charge.id, "post": names.known_post(charge.post_id)["code"]})
            s.flush()
            return [charge_view(c, names, today) for c in charges]

    def audit_log(self, actor: User, limit: int = 100) -> list[dict[str, Any]]:
        org.require_role(actor, "admin", "auditor")
        with self.db.reader() as s:
            rows = s.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit))
            return [{"id": r.id, "at": views.iso(r.at), "actor": r.actor, "kind": r.kind,
                     "subject": r.subject, "data": r.data} for r in rows]
