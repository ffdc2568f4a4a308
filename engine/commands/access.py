"""Who sees what, from outside (a mixin of Sanchika): explicit access grants and search.

A grant lets one user read one file or receipt (until a time, or until revoked). It is
given by an administrator or by the item's current holder at Section Officer rank or
above, needs a reason, and is recorded three times over: the grant row, the audit log and
an event in the item's hash-chained history. Revoking records the same way."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.audit import history
from engine.commands.executor import CommandRunner
from engine.commands.people import audit
from engine.domain import files as files_mod
from engine.domain import org, receipts, visibility
from engine.errors import Conflict, Forbidden, InvalidInput, NotFound
from engine.ocr import text as ocr_text
from engine.read import views
from engine.search import index as search_index
from engine.store.access_models import AccessGrant
from engine.store.db import get_or_404
from engine.store.models import File, Instance, Post, Receipt, User, utcnow

if TYPE_CHECKING:
    from engine.store.db import Database

GRANTOR_MIN_RANK = 2  # Section Officer
SEARCH_KINDS = ("file", "receipt")


def _until(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        moment = value
    else:
        raw = str(value)
        try:
            moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidInput("until: a date (YYYY-MM-DD) or an ISO date-time") from None
        if len(raw) == 10:  # a date: to the end of that office day
            moment = datetime.combine(moment.date(), time(23, 59, 59), org.OFFICE_TZ)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if moment <= utcnow():
        raise InvalidInput("until: already past")
    return moment


def grant_view(g: AccessGrant, names: views.Names) -> dict[str, Any]:
    now = utcnow()
    return {"id": g.id, "user": names.user(g.user_id), "file_id": g.file_id,
            "receipt_id": g.receipt_id, "reason": g.reason, "until": views.iso(g.until),
            "granted_by": names.user(g.granted_by), "granted_at": views.iso(g.granted_at),
            "revoked_at": views.iso(g.revoked_at), "revoked_by": names.user(g.revoked_by),
            "active": g.revoked_at is None and (g.until is None or g.until > now)}


class AccessServices(CommandRunner):
    db: Database

    # -------------------------------------------------------------- grants

    @staticmethod
    def _item(s: Session, file_id: Any, receipt_id: Any) -> File | Receipt:
        if bool(file_id) == bool(receipt_id):
            raise InvalidInput("file_id: give either file_id or receipt_id")
        if file_id:
            return files_mod.get_file(s, int(file_id))
        return receipts.get_receipt(s, int(receipt_id))

    @staticmethod
    def _may_grant(s: Session, actor: User, item: File | Receipt) -> None:
        if actor.role == "admin":
            return
        label = getattr(item, "file_no", None) or getattr(item, "diary_no", "")
        holder = s.get(Post, item.holder_post_id) if item.holder_post_id else None
        if holder is None or holder.id not in org.acting_post_ids(s, actor) \
                or holder.rank < GRANTOR_MIN_RANK:
            raise Forbidden(f"only an administrator, or the current holder of {label} at "
                            "Section Officer rank or above, grants or revokes access to it")

    @staticmethod
    def _record(s: Session, actor: User, item: File | Receipt, kind: str,
                data: dict[str, Any]) -> None:
        label = str(getattr(item, "file_no", None) or getattr(item, "diary_no", ""))
        audit(s, actor, kind, label, data)
        if item.instance_id is not None:
            instance = get_or_404(s, Instance, item.instance_id)
            history.append(s, instance, kind, actor=actor.username, data=data)

    def grant(self, actor: User, fields: dict[str, Any]) -> dict[str, Any]:
        reason = str(fields.get("reason") or "").strip()
        if not reason:
            raise InvalidInput("reason: say why this access is given")
        if not fields.get("user"):
            raise InvalidInput("user: required (a username)")
        until = _until(fields.get("until"))
        with self.command() as s:
            item = self._item(s, fields.get("file_id"), fields.get("receipt_id"))
            self._may_grant(s, actor, item)
            grantee = s.scalar(select(User).where(User.username == fields["user"]))
            if grantee is None:
                raise InvalidInput(f"user: no user named '{fields['user']}'")
            grant = AccessGrant(
                user_id=grantee.id, reason=reason[:2000], until=until, granted_by=actor.id,
                granted_at=utcnow(),
                file_id=item.id if isinstance(item, File) else None,
                receipt_id=item.id if isinstance(item, Receipt) else None)
            s.add(grant)
            s.flush()
            self._record(s, actor, item, "access_granted",
                         {"grant_id": grant.id, "user": grantee.username, "reason": grant.reason,
                          "until": views.iso(until)})
            return grant_view(grant, views.Names(s))

    def revoke_grant(self, actor: User, grant_id: int) -> dict[str, Any]:
        with self.command() as s:
            grant = s.get(AccessGrant, grant_id)
            if grant is None:
                raise NotFound(f"no grant with id {grant_id}")
            item = self._item(s, grant.file_id, grant.receipt_id)
            if grant.granted_by != actor.id:
                self._may_grant(s, actor, item)
            if grant.revoked_at is not None:
                raise Conflict(f"grant {grant_id} was already revoked")
            grant.revoked_at, grant.revoked_by = utcnow(), actor.id
            names = views.Names(s)
            self._record(s, actor, item, "access_revoked",
                         {"grant_id": grant.id, "user": names.user(grant.user_id)})
            s.flush()
            return grant_view(grant, names)

    def grants(self, actor: User, file_id: int | None = None, receipt_id: int | None = None
               ) -> list[dict[str, Any]]:
        """Grants on one item (for those who may read it), or all of them (admin, auditor)."""
        with self.db.reader() as s:
            query = select(AccessGrant).order_by(AccessGrant.id)
            if file_id or receipt_id:
                item = self._item(s, file_id, receipt_id)
                if isinstance(item, File):
                    visibility.require_read_file(s, actor, item)
                    query = query.where(AccessGrant.file_id == item.id)
                else:
                    visibility.require_read_receipt(s, actor, item)
                    query = query.where(AccessGrant.receipt_id == item.id)
            elif not visibility.sees_everything(actor):
                query = query.where((AccessGrant.user_id == actor.id)
                                    | (AccessGrant.granted_by == actor.id))
            names = views.Names(s)
            return [grant_view(g, names) for g in s.scalars(query)]

    # -------------------------------------------------------------- search

    def search(self, actor: User, q: str, kind: str | None = None, limit: int = 50
               ) -> list[dict[str, Any]]:
        """Files and receipts whose number, subject, sender or green notes contain every
        word of q (Hindi or English), limited to what the actor may read."""
        if kind not in (None, *SEARCH_KINDS):
            raise InvalidInput(f"kind: one of {', '.join(SEARCH_KINDS)}")
        if not search_index.words(q):
            raise InvalidInput("q: give a word or a number to search for")
        limit = min(max(int(limit), 1), 200)
        with self.db.reader() as s:
            rows = [search_index.result_row(d, q)
                    for d in search_index.matching(s, actor, q, kind, limit)]
            # a hit in a scanned letter: its page and line
            located = ocr_text.locate_many(s, [(r["kind"], r["id"]) for r in rows],
                                           search_index.words(q))
            for row in rows:
                row.update(located.get((row["kind"], row["id"]), {}))
            return rows
