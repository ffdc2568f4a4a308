"""Monitoring reports: pendency per office/section/post with drill-down to the items,
where an item is stuck, time at desk per officer and post month by month, adoption
figures and month-wise created/received/forwarded counts.

All read indexed rows (open tasks, movements, files, receipts) and never a workflow; the
scope is what the actor may monitor (`scope_posts`). Months are office (IST) months."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session

from engine.domain import offices, org
from engine.errors import Forbidden, InvalidInput, NotFound
from engine.read.views import iso
from engine.store.admin_models import Office
from engine.store.models import (
    Department,
    File,
    Movement,
    OpenTask,
    Post,
    Receipt,
    Section,
    User,
)

DAY = 86400.0
ITEMS_SHOWN = 500
SENDING_ACTIONS = ("forward", "submit", "return")


def month_of(moment: datetime) -> str:
    return moment.astimezone(org.OFFICE_TZ).strftime("%Y-%m")


def _days(start: datetime, end: datetime) -> float:
    return round((end - start).total_seconds() / DAY, 1)


@dataclass
class Org:
    """The organisation in memory for one report: posts, sections, offices."""

    posts: dict[int, Post]
    sections: dict[int, Section]
    offices: dict[int, Office]
    departments: dict[int, Department]
    section_office: dict[int, int | None]
    holders: dict[int, str]

    @classmethod
    def load(cls, s: Session) -> Org:
        sections = {x.id: x for x in s.scalars(select(Section))}
        return cls(
            posts={p.id: p for p in s.scalars(select(Post))}, sections=sections,
            offices={o.id: o for o in s.scalars(select(Office))},
            departments={d.id: d for d in s.scalars(select(Department))},
            section_office={sid: offices.office_of_section(s, sec)
                            for sid, sec in sections.items()},
            holders={post_id: username for post_id, username in s.execute(
                select(User.post_id, User.username).where(User.active,
                                                          User.post_id.is_not(None)))
                if post_id is not None})

    def office_of_post(self, post_id: int) -> int | None:
        return self.section_office.get(self.posts[post_id].section_id)

    def dept_of_post(self, post_id: int) -> int:
        return self.sections[self.posts[post_id].section_id].department_id

    def post_row(self, post_id: int) -> dict[str, Any]:
        p = self.posts[post_id]
        return {"id": p.id, "code": p.code, "title": p.title, "officer": self.holders.get(p.id)}

    def office_chain(self, office_id: int | None) -> list[int]:
        out = []
        while office_id is not None and office_id not in out:
            out.append(office_id)
            office_id = self.offices[office_id].parent_id
        return out


def scope_posts(s: Session, actor: User) -> list[int]:
    """Posts the actor may monitor: everything for an administrator or auditor; for a
    monitoring post, the posts of the sections it monitors; any other officer sees the
    posts of their own section."""
    if actor.role in ("admin", "auditor"):
        return list(s.scalars(select(Post.id)))
    if actor.role != "officer":
        raise Forbidden("monitoring reports are for officers, auditors and administrators")
    posts = org.acting_post_ids(s, actor)
    sections: set[int] = set()
    for post in s.scalars(select(Post).where(Post.id.in_(posts))):
        if post.monitors:
            sections.update(offices.monitor_sections(s, post))
        else:
            sections.add(post.section_id)
    return list(s.scalars(select(Post.id).where(Post.section_id.in_(sections))))


def _scope(s: Session, actor: User | None, scope: set[int] | None) -> set[int]:
    if scope is not None:
        return scope
    if actor is None:
        raise InvalidInput("a report needs an actor or a scope")
    return set(scope_posts(s, actor))


def _open_tasks(s: Session, posts: list[int]) -> list[OpenTask]:
    return list(s.scalars(select(OpenTask).where(OpenTask.closed_at.is_(None),
                                                 OpenTask.post_id.in_(posts))))


def arrived(task: OpenTask) -> datetime:
    return task.received_at


def _aggregate(tasks: list[OpenTask], now: datetime) -> dict[str, Any]:
    if not tasks:
        return {"held": 0, "overdue": 0, "oldest": None, "oldest_days": None,
                "average_days": None, "parked": 0}
    oldest = min(tasks, key=lambda t: t.received_at)
    days = [(now - t.received_at).total_seconds() / DAY for t in tasks]
    return {"held": len(tasks),
            "overdue": sum(1 for t in tasks if t.due_at is not None and t.due_at < now),
            "oldest": iso(oldest.received_at), "oldest_days": round(max(days), 1),
            "oldest_task": oldest.id,
            "average_days": round(sum(days) / len(days), 1),
            "parked": sum(1 for t in tasks if t.parked)}


@dataclass
class _Held:
    """What one post holds, counted by the database (one grouped query for all posts)."""

    count: int
    overdue: int
    oldest: datetime
    epoch_sum: float
    parked: int


def _held_by_post(s: Session, posts: list[int], now: datetime) -> dict[int, _Held]:
    if not posts:
        return {}
    if s.get_bind().dialect.name == "sqlite":
        epoch = (func.julianday(OpenTask.received_at) - 2440587.5) * 86400.0
    else:
        epoch = func.extract("epoch", OpenTask.received_at)
    rows = s.execute(
        select(OpenTask.post_id, func.count(),
               func.sum(case((OpenTask.due_at < now, 1), else_=0)),
               func.min(OpenTask.received_at), func.sum(epoch),
               func.sum(case((OpenTask.parked, 1), else_=0)))
        .where(OpenTask.closed_at.is_(None), OpenTask.post_id.in_(posts))
        .group_by(OpenTask.post_id))
    return {post: _Held(int(n), int(late or 0), _aware(oldest), float(total), int(parked or 0))
            for post, n, late, oldest, total, parked in rows}


def _aware(value: Any) -> datetime:
    if isinstance(value, str):  # SQLite's min() hands back the stored text
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _aggregate_held(s: Session, held: list[tuple[int, _Held]], now: datetime
                    ) -> dict[str, Any]:
    """_aggregate's figures from per-post counts: sums, and the oldest post's oldest task
    (one indexed lookup)."""
    n = sum(h.count for _p, h in held)
    if not n:
        return _aggregate([], now)
    post, first = min(held, key=lambda ph: ph[1].oldest)
    oldest_task = s.scalar(select(OpenTask.id).where(
        OpenTask.post_id == post, OpenTask.closed_at.is_(None),
        OpenTask.received_at == first.oldest).order_by(OpenTask.id).limit(1))
    mean_epoch = sum(h.epoch_sum for _p, h in held) / n
    return {"held": n, "overdue": sum(h.overdue for _p, h in held),
            "oldest": iso(first.oldest),
            "oldest_days": round((now - first.oldest).total_seconds() / DAY, 1),
            "oldest_task": oldest_task,
            "average_days": round((now.timestamp() - mean_epoch) / DAY, 1),
            "parked": sum(h.parked for _p, h in held)}


def pendency(s: Session, actor: User, now: datetime, office: str | None = None,
             section: int | None = None) -> dict[str, Any]:
    """One level of the pendency tree: the top offices, an office's sub-offices and
    sections, or a section's posts. Every row has held, overdue, oldest (date and days),
    average days held, and the key to drill down with."""
    scope = set(scope_posts(s, actor))
    o = Org.load(s)
    # counted per post by the database, summed per row here: a state's pendency is
    # hundreds of thousands of open tasks, never loaded one by one
    by_post = _held_by_post(s, list(scope), now)
    groups: list[tuple[dict[str, Any], list[int]]] = []  # (row, its posts)
    chain_of = {p: o.office_chain(o.office_of_post(p)) for p in scope}
    office_id: int | None = None
    if section is not None:
        sec = o.sections.get(section)
        posts = sorted((p for p in scope if o.posts[p].section_id == section),
                       key=lambda p: (-o.posts[p].rank, o.posts[p].code))
        if sec is None or not posts:
            raise Forbidden("that section is outside what you monitor")
        for p in posts:
            groups.append(({"level": "post", "key": p, "name": o.posts[p].title,
                            "code": o.posts[p].code, "officer": o.holders.get(p)}, [p]))
        title, office_id = sec.name, o.section_office.get(section)
        trail = o.office_chain(office_id)
    else:
        if office:
            found = next((x for x in o.offices.values() if x.code == office), None)
            if found is None:
                raise InvalidInput(f"office: no office with code '{office}'")
            office_id = found.id
        used = {oid for chain in chain_of.values() for oid in chain}
        if office_id is None:  # top: offices with posts in scope whose parent has none
            direct = {o.office_of_post(p) for p in scope} - {None}
            children = [x for x in o.offices.values() if x.id in direct
                        and (x.parent_id is None or x.parent_id not in direct)]
        else:
            children = [x for x in o.offices.values() if x.parent_id == office_id
                        and x.id in used]
        children.sort(key=lambda x: (offices.OFFICE_KINDS.index(x.kind), x.name))
        for child in children:
            posts = [p for p in scope if child.id in chain_of[p]]
            groups.append(({"level": "office", "key": child.code, "name": child.name,
                            "kind": child.kind, "posts": len(posts)}, posts))
        for sid in sorted({o.posts[p].section_id for p in scope
                           if o.office_of_post(p) == office_id}):
            posts = [p for p in scope if o.posts[p].section_id == sid]
            dept = o.departments[o.sections[sid].department_id]
            groups.append(({"level": "section", "key": sid, "name": o.sections[sid].name,
                            "code": f"{dept.code}/{o.sections[sid].code}",
                            "posts": len(posts)}, posts))
        title = o.offices[office_id].name if office_id is not None else ""
        trail = o.office_chain(office_id)[1:]
    crumbs = [{"key": o.offices[x].code, "name": o.offices[x].name} for x in reversed(trail)]
    rows = [{**row, **_aggregate_held(s, [(p, by_post[p]) for p in posts if p in by_post],
                                      now)}
            for row, posts in groups]
    everything = [(p, by_post[p]) for _row, posts in groups for p in posts if p in by_post]
    return {"at": iso(now), "title": title, "office": office, "section": section,
            "crumbs": crumbs, "rows": rows, "total": _aggregate_held(s, everything, now)}


def items(s: Session, actor: User, now: datetime, *, office: str | None = None,
          section: int | None = None, post: int | None = None, overdue: bool = False
          ) -> dict[str, Any]:
    """The items held at one level, oldest first: number, subject, holder post and
    officer, since when, days held, due, overdue, the last sender."""
    scope = set(scope_posts(s, actor))
    o = Org.load(s)
    if post is not None:
        posts = [post] if post in scope else []
        label = o.posts[post].title if post in o.posts else ""
    elif section is not None:
        posts = [p for p in scope if o.posts[p].section_id == section]
        label = o.sections[section].name if section in o.sections else ""
    elif office:
        found = next((x for x in o.offices.values() if x.code == office), None)
        if found is None:
            raise InvalidInput(f"office: no office with code '{office}'")
        posts = [p for p in scope if found.id in o.office_chain(o.office_of_post(p))]
        label = found.name
    else:
        posts, label = list(scope), None
    if not posts:
        raise Forbidden("that is outside what you monitor")
    tasks = sorted(_open_tasks(s, posts), key=lambda t: t.received_at)
    if overdue:
        tasks = [t for t in tasks if t.due_at is not None and t.due_at < now]
    return {"at": iso(now), "label": label, "overdue_only": overdue,
            "count": len(tasks), "items": item_rows(s, o, tasks[:ITEMS_SHOWN], now)}


def item_rows(s: Session, o: Org, tasks: list[OpenTask], now: datetime
              ) -> list[dict[str, Any]]:
    """Rows for open tasks: three queries whatever their number (items, then the
    movements that brought them)."""
    files = {f.id: f for f in s.scalars(select(File).where(
        File.id.in_({t.file_id for t in tasks if t.file_id is not None})))}
    receipts = {r.id: r for r in s.scalars(select(Receipt).where(
        Receipt.id.in_({t.receipt_id for t in tasks if t.receipt_id is not None})))}
    senders: dict[tuple[str, int, int], int | None] = {}
    moves = s.execute(select(Movement.file_id, Movement.receipt_id, Movement.to_post_id,
                             Movement.from_post_id).where(or_(
        Movement.file_id.in_(list(files)), Movement.receipt_id.in_(list(receipts))))
        .order_by(Movement.id))
    for file_id, receipt_id, to_post, from_post in moves:  # the latest one wins
        key = ("file", file_id, to_post) if file_id is not None else \
            ("receipt", receipt_id or 0, to_post)
        senders[key] = from_post
    rows = []
    for t in tasks:
        item: File | Receipt
        if t.file_id is not None:
            item = files[t.file_id]
            kind, number = "file", files[t.file_id].file_no
        else:
            item = receipts[t.receipt_id or 0]
            kind, number = "receipt", receipts[t.receipt_id or 0].diary_no
        sender = senders.get((kind, item.id, t.post_id))
        rows.append({
            "task_id": t.id, "kind": kind, "id": item.id, "number": number,
            "subject": item.subject, "step": t.name, "post": o.post_row(t.post_id),
            "since": iso(t.received_at), "days_held": _days(t.received_at, now),
            "due_at": iso(t.due_at), "overdue": t.due_at is not None and t.due_at < now,
            "parked": t.parked, "opened": t.opened_at is not None,
            "from": o.post_row(sender) if sender is not None else None})
    return rows


def where(s: Session, actor: User, now: datetime, number: str) -> dict[str, Any]:
    """Stuck with whom, since when: an item by its file or diary number (or id)."""
    from engine.domain import visibility
    number = (number or "").strip()
    if not number:
        raise InvalidInput("number: give a file number or a diary number")
    file = s.scalar(select(File).where(File.file_no == number))
    receipt = None if file else s.scalar(select(Receipt).where(Receipt.diary_no == number))
    if file is None and receipt is None:
        raise NotFound(f"number: no file or receipt numbered '{number}'")
    item: Any = file or receipt
    if file is not None:
        visibility.require_read_file(s, actor, file)
    elif receipt is not None:
        visibility.require_read_receipt(s, actor, receipt)
    o = Org.load(s)
    task_col = OpenTask.file_id if file else OpenTask.receipt_id
    open_tasks = list(s.scalars(select(OpenTask).where(task_col == item.id,
                                                       OpenTask.closed_at.is_(None))))
    move_col = Movement.file_id if file else Movement.receipt_id
    moves = list(s.scalars(select(Movement).where(move_col == item.id).order_by(Movement.id)))
    return {"kind": "file" if file else "receipt", "id": item.id,
            "number": number, "subject": item.subject, "status": item.status,
            "with": item_rows(s, o, open_tasks, now),
            "journey": _stays(o, item, moves, now)}


def _stays(o: Org, item: Any, moves: list[Movement], now: datetime) -> list[dict[str, Any]]:
    """How long the item stayed at each post, in order."""
    start = getattr(item, "created_at", None) or item.received_at
    first = moves[0].from_post_id if moves and moves[0].from_post_id else (
        getattr(item, "creator_post_id", None) or getattr(item, "diarised_post_id", None))
    stays, at, since = [], first, start
    for m in moves:
        if m.from_post_id is not None and at is not None:
            stays.append({"post": o.post_row(at), "from": iso(since), "until": iso(m.sent_at),
                          "days": _days(since, m.sent_at), "action": m.action})
        at, since = m.to_post_id, m.sent_at
    if at is not None:
        still = getattr(item, "holder_post_id", None) == at
        end = now if still else since
        stays.append({"post": o.post_row(at), "from": iso(since),
                      "until": None if still else iso(end), "days": _days(since, end),
                      "action": None})
    return stays


def time_at_desk(s: Session, actor: User | None, now: datetime, months: int = 6,
                 post: int | None = None, scope: set[int] | None = None) -> dict[str, Any]:
    """For each post (and the officer who acted), month by month: items dealt with, days
    they stayed (average and longest), late actions; plus every late action with its
    reason. A stay is one task: from its arrival at the post to the action on it (or now,
    if still there), counted in the month it ended. `scope` (posts) replaces the actor's."""
    scope = _scope(s, actor, scope)
    if post is not None:
        if post not in scope:
            raise Forbidden("that post is outside what you monitor")
        scope = {post}
    o = Org.load(s)
    since = now - timedelta(days=31 * months)
    tasks = list(s.scalars(select(OpenTask).where(
        OpenTask.post_id.in_(scope),
        or_(OpenTask.closed_at.is_(None), OpenTask.closed_at >= since))))
    users = dict(s.execute(select(User.id, User.username)).all())
    numbers = _numbers(s, tasks)
    cells: dict[tuple[int, str | None, str], dict[str, Any]] = {}
    stays, late = [], []
    for t in tasks:
        end = t.closed_at or now
        month = month_of(end)
        officer = users.get(t.closed_by) if t.closed_by else o.holders.get(t.post_id)
        days = _days(t.received_at, end)
        key = (t.post_id, officer, month)
        cell = cells.setdefault(key, {"items": 0, "days": 0.0, "longest": 0.0, "late": 0,
                                      "still_held": 0})
        cell["items"] += 1
        cell["days"] += days
        cell["longest"] = max(cell["longest"], days)
        is_late = t.due_at is not None and end > t.due_at
        cell["late"] += int(is_late)
        cell["still_held"] += int(t.closed_at is None)
        number, subject = numbers.get((t.kind, t.file_id or t.receipt_id or 0), ("", ""))
        row = {"post": o.posts[t.post_id].code, "post_title": o.posts[t.post_id].title,
               "officer": officer, "month": month, "kind": t.kind,
               "id": t.file_id or t.receipt_id, "number": number, "subject": subject,
               "arrived": iso(t.received_at), "left": iso(t.closed_at), "days": days,
               "action": t.action, "late": is_late, "reason": t.reason}
        stays.append(row)
        if is_late and t.closed_at is not None:
            late.append(row)
    summary = [{"post": o.posts[p].code, "post_title": o.posts[p].title, "officer": officer,
                "month": month, "items": c["items"], "still_held": c["still_held"],
                "average_days": round(c["days"] / c["items"], 1),
                "longest_days": c["longest"], "late": c["late"]}
               for (p, officer, month), c in cells.items()]
    summary.sort(key=lambda r: (r["post"], r["month"]))
    stays.sort(key=lambda r: (r["post"], r["month"], r["arrived"] or ""))
    late.sort(key=lambda r: r["left"] or "", reverse=True)
    return {"at": iso(now), "months": months, "summary": summary, "stays": stays,
            "late": late}


