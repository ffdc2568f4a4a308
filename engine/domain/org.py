"""Departments, sections, posts and users; passwords are stored only as hashes."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from engine.errors import Forbidden, InvalidInput, NotFound, Unauthorized
from engine.notify import outbox
from engine.notify.outbox import Recipient
from engine.store import batch_cache, config_cache
from engine.store.access_models import AdditionalCharge
from engine.store.db import get_or_404
from engine.store.models import Department, Post, Section, User, utcnow

ROLES = ("officer", "designer", "auditor", "admin")
# Additional charges run from one office day to another; office days are Indian Standard
# Time (no daylight saving, so a fixed offset is exact).
OFFICE_TZ = timezone(timedelta(hours=5, minutes=30), "IST")


def office_today(at: datetime | None = None) -> date:
    return (at or utcnow()).astimezone(OFFICE_TZ).date()


def acting_post_ids(session: Session, user: User, at: datetime | None = None) -> list[int]:
    """The posts a user holds now: the substantive post first, then every additional
    charge in force on that office day. Acting, inboxes and visibility all use this.
    Worked out once per command (engine/commands/executor.py) for the command's actor."""
    ctx = session.info.get("command_context")
    if ctx is not None and at is None:
        key = ("acting_posts", user.id)
        if key not in ctx.cache:
            ctx.cache[key] = _acting_post_ids(session, user, None)
        return list(ctx.cache[key])
    return _acting_post_ids(session, user, at)


def _acting_post_ids(session: Session, user: User, at: datetime | None) -> list[int]:
    posts = [user.post_id] if user.post_id is not None else []
    day = office_today(at)
    # charges not ended, from the configuration cache (engine/store/config_cache.py)
    charges = config_cache.get("additional_charges", session, _load_charges)
    for post_id, starts_on, ends_on in charges.get(user.id, ()):
        if starts_on <= day <= ends_on and post_id not in posts:
            posts.append(post_id)
    return posts


def _load_charges(session: Session) -> dict[int, list[tuple[int, date, date]]]:
    """Every additional charge not ended yet, by user, in the order they were given."""
    found: dict[int, list[tuple[int, date, date]]] = {}
    for user_id, post_id, starts_on, ends_on in session.execute(
            select(AdditionalCharge.user_id, AdditionalCharge.post_id,
                   AdditionalCharge.starts_on, AdditionalCharge.ends_on)
            .where(AdditionalCharge.ended_at.is_(None)).order_by(AdditionalCharge.id)):
        found.setdefault(user_id, []).append((post_id, starts_on, ends_on))
    return found


# Production hashes passwords with scrypt (werkzeug's default). Only the test suite sets
# SANCHIKA_TEST_CHEAP_HASH=1: one PBKDF2 round, so its thousands of sign-ins and demo users
# cost microseconds. Stored hashes name their method, so either kind always verifies.
STRONG_HASH = "scrypt"
CHEAP_TEST_HASH = "pbkdf2:sha256:1"


def password_method() -> str:
    return CHEAP_TEST_HASH if os.environ.get("SANCHIKA_TEST_CHEAP_HASH") == "1" else STRONG_HASH


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=password_method())


def check_password(stored: str, password: str) -> bool:
    return check_password_hash(stored, password)


