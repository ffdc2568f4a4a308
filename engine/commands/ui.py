"""Service methods the web UI needs beyond the API: sign-in with throttling and its
records, the language preference, post picker, inbox rows with numbers and subjects, the
diagram of an instance with its current step, designer views and the dashboard.

A mixin of `Sanchika`; like every service method, each one is one transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.bpm.reader import read_bpmn
from engine.domain import org
from engine.errors import InvalidBpmn, InvalidInput, NotFound, SanchikaError, Unauthorized
from engine.read import views
from engine.store.models import (
    Department,
    File,
    HistoryEvent,
    Instance,
    OpenTask,
    Post,
    ProcessDefinition,
    Receipt,
    Section,
    User,
    utcnow,
)
from engine.store.web_models import SignIn, SignInThrottle

UI_LANGUAGES = ("en", "hi")


class TooManyAttempts(SanchikaError):
    status = 429
    code = "too_many_attempts"


@dataclass(frozen=True)
class ThrottlePolicy:
    """Failures allowed per username and per address before a lock, and its length.
    Each failure while already past the limit doubles the lock, up to `max_lock`."""

    user_failures: int = 5
    ip_failures: int = 20
    lock: timedelta = timedelta(minutes=5)
    max_lock: timedelta = timedelta(hours=1)
    # failures older than this are forgotten
    window: timedelta = timedelta(minutes=30)


class UiServices:
    """Mixed into `Sanchika` (engine/app.py); uses its `db`, `definitions`, `handlers`
    and `settings`."""

    throttle_policy = ThrottlePolicy()

    # ------------------------------------------------------------ sign-in

    def sign_in(self, username: str, password: str, ip: str | None = None,
                user_agent: str | None = None) -> tuple[User, int]:
        """Check the password unless the username or address is locked; record the
        attempt. Returns the user and the sign-in record's id (for the sign-off)."""
        username = (username or "").strip()[:64]
        now = utcnow()
        keys = [f"user:{username.lower()}"] + ([f"ip:{ip}"] if ip else [])
        error: SanchikaError | None = None
        with self.command() as s:  # type: ignore[attr-defined]
            locks = [t for t in (s.get(SignInThrottle, k) for k in keys)
                     if t is not None and t.locked_until and t.locked_until > now]
            user = None
            if locks:
                until = max(t.locked_until for t in locks)  # type: ignore[type-var]
                error = TooManyAttempts(
                    f"too many failed sign-ins; try again after {until:%H:%M} UTC")
                outcome = "locked"
            else:
                try:
                    user = org.authenticate(s, username, password)
                    outcome = "ok"
                except Unauthorized as exc:
                    error, outcome = exc, "failed"
            if outcome == "failed":
                for key in keys:
                    self._count_failure(s, key, now)
            elif outcome == "ok":
                cleared = s.get(SignInThrottle, keys[0])
                if cleared is not None:
                    s.delete(cleared)
            record = SignIn(user_id=user.id if user else None, username=username,
                            ip=(ip or "")[:64] or None, user_agent=(user_agent or "")[:300] or None,
                            outcome=outcome, signed_in_at=now)
            s.add(record)
            s.flush()
            record_id = record.id
        if error is not None:
            raise error
        assert user is not None
        return user, record_id

    def _count_failure(self, s: Session, key: str, now: datetime) -> None:
        policy = self.throttle_policy
        row = s.get(SignInThrottle, key)
        if row is None:
            row = SignInThrottle(key=key, failures=0)
            s.add(row)
        if row.last_failure_at and now - row.last_failure_at > policy.window:
            row.failures = 0
        row.failures += 1
        row.last_failure_at = now
        limit = policy.user_failures if key.startswith("user:") else policy.ip_failures
        if row.failures >= limit:
            lock = min(policy.lock * 2 ** (row.failures - limit), policy.max_lock)
            row.locked_until = now + lock

    def sign_out(self, sign_in_id: int | None) -> None:
        if not sign_in_id:
            return
        with self.command() as s:  # type: ignore[attr-defined]
            record = s.get(SignIn, int(sign_in_id))
            if record is not None and record.signed_out_at is None:
                record.signed_out_at = utcnow()

    def sign_ins(self, actor: User, limit: int = 200) -> list[dict[str, Any]]:
        org.require_role(actor, "admin", "auditor")
        with self.db.reader() as s:  # type: ignore[attr-defined]
            rows = s.scalars(select(SignIn).order_by(SignIn.id.desc()).limit(limit))
            return [{"id": r.id, "username": r.username, "ip": r.ip, "outcome": r.outcome,
                     "user_agent": r.user_agent, "signed_in_at": views.iso(r.signed_in_at),
                     "signed_out_at": views.iso(r.signed_out_at)} for r in rows]

    def set_language(self, actor: User, language: str) -> None:
        if language not in UI_LANGUAGES:
            raise InvalidInput(f"language: one of {', '.join(UI_LANGUAGES)}")
        with self.command() as s:  # type: ignore[attr-defined]
            user = s.get(User, actor.id)
            user.language = language

    # ------------------------------------------------------------ officer's desk

    def posts(self, actor: User) -> list[dict[str, Any]]:
        """Posts an item can be sent to, with who holds them (the forward picker)."""
        with self.db.reader() as s:  # type: ignore[attr-defined]
            holders = {p: u for p, u in s.execute(
                select(User.post_id, User.full_name).where(User.post_id.is_not(None),
                                                           User.active))}
            rows = s.scalars(select(Post).order_by(Post.rank, Post.code))
            return [{"id": p.id, "code": p.code, "title": p.title, "rank": p.rank,
                     "can_approve": p.can_approve, "holder": holders.get(p.id)}
                    for p in rows if p.id != actor.post_id]

    def acting_post_id_list(self, actor: User) -> list[int]:
        """The posts the user acts for today (own post and additional charges)."""
        with self.db.reader() as s:  # type: ignore[attr-defined]
            return org.acting_post_ids(s, actor)

    def inbox_rows(self, actor: User) -> list[dict[str, Any]]:
        """The inbox with each item's number, subject and sender, in one query each."""
        rows = self.inbox(actor)  # type: ignore[attr-defined]
        file_ids = [r["file_id"] for r in rows if r.get("file_id")]
        receipt_ids = [r["receipt_id"] for r in rows if r.get("receipt_id")]
        with self.db.reader() as s:  # type: ignore[attr-defined]
            files = {f.id: f for f in s.scalars(select(File).where(File.id.in_(file_ids)))}
            receipts = {r.id: r for r in s.scalars(
                select(Receipt).where(Receipt.id.in_(receipt_ids)))}
        for row in rows:
            if row["kind"] == "file" and row["file_id"] in files:
                f = files[row["file_id"]]
                row.update(number=f.file_no, subject=f.subject)
            elif row.get("receipt_id") in receipts:
                r = receipts[row["receipt_id"]]
                row.update(number=r.diary_no, subject=r.subject, sender=r.sender)
        return rows

    def receipts_with_pdf(self, receipt_ids: list[int]) -> set[int]:
        """Which of these receipts carry a scanned letter (for the preview pane)."""
        if not receipt_ids:
            return set()
        with self.db.reader() as s:  # type: ignore[attr-defined]
            return set(s.scalars(select(Receipt.id).where(
                Receipt.id.in_(receipt_ids), Receipt.pdf_sha256.is_not(None))))

    # ------------------------------------------------------------ tracking

    def diagram(self, actor: User, kind: str, subject_id: int) -> dict[str, Any]:
        """The BPMN of a file's or receipt's instance (the version it runs on), its open
        steps (task spec ids = BPMN element ids) and the steps already completed."""
        if kind == "file":
            view = self.file(actor, subject_id)  # type: ignore[attr-defined]
        elif kind == "receipt":
            view = self.receipt(actor, subject_id)  # type: ignore[attr-defined]
        else:
            raise NotFound(f"no {kind} {subject_id}")
        instance_id = view.get("instance_id")
        if instance_id is None:
            raise NotFound(f"{kind} {subject_id} has no process instance")
        with self.db.reader() as s:  # type: ignore[attr-defined]
            instance = s.get(Instance, instance_id)
            definition = s.get(ProcessDefinition, instance.definition_id)
            current = list(s.scalars(select(OpenTask.task_spec).where(
                OpenTask.instance_id == instance_id, OpenTask.closed_at.is_(None))))
            done = list(s.scalars(select(HistoryEvent.task_spec).where(
                HistoryEvent.instance_id == instance_id,
                HistoryEvent.kind.in_(("task_completed", "handler_called", "timer_fired")),
                HistoryEvent.task_spec.is_not(None)).distinct()))
            return {"process_id": definition.process_id, "version": definition.version,
                    "xml": definition.bpmn_xml, "status": instance.status,
                    "current": sorted(set(current)), "done": sorted(set(done) - set(current))}

    # ------------------------------------------------------------ designer

    def definitions_overview(self, actor: User) -> list[dict[str, Any]]:
        """Every deployed version with how many instances still run on it."""
        org.require_role(actor, "designer", "admin", "auditor")
        with self.db.reader() as s:  # type: ignore[attr-defined]
            counts = dict(s.execute(
                select(Instance.definition_id, func.count()).where(Instance.status == "running")
                .group_by(Instance.definition_id)).all())
            rows = s.scalars(select(ProcessDefinition).order_by(
                ProcessDefinition.process_id, ProcessDefinition.version.desc()))
            return [{"id": d.id, "process_id": d.process_id, "version": d.version,
                     "deployed_at": views.iso(d.deployed_at), "deployed_by": d.deployed_by,
                     "content_hash": d.content_hash, "running": counts.get(d.id, 0)}
                    for d in rows]

    def definition_xml(self, actor: User, process_id: str, version: int) -> str:
        org.require_role(actor, "designer", "admin", "auditor")
        with self.db.reader() as s:  # type: ignore[attr-defined]
            xml = s.scalar(select(ProcessDefinition.bpmn_xml).where(
                ProcessDefinition.process_id == process_id,
                ProcessDefinition.version == version))
            if xml is None:
                raise NotFound(f"no version {version} of process '{process_id}'")
            return xml

    def validate_bpmn(self, actor: User, xml: bytes) -> list[dict[str, Any]]:
        """Everything deploy would refuse, without deploying: [] when the document is fine."""
        org.require_role(actor, "designer", "admin")
        try:
            read_bpmn(xml, self.handlers.names(),  # type: ignore[attr-defined]
                      self.settings.max_bpmn_bytes)  # type: ignore[attr-defined]
        except InvalidBpmn as exc:
            return exc.details or [{"element_id": None, "line": None, "message": exc.message}]
        return []

    # ------------------------------------------------------------ dashboard

    def dashboard(self, actor: User) -> dict[str, Any]:
        """My pendency, my section's pendency per post, overdue counts, and files created
        per department per month — counted in the database, not in Python."""
        now = utcnow()
        with self.db.reader() as s:  # type: ignore[attr-defined]
            open_ = OpenTask.closed_at.is_(None)
            overdue = OpenTask.due_at < now
            mine = {"total": 0, "overdue": 0, "files": 0, "receipts": 0}
            section_id = None
            if actor.post_id is not None:
                for kind, late, n in s.execute(
                        select(OpenTask.kind, overdue, func.count())
                        .where(open_, OpenTask.post_id == actor.post_id)
                        .group_by(OpenTask.kind, overdue)):
                    mine["total"] += n
                    mine["files" if kind == "file" else "receipts"] += n
                    mine["overdue"] += n if late else 0
                section_id = s.scalar(select(Post.section_id).where(Post.id == actor.post_id))
            per_post = select(Post.code, Post.title, func.count(OpenTask.id),
                              func.count(OpenTask.id).filter(overdue)) \
                .join(OpenTask, (OpenTask.post_id == Post.id) & open_, isouter=True) \
                .group_by(Post.id, Post.code, Post.title, Post.rank).order_by(Post.rank)
            section = [{"post": c, "title": t, "pending": n, "overdue": o}
                       for c, t, n, o in s.execute(per_post.where(Post.section_id == section_id))
                       ] if section_id else []
            overdue_posts = [{"post": c, "title": t, "pending": n, "overdue": o}
                             for c, t, n, o in s.execute(per_post) if o]
            month = _month(s, File.created_at)
            created = [{"department": d, "month": m, "files": n} for d, m, n in s.execute(
                select(Department.code, month, func.count(File.id))
                .join(Section, Section.department_id == Department.id)
                .join(File, File.section_id == Section.id)
                .group_by(Department.code, month).order_by(month, Department.code))]
            return {"mine": mine, "section": section, "overdue": overdue_posts,
                    "created": created, "at": views.iso(now)}


def _month(s: Session, column: Any) -> Any:
    """'YYYY-MM' of a timestamp column in the connected dialect."""
    if s.get_bind().dialect.name == "sqlite":
        return func.strftime("%Y-%m", column)
    return func.to_char(column, "YYYY-MM")