def _numbers(s: Session, tasks: list[OpenTask]) -> dict[tuple[str, int], tuple[str, str]]:
    file_ids = {t.file_id for t in tasks if t.file_id}
    receipt_ids = {t.receipt_id for t in tasks if t.receipt_id}
    out: dict[tuple[str, int], tuple[str, str]] = {}
    for fid, no, subj in s.execute(select(File.id, File.file_no, File.subject)
                                   .where(File.id.in_(file_ids))):
        out[("file", fid)] = (no, subj)
    for rid, no, subj in s.execute(select(Receipt.id, Receipt.diary_no, Receipt.subject)
                                   .where(Receipt.id.in_(receipt_ids))):
        out[("receipt", rid)] = (no, subj)
    return out


def adoption(s: Session, actor: User | None, now: datetime, months: int = 6,
             scope: set[int] | None = None) -> dict[str, Any]:
    """Per department and per office: files created (electronic / physical), receipts
    (electronic / physical), active users (acted in the last 30 days), average days per
    level (rank), the share of actions taken within their time limit; and month-wise
    files created, receipts received and items forwarded, as eOffice reports them.
    `scope` (posts) replaces the actor's."""
    scope = _scope(s, actor, scope)
    tally = _Adoption(Org.load(s), scope, now - timedelta(days=31 * months))
    tally.items(s)
    tally.forwards(s)
    tally.actions(s, now - timedelta(days=30))
    return {"at": iso(now), "months": months, "units": tally.unit_rows(),
            "average_days_by_rank": [{"rank": r, "average_days": round(sum(d) / len(d), 1),
                                      "actions": len(d)}
                                     for r, d in sorted(tally.level_days.items())],
            "monthly": [{"month": m, **v} for m, v in sorted(tally.monthly.items())]}


