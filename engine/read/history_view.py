"""The auditor's view of a file's history: one page of events, each with what a reader
needs to say it in plain words (who, as which post, what, on which item, with which
remark or reason), across every process the file went through (its approval and any
reopenings), in order.

The page is a bounded query (LIMIT/OFFSET over the file's events ordered by process
instance and sequence), and names are looked up once per page, not per event. The sentence
itself is made by the web layer in the reader's language (web/history_text.py); this
module only gathers the facts from the recorded events.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.audit import history
from engine.bpm.reader import BPMN_NS, parse_document
from engine.store.models import (
    File,
    HistoryEvent,
    Instance,
    OpenTask,
    Post,
    ProcessDefinition,
    User,
)

_NAMES: dict[str, dict[str, str]] = {}  # content hash -> element names (versions never change)

PER_PAGE = 50
MAX_PER_PAGE = 200
# keys of event data that hold a post id
_POST_ID_KEYS = ("post_id", "author_post_id")


@dataclass(frozen=True)
class HistoryPage:
    file_id: int
    file_no: str
    page: int
    pages: int
    per_page: int
    total: int
    instances: list[dict[str, Any]]
    events: list[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        return {"file_id": self.file_id, "file_no": self.file_no, "page": self.page,
                "pages": self.pages, "per_page": self.per_page, "total": self.total,
                "instances": self.instances, "events": self.events}


def element_names(definition: ProcessDefinition) -> dict[str, str]:
    """{BPMN element id: what to call it} for a deployed version: its name, or for a
    boundary timer the name of the step it watches (its SLA timer reads as that step)."""
    found = _NAMES.get(definition.content_hash)
    if found is not None:
        return found
    xml = definition.bpmn_xml.encode()
    root = parse_document(xml, len(xml) + 1)
    names: dict[str, str] = {}
    for el in root.iter():
        if isinstance(el.tag, str) and el.get("id") and el.get("name"):
            names[el.get("id", "")] = el.get("name", "")
    for el in root.iter(f"{{{BPMN_NS}}}boundaryEvent"):
        attached = el.get("attachedToRef")
        if attached in names and el.find(f"{{{BPMN_NS}}}timerEventDefinition") is not None:
            names[el.get("id", "")] = names[attached]
    _NAMES[definition.content_hash] = names
    return names


def file_instances(session: Session, file_id: int) -> list[dict[str, Any]]:
    """Every process instance the file went through, oldest first, with the version that
    ran it."""
    rows = session.execute(
        select(Instance.id, Instance.process_id, Instance.status, Instance.started_at,
               Instance.completed_at, Instance.event_count, ProcessDefinition.version)
        .join(ProcessDefinition, ProcessDefinition.id == Instance.definition_id)
        .where(Instance.subject_kind == "file", Instance.subject_id == file_id)
        .order_by(Instance.id)).all()
    return [{"id": r.id, "process_id": r.process_id, "version": r.version,
             "status": r.status, "started_at": r.started_at.isoformat(),
             "completed_at": r.completed_at.isoformat() if r.completed_at else None,
             "events": r.event_count or 0} for r in rows]


def file_history_page(session: Session, file: File, page: int = 1,
                      per_page: int = PER_PAGE,
                      step_names: dict[int, dict[str, str]] | None = None) -> HistoryPage:
    """One page of the file's events (1-based `page`; out of range gives the last page).
    `step_names` maps a definition id to {BPMN element id: its name}."""
    per_page = max(1, min(per_page, MAX_PER_PAGE))
    instances = file_instances(session, file.id)
    history.write_pending(session)
    ids = [i["id"] for i in instances]
    total = session.scalar(select(func.count()).select_from(HistoryEvent)
                           .where(HistoryEvent.instance_id.in_(ids))) if ids else 0
    total = int(total or 0)
    pages = max(1, -(-total // per_page))
    page = max(1, min(page, pages))
    rows = list(session.scalars(
        select(HistoryEvent).where(HistoryEvent.instance_id.in_(ids))
        .order_by(HistoryEvent.instance_id, HistoryEvent.seq)
        .offset((page - 1) * per_page).limit(per_page))) if ids else []
    definitions = dict(session.execute(
        select(Instance.id, Instance.definition_id).where(Instance.id.in_(ids))).all()) \
        if ids else {}
    facts = _Facts(session, rows)
    events = []
    for row in rows:
        names = (step_names or {}).get(definitions.get(row.instance_id, -1), {})
        events.append(event_facts(row, file.file_no, facts, names))
    return HistoryPage(file.id, file.file_no, page, pages, per_page, total, instances, events)


def one_event(session: Session, file: File, instance_id: int, seq: int,
              step_names: dict[str, str]) -> dict[str, Any] | None:
    """The facts of one event of one of the file's processes (the caller checked that the
    instance is the file's)."""
    history.write_pending(session)
    row = session.scalar(select(HistoryEvent).where(HistoryEvent.instance_id == instance_id,
                                                    HistoryEvent.seq == seq))
    if row is None:
        return None
    return event_facts(row, file.file_no, _Facts(session, [row]), step_names)