def authenticate(session: Session, username: str, password: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    # Check a hash even for unknown users so timing does not reveal which names exist.
    stored = user.password_hash if user else _dummy_hash()
    if not check_password_hash(stored, password) or user is None or not user.active:
        raise Unauthorized("wrong username or password")
    return user


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return hash_password("not-a-real-password")


def user_by_username(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"no user named '{username}'")
    return user


def resolve_post(session: Session, ref: str | int, field: str = "to") -> Post:
    """A post named by username (its holder), post code, or post id."""
    if isinstance(ref, int) or ref.isdigit():
        post = session.get(Post, int(ref))
        if post is not None:
            return post
    if isinstance(ref, str):
        user = session.scalar(select(User).where(User.username == ref))
        if user is not None:
            if user.post_id is None:
                raise InvalidInput(f"{field}: user '{ref}' holds no post")
            return get_or_404(session, Post, user.post_id)
        post = session.scalar(select(Post).where(Post.code == ref))
        if post is not None:
            return post
    raise InvalidInput(f"{field}: no user or post called '{ref}'")


@dataclass(frozen=True)
class PostInfo:
    """A post as the hot path reads it (code, approving power, place in the hierarchy),
    from the in-process configuration cache (engine/store/config_cache.py)."""

    id: int
    code: str
    title: str
    section_id: int | None
    superior_post_id: int | None
    can_approve: bool
    rank: int


def load_posts(session: Session) -> dict[Any, PostInfo]:
    found: dict[Any, PostInfo] = {}
    # columns, not Post objects: the cache is refilled every few seconds in each process,
    # and loading thousands of ORM objects took one request 30 ms of that (bench/README.md)
    for pid, code, title, section_id, superior, can_approve, rank in session.execute(select(
            Post.id, Post.code, Post.title, Post.section_id, Post.superior_post_id,
            Post.can_approve, Post.rank)):
        info = PostInfo(pid, code, title, section_id, superior, bool(can_approve), rank)
        found[pid] = found[code] = info
    return found


@dataclass(frozen=True)
class SectionInfo:
    """A section with its department's code (what file and diary numbers are made of),
    from the configuration cache."""

    id: int
    code: str
    department_id: int
    department_code: str


def section_info(session: Session, section_id: int) -> SectionInfo:
    found = config_cache.get("sections", session, _load_sections).get(section_id)
    if found is None:  # made in another process within the cache's lifetime
        found = _load_sections(session, section_id).get(section_id)
        if found is None:
            raise NotFound(f"no section with id {section_id}")
    return found


def _load_sections(session: Session, only: int | None = None) -> dict[int, SectionInfo]:
    query = select(Section.id, Section.code, Department.id, Department.code).join(
        Department, Department.id == Section.department_id)
    if only is not None:
        query = query.where(Section.id == only)
    return {sid: SectionInfo(sid, code, did, dcode)
            for sid, code, did, dcode in session.execute(query)}


def acting_post_info(session: Session, user: User) -> tuple[PostInfo, SectionInfo]:
    """The user's substantive post and its section (Forbidden when none), cached."""
    post = post_info(session, require_post(user))
    if post.section_id is None:
        raise NotFound(f"post {post.code} has no section")
    return post, section_info(session, post.section_id)


def _load_user_posts(session: Session) -> dict[str, int | None]:
    return dict(session.execute(select(User.username, User.post_id)).all())


def post_info(session: Session, post_id: int) -> PostInfo:
    found = config_cache.get("posts", session, load_posts).get(post_id)
    if found is None:  # made in another process within the cache's lifetime
        post = session.get(Post, post_id)
        if post is None:
            raise InvalidInput(f"no post {post_id}")
        return PostInfo(post.id, post.code, post.title, post.section_id,
                        post.superior_post_id, bool(post.can_approve), post.rank)
    return found


def resolve_post_info(session: Session, ref: str | int, field: str = "to") -> PostInfo:
    """resolve_post, answered from the configuration cache when it can be."""
    posts = config_cache.get("posts", session, load_posts)
    if isinstance(ref, int) or ref.isdigit():
        if int(ref) in posts:
            return posts[int(ref)]
    else:
        users = config_cache.get("user_posts", session, _load_user_posts)
        if ref in users:
            if users[ref] is None:
                raise InvalidInput(f"{field}: user '{ref}' holds no post")
            if users[ref] in posts:
                return posts[users[ref]]
        elif ref in posts:
            return posts[ref]
    return post_info(session, resolve_post(session, ref, field).id)


def holders_of(session: Session, post_id: int) -> list[User]:
    """Who is told about items arriving at a post: its holder and anyone holding it as an
    additional charge today."""
    day = office_today()
    charged = select(AdditionalCharge.user_id).where(
        AdditionalCharge.post_id == post_id, AdditionalCharge.ended_at.is_(None),
        AdditionalCharge.starts_on <= day, AdditionalCharge.ends_on >= day)
    # one query: the substantive holders first, then the additional charges (once per
    # post in a timer-sweep batch, which escalates to the same posts again and again)
    return list(batch_cache.memo(session, ("holders", post_id, day), lambda: list(
        session.scalars(
            select(User).where(User.active, or_(User.post_id == post_id, User.id.in_(charged)))
            .order_by((User.post_id == post_id).desc(), User.id)))))


def recipients_of(session: Session, post_id: int) -> tuple[Recipient, ...]:
    """`holders_of` with the channels each has switched off, from the configuration cache
    (engine/store/config_cache.py: users, additional charges and their settings are
    watched): a notice on the hot path reads nothing. Keyed by the office day, on which
    additional charges start and end."""
    table: dict[tuple[int, date], tuple[Recipient, ...]] = config_cache.get(
        "recipients", session, lambda _s: {})
    key = (post_id, office_today())
    found = table.get(key)
    if found is None:
        users = holders_of(session, post_id)
        off = outbox.channels_off(session, [u.id for u in users])
        found = tuple(Recipient.of(u, off.get(u.id, frozenset())) for u in users)
        table[key] = found
    return found


def require_post(user: User) -> int:
    if user.post_id is None:
        raise Forbidden(f"user '{user.username}' holds no post and cannot act on files")
    return user.post_id


def post_of(session: Session, user: User) -> Post:
    """The post the user holds substantively (Forbidden when none)."""
    return get_or_404(session, Post, require_post(user))


def require_role(user: User, *roles: str) -> None:
    if user.role not in roles:
        raise Forbidden(
            f"this needs the {' or '.join(roles)} role; '{user.username}' is {user.role}")


def ensure_department(session: Session, code: str, name: str) -> Department:
    dept = session.scalar(select(Department).where(Department.code == code))
    if dept is None:
        dept = Department(code=code, name=name)
        session.add(dept)
        session.flush()
    return dept


def ensure_section(session: Session, dept: Department, code: str, name: str) -> Section:
    section = session.scalar(
        select(Section).where(Section.department_id == dept.id, Section.code == code))
    if section is None:
        section = Section(department_id=dept.id, code=code, name=name)
        session.add(section)
        session.flush()
    return section


def ensure_post(session: Session, section: Section, code: str, title: str, *, rank: int = 1,
                can_approve: bool = False, superior: Post | None = None) -> Post:
    post = session.scalar(select(Post).where(Post.code == code))
    if post is None:
        post = Post(code=code, title=title, section_id=section.id, can_approve=can_approve,
                    rank=rank, superior_post_id=superior.id if superior else None)
        session.add(post)
        session.flush()
    return post


def ensure_user(session: Session, username: str, full_name: str, password: str, *,
                post: Post | None = None, role: str = "officer", email: str | None = None
                ) -> User:
    if role not in ROLES:
        raise InvalidInput(f"role: must be one of {', '.join(ROLES)}")
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        user = User(username=username, full_name=full_name, password_hash=hash_password(password),
                    post_id=post.id if post else None, role=role, email=email)
        session.add(user)
        session.flush()
    return user
