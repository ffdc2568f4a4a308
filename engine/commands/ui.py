"""Service methods the web UI needs beyond the API: sign-in with throttling and its
records, the language preference, post picker, inbox rows with numbers and subjects, the
diagram of an instance with its current step, designer views and the dashboard.

A mixin of `Sanchika`; like every service method, each one is one transaction."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.bpm import routing
from engine.commands.executor import CommandRunner
from engine.domain import org, throttle
from engine.errors import InvalidBpmn, InvalidInput, NotFound, SanchikaError, Unauthorized
from engine.notify import notices
from engine.read import views
from engine.store.access_models import AuditEntry
from engine.store.db import get_or_404
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
from engine.store.web_models import SignIn

if TYPE_CHECKING:
    from engine.bpm.definitions import Definitions
    from engine.bpm.handler_api import HandlerRegistry
    from engine.config import Settings
    from engine.store.db import Database

UI_LANGUAGES = ("en", "hi")
# months of files created per department on the dashboard chart
CHART_MONTHS = 12


class TooManyAttempts(SanchikaError):
    status = 429
    code = "too_many_attempts"

    def __init__(self, message: str, retry_after: int = 1):
        super().__init__(message)
        self.retry_after = max(1, retry_after)  # seconds, for the Retry-After header


class UiServices(CommandRunner):
    """Mixed into `Sanchika` (engine/app.py); uses its `db`, `definitions`, `handlers`
    and `settings`."""

    db: Database
    definitions: Definitions
    handlers: HandlerRegistry
    settings: Settings

    if TYPE_CHECKING:  # provided by Sanchika
        def inbox(self, actor: User) -> list[dict[str, Any]]: ...
        def file(self, actor: User, file_id: int) -> dict[str, Any]: ...
        def receipt(self, actor: User, receipt_id: int) -> dict[str, Any]: ...

    throttle_policy = throttle.ThrottlePolicy()

    # ------------------------------------------------------------ sign-in

    def sign_in(self, username: str, password: str, ip: str | None = None,
                user_agent: str | None = None) -> tuple[User, int]:
        """Check the password unless this username is held back from this address (or the
        address is locked); record the attempt (engine/domain/throttle.py). Returns the
        user and the sign-in record's id (for the sign-off)."""
        username = (username or "").strip()[:64]
        now = utcnow()
        error: SanchikaError | None = None
        with self.command() as s:
            until = throttle.locked_until(s, username, ip, now)
            user = None
            if until is not None:
                wait = int((until - now).total_seconds() + 0.999)
                error = TooManyAttempts(
                    f"too many failed sign-ins for this name from your address; try again "
                    f"after {until:%H:%M:%S} UTC", retry_after=wait)
                outcome = "locked"
            else:
                try:
                    user = org.authenticate(s, username, password)
                    outcome = "ok"
                except Unauthorized as exc:
                    error, outcome = exc, "failed"
            if outcome == "failed":
                count = throttle.record_failure(s, username, ip, now, self.throttle_policy)
                target = s.scalar(select(User).where(User.username == username))
                if count is not None and target is not None and target.active:
                    notices.send(s, f"sign_in_guessed:{target.id}:{count}:{now.isoformat()}",
                                 [target], "sign_in_guessed", count=count,
                                 username=target.username, address=ip or "unknown")
            elif outcome == "ok":
                throttle.record_success(s, username, ip)
            record = SignIn(user_id=user.id if user else None, username=username,
                            ip=(ip or "")[:64] or None, user_agent=(user_agent or "")[:300] or None,
                            outcome=outcome, signed_in_at=now)
            s.add(record)
            s.flush()
            record_id = record.id
        if error is not None:
            raise error
        if user is None:  # authenticate() returns the user or raises
            raise Unauthorized("sign-in failed")
        return user, record_id

    def unlock_sign_in(self, actor: User, username: str | None = None,
                       address: str | None = None) -> dict[str, Any]:
        """An administrator lifts the sign-in locks of a user (from every address) and/or
        of an address."""
        org.require_role(actor, "admin")
        if not (username or address):
            raise InvalidInput("username: give a username or an address to unlock")
        with self.command() as s:
            if username:
                org.user_by_username(s, username)
            lifted = throttle.unlock(s, username, address)
            s.add(AuditEntry(at=utcnow(), actor=actor.username, kind="sign_in_unlocked",
                             subject=username or address or "",
                             data={"address": address, "rows": lifted}))
            return {"username": username, "address": address, "lifted": lifted}

    def sign_out(self, sign_in_id: int | None) -> None:
        if not sign_in_id:
            return
        with self.command() as s:
            record = s.get(SignIn, int(sign_in_id))
            if record is not None and record.signed_out_at is None:
                record.signed_out_at = utcnow()

    def sign_ins(self, actor: User, limit: int = 200) -> list[dict[str, Any]]:
        org.require_role(actor, "admin", "auditor")
        with self.db.reader() as s:
            rows = s.scalars(select(SignIn).order_by(SignIn.id.desc()).limit(limit))
            return [{"id": r.id, "username": r.username, "ip": r.ip, "outcome": r.outcome,
                     "user_agent": r.user_agent, "signed_in_at": views.iso(r.signed_in_at),
                     "signed_out_at": views.iso(r.signed_out_at)} for r in rows]

    def set_language(self, actor: User, language: str) -> None:
        if language not in UI_LANGUAGES:
            raise InvalidInput(f"language: one of {', '.join(UI_LANGUAGES)}")
        with self.command() as s:
            get_or_404(s, User, actor.id).language = language

    # ------------------------------------------------------------ officer's desk

    def posts(self, actor: User) -> list[dict[str, Any]]:
        """Posts an item can be sent to, with who holds them (the forward picker)."""
        with self.db.reader() as s:
            holders = {p: u for p, u in s.execute(
                select(User.post_id, User.full_name).where(User.post_id.is_not(None),
                                                           User.active))}
            rows = s.scalars(select(Post).order_by(Post.rank, Post.code))
            return [{"id": p.id, "code": p.code, "title": p.title, "rank": p.rank,
                     "can_approve": p.can_approve, "holder": holders.get(p.id)}
                    for p in rows if p.id != actor.post_id]

    def acting_post_id_list(self, actor: User) -> list[int]:
        """The posts the user acts for today (own post and additional charges)."""
        with self.db.reader() as s:
            return org.acting_post_ids(s, actor)

    def inbox_rows(self, actor: User) -> list[dict[str, Any]]:
        """The inbox with each item's number, subject and sender, in one query each."""
        rows = self.inbox(actor)
        file_ids = [r["file_id"] for r in rows if r.get("file_id")]
        receipt_ids = [r["receipt_id"] for r in rows if r.get("receipt_id")]
        with self.db.reader() as s:
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
        with self.db.reader() as s:
            return set(s.scalars(select(Receipt.id).where(
                Receipt.id.in_(receipt_ids), Receipt.pdf_sha256.is_not(None))))

    # ------------------------------------------------------------ tracking

    def diagram(self, actor: User, kind: str, subject_id: int) -> dict[str, Any]:
        """The BPMN of a file's or receipt's instance (the version it runs on), its open
        steps (task spec ids = BPMN element ids) and the steps already completed."""
        if kind == "file":
            view = self.file(actor, subject_id)
        elif kind == "receipt":
            view = self.receipt(actor, subject_id)
        else:
            raise NotFound(f"no {kind} {subject_id}")
        instance_id = view.get("instance_id")
        if instance_id is None:
            raise NotFound(f"{kind} {subject_id} has no process instance")
        with self.db.reader() as s:
            instance = get_or_404(s, Instance, instance_id)
            definition = instance.definition
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
        with self.db.reader() as s:
            counts = dict(s.execute(
                select(Instance.definition_id, func.count()).where(Instance.status == "running")
                .group_by(Instance.definition_id)).all())
            rows = s.scalars(select(ProcessDefinition).order_by(
                ProcessDefinition.process_id, ProcessDefinition.version.desc()))
            return [{"id": d.id, "process_id": d.process_id, "version": d.version,
                     "deployed_at": views.iso(d.deployed_at), "deployed_by": d.deployed_by,
                     "content_hash": d.content_hash, "running": counts.get(d.id, 0),
                     "current": d.is_current, "suspended": d.suspended}
                    for d in rows]

    def definition_xml(self, actor: User, process_id: str, version: int) -> str:
        org.require_role(actor, "designer", "admin", "auditor")
        with self.db.reader() as s:
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
            read = self.definitions.check(xml)
        except InvalidBpmn as exc:
            return exc.details or [{"element_id": None, "line": None, "message": exc.message}]
        with self.db.reader() as s:  # the posts and users the diagram names exist
            return routing.unknown_names(s, read.routed)

    # ------------------------------------------------------------ dashboard

    def dashboard(self, actor: User) -> dict[str, Any]:
        """My pendency, my section's pendency per post, overdue counts, and files created
        per department per month — counted in the database, not in Python."""
        now = utcnow()
        with self.db.reader() as s:
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
            # counts of a column the inbox index carries: answered from the index alone
            per_post = select(Post.code, Post.title, func.count(OpenTask.post_id),
                              func.count(OpenTask.post_id).filter(overdue)) \
                .join(OpenTask, (OpenTask.post_id == Post.id) & open_, isouter=True) \
                .group_by(Post.id, Post.code, Post.title, Post.rank).order_by(Post.rank)
            section = [{"post": c, "title": t, "pending": n, "overdue": o}
                       for c, t, n, o in s.execute(per_post.where(Post.section_id == section_id))
                       ] if section_id else []
            overdue_posts = [{"post": c, "title": t, "pending": n, "overdue": o}
                             for c, t, n, o in s.execute(per_post) if o]
            month = _month(s, File.created_at)
            # the last CHART_MONTHS months only, read from ix_files_created_at (created_at,
            # section_id) alone: the whole files table grows without end
            since = (now.replace(day=1) - timedelta(days=31 * (CHART_MONTHS - 1))).replace(
                day=1, hour=0, minute=0, second=0, microsecond=0)
            per_section = (select(File.section_id, month.label("month"),
                                  func.count().label("n"))
                           .where(File.created_at >= since)
                           .group_by(File.section_id, month).subquery())
            created = [{"department": d, "month": _month_text(m), "files": int(n)}
                       for d, m, n in s.execute(
                select(Department.code, per_section.c.month, func.sum(per_section.c.n))
                .join(Section, Section.department_id == Department.id)
                .join(per_section, per_section.c.section_id == Section.id)
                .group_by(Department.code, per_section.c.month)
                .order_by(per_section.c.month, Department.code))]
            return {"mine": mine, "section": section, "overdue": overdue_posts,
                    "created": created, "at": views.iso(now)}


def _month(s: Session, column: Any) -> Any:
    """The month of a timestamp column: 'YYYY-MM' on SQLite, the month's first instant on
    PostgreSQL (date_trunc: far cheaper per row than formatting; _month_text formats the
    few groups)."""
    if s.get_bind().dialect.name == "sqlite":
        return func.strftime("%Y-%m", column)
    return func.date_trunc("month", column)


def _month_text(value: Any) -> str:
    return value if isinstance(value, str) else value.strftime("%Y-%m")