def _references(rows: list[HistoryEvent]) -> tuple[set[int], set[str], set[str]]:
    """(post ids, post codes, task uuids) the events' data refer to."""
    post_ids: set[int] = set()
    post_codes: set[str] = set()
    task_ids: set[str] = set()
    for r in rows:
        data = _data(r)
        post_ids.update(data[k] for k in _POST_ID_KEYS if isinstance(data.get(k), int))
        post_codes.update(data[k] for k in ("as_post", "to", "from")
                          if isinstance(data.get(k), str))
        if r.kind == "task_completed" and isinstance(data.get("task_id"), str):
            task_ids.add(data["task_id"])
    return post_ids, post_codes, task_ids


class _Facts:
    """The names one page of events refers to, fetched in three queries."""

    def __init__(self, session: Session, rows: list[HistoryEvent]):
        usernames = {r.actor for r in rows if r.actor}
        post_ids, post_codes, task_ids = _references(rows)
        self.tasks: dict[str, tuple[int, str]] = {}
        if task_ids:
            for uuid, post_id, name in session.execute(
                    select(OpenTask.task_uuid, OpenTask.post_id, OpenTask.name)
                    .where(OpenTask.task_uuid.in_(task_ids))):
                self.tasks[uuid] = (post_id, name)
                post_ids.add(post_id)
        self.users: dict[str, str] = {}
        if usernames:
            for username, full_name in session.execute(
                    select(User.username, User.full_name)
                    .where(User.username.in_(usernames))):
                self.users[username] = full_name
        self.posts_by_id: dict[int, dict[str, str]] = {}
        self.posts_by_code: dict[str, dict[str, str]] = {}
        if post_ids or post_codes:
            for pid, code, title in session.execute(
                    select(Post.id, Post.code, Post.title)
                    .where(Post.id.in_(post_ids) | Post.code.in_(post_codes))):
                self.posts_by_id[pid] = self.posts_by_code[code] = {"code": code,
                                                                    "title": title}

    def post(self, value: Any) -> dict[str, str] | None:
        if isinstance(value, int) and not isinstance(value, bool):
            return self.posts_by_id.get(value, {"code": str(value), "title": str(value)})
        if isinstance(value, str) and value:
            return self.posts_by_code.get(value, {"code": value, "title": value})
        return None


def _data(row: Any) -> dict[str, Any]:
    """The event's data (a dict when written by the engine; anything if altered)."""
    value: Any = row.data
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, dict):
        return _text(value.get("text"))
    return str(value)


def event_facts(row: Any, item: str, facts: _Facts, step_names: dict[str, str]
                ) -> dict[str, Any]:
    """What one event says, with names resolved: the web layer words it."""
    data = _data(row)
    post = None
    step_name = step_names.get(row.task_spec or "") or None
    if row.kind == "task_completed":
        task = facts.tasks.get(data.get("task_id") or "")
        post = facts.post(data.get("as_post")) or (facts.post(task[0]) if task else None)
        step_name = (task[1] if task else None) or step_name
    elif row.kind in ("task_ready", "task_withdrawn"):
        post = facts.post(data.get("post_id"))
        step_name = data.get("name") or step_name
    elif row.kind == "note_added":
        post = facts.post(data.get("author_post_id"))
    result = data.get("result") if isinstance(data.get("result"), dict) else {}
    details: dict[str, Any] = {
        "action": data.get("action") if isinstance(data.get("action"), str) else None,
        "to": facts.post(data.get("to")),
        "from": facts.post(data.get("from")),
        "remark": _text(data.get("remark")),
        "reason": _text(data.get("reason")),
        "note": _text(data.get("note")) if row.kind == "task_completed" else
        (_text(data.get("text")) if row.kind == "note_added" else None),
        "para_no": (data.get("note") or {}).get("para_no") if isinstance(data.get("note"), dict)
        else data.get("para_no"),
        "handler": data.get("handler"),
        "due_at": data.get("due_at"),
        "process_id": data.get("process_id"),
        "version": data.get("version"),
        "subject": _text(data.get("subject")),
        "diary_no": _text(data.get("diary_no")),
        "dispatch_no": _text(data.get("dispatch_no")),
        "addressee": _text(data.get("addressee")),
        "mode": _text(data.get("mode")),
        "other": _text(data.get("other")) or _text(data.get("part")),
        "user": _text(data.get("username")) or _text(data.get("user")),
        "priority_from": _text(data.get("from")) if row.kind == "priority_changed" else None,
        "priority_to": _text(data.get("to")) if row.kind == "priority_changed" else None,
        "draft_version": data.get("version") if row.kind.startswith("draft_") else None,
        "from_version": data.get("from_version"),
        "failure": _text(data.get("message")) if row.kind == "process_failed" else None,
        "to_version": data.get("to_version"),
        "result": result,
    }
    if row.kind == "priority_changed":
        details["to"] = details["from"] = None
    return {
        "instance_id": row.instance_id, "seq": row.seq, "kind": row.kind,
        "at": row.at.isoformat(), "actor": row.actor,
        "actor_name": facts.users.get(row.actor or "", row.actor) if row.actor else None,
        "post": post, "item": item, "step": row.task_spec, "step_name": step_name,
        **details, "prev_hash": row.prev_hash, "hash": row.hash,
    }