class _Adoption:
    """Counts for the adoption report, per department and office and per month."""

    def __init__(self, o: Org, scope: set[int], since: datetime):
        self.o, self.scope, self.since = o, scope, since
        self.sections = {o.posts[p].section_id for p in scope}
        self.units: dict[tuple[str, str], dict[str, Any]] = {}
        self.monthly: dict[str, dict[str, int]] = defaultdict(
            lambda: {"created": 0, "received": 0, "forwarded": 0})
        self.level_days: dict[int, list[float]] = defaultdict(list)

    def keys(self, section_id: int) -> list[tuple[str, str]]:
        sec = self.o.sections[section_id]
        keys = [("department", self.o.departments[sec.department_id].code)]
        office = self.o.section_office.get(section_id)
        if office is not None:
            keys.append(("office", self.o.offices[office].code))
        return keys

    def unit(self, key: tuple[str, str]) -> dict[str, Any]:
        if key not in self.units:
            names = ({d.code: d.name for d in self.o.departments.values()}
                     if key[0] == "department" else
                     {x.code: x.name for x in self.o.offices.values()})
            self.units[key] = {"level": key[0], "code": key[1], "name": names[key[1]],
                               "files": 0, "files_electronic": 0, "files_physical": 0,
                               "receipts": 0, "receipts_electronic": 0,
                               "receipts_physical": 0, "users": set(), "on_time": 0,
                               "timed": 0, "level_days": {}}
        return self.units[key]

    def items(self, s: Session) -> None:
        for what, query, paper in (
                ("files", select(File.section_id, File.kind, File.created_at), "physical"),
                ("receipts", select(Receipt.section_id, Receipt.form, Receipt.received_at),
                 "physical")):
            for section_id, form, at in s.execute(query):
                if section_id not in self.sections:
                    continue
                for key in self.keys(section_id):
                    u = self.unit(key)
                    u[what] += 1
                    u[f"{what}_physical" if form == paper else f"{what}_electronic"] += 1
                if at >= self.since:
                    self.monthly[month_of(at)]["created" if what == "files"
                                               else "received"] += 1

    def forwards(self, s: Session) -> None:
        for from_post, sent_at in s.execute(select(Movement.from_post_id, Movement.sent_at)
                                            .where(Movement.action.in_(SENDING_ACTIONS),
                                                   Movement.sent_at >= self.since)):
            if from_post in self.scope:
                self.monthly[month_of(sent_at)]["forwarded"] += 1

    def actions(self, s: Session, active_since: datetime) -> None:
        for post_id, closed_by, received, closed, due in s.execute(select(
                OpenTask.post_id, OpenTask.closed_by, OpenTask.received_at,
                OpenTask.closed_at, OpenTask.due_at).where(OpenTask.closed_at.is_not(None),
                                                           OpenTask.closed_at >= self.since)):
            if post_id not in self.scope or closed is None:
                continue
            rank = self.o.posts[post_id].rank
            days = (closed - received).total_seconds() / DAY
            self.level_days[rank].append(days)
            for key in self.keys(self.o.posts[post_id].section_id):
                u = self.unit(key)
                if closed >= active_since and closed_by:
                    u["users"].add(closed_by)
                if due is not None:
                    u["timed"] += 1
                    u["on_time"] += int(closed <= due)
                u["level_days"].setdefault(rank, []).append(days)

    def unit_rows(self) -> list[dict[str, Any]]:
        return [{**{k: v for k, v in u.items() if k not in ("users", "level_days")},
                 "active_users": len(u["users"]),
                 "within_limit_pct": round(100 * u["on_time"] / u["timed"], 1)
                 if u["timed"] else None,
                 "average_days_by_rank": {r: round(sum(d) / len(d), 1)
                                          for r, d in sorted(u["level_days"].items())}}
                for u in sorted(self.units.values(),
                                key=lambda u: (u["level"] != "department", u["code"]))]
