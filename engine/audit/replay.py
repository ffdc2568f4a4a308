"""Replay: a file or receipt as it stood after any event of its history.

Everything is rebuilt from the history events alone (holder, notes, correspondence,
movements, open tasks, the diagram's active steps, lock and signatures), never from the
current rows, so the answer for event N is what the chain said at N. Post names are
looked up for display only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from engine.audit import history
from engine.errors import InvalidInput
from engine.store.models import Post


@dataclass
class _State:
    open_tasks: dict[str, dict[str, Any]] = field(default_factory=dict)
    timers: dict[str, dict[str, Any]] = field(default_factory=dict)
    holder: int | None = None
    holder_since: str | None = None
    notes: list[dict[str, Any]] = field(default_factory=list)
    correspondence: list[dict[str, Any]] = field(default_factory=list)
    movements: list[dict[str, Any]] = field(default_factory=list)
    signatures: list[dict[str, Any]] = field(default_factory=list)
    status: str = "open"
    locked: bool = False
    locked_at: str | None = None
    content_hash: str | None = None
    filed_in: str | None = None
    remark: str | None = None
    completed: bool = False
    pending: dict[str, Any] | None = None  # the action whose outcome is being recorded
    data: dict[str, Any] = field(default_factory=dict)  # the process data at that moment
    done_steps: set[str] = field(default_factory=set)


def replay(session: Session, kind: str, subject: Any, at: int | None,
           instance_id: int | None = None) -> dict[str, Any]:
    """`subject` is a File or Receipt row; `at` an event seq (default: the newest);
    `instance_id` one of the processes the item went through (default: its current one,
    e.g. a reopening of a file is another instance). The caller checks that the instance
    belongs to the item (`instance_of`)."""
    instance_id = instance_id or subject.instance_id
    events = history.events(session, instance_id) if instance_id else []
    if not events:
        raise InvalidInput(f"{kind} {subject.id} has no history to replay")
    last = events[-1].seq
    if at is None:
        at = last
    if at < 1 or at > last:
        raise InvalidInput(f"at: must be an event number from 1 to {last}")
    state = _State()
    for event in events:
        if event.seq > at:
            break
        _apply(state, event, kind)
    upto = next(e for e in events if e.seq == at)
    posts = _PostNames(session)
    view: dict[str, Any] = {
        "kind": kind, "id": subject.id,
        ("file_no" if kind == "file" else "diary_no"):
            subject.file_no if kind == "file" else subject.diary_no,
        "instance_id": instance_id,
        "at": {"seq": upto.seq, "kind": upto.kind, "at": upto.at.isoformat(),
               "actor": upto.actor, "hash": upto.hash, "step": upto.task_spec},
        "events": last, "latest": at == last,
        "status": state.status, "completed": state.completed,
        "holder": posts.get(state.holder), "holder_since": state.holder_since,
        "open_tasks": [{"step": t["step"], "name": t["name"], "post": posts.get(t["post_id"]),
                        "since": t["since"], "due_at": t["due_at"]}
                       for t in state.open_tasks.values()],
        "active_steps": sorted({t["step"] for t in state.open_tasks.values()}
                               | {t["step"] for t in state.timers.values()}),
        "done_steps": sorted(state.done_steps),
        "data": state.data,
        "timers": list(state.timers.values()),
        "movements": [{**m, "from": posts.get(m["from"]), "to": posts.get(m["to"])}
                      for m in state.movements],
    }
    if kind == "file":
        view.update(notes=state.notes, correspondence=state.correspondence,
                    locked=state.locked, locked_at=state.locked_at,
                    content_hash=state.content_hash, signatures=state.signatures)
    else:
        view.update(filed_in=state.filed_in, remark=state.remark)
    return view


def _apply(state: _State, event: Any, kind: str) -> None:
    """Apply one history event to the replayed state (events of other kinds change
    nothing)."""
    data = event.data if isinstance(event.data, dict) else {}
    _track_data(state, event, data)
    step = _STEPS.get(event.kind)
    if step is not None:
        step(state, event, data, event.at.isoformat(), kind)


def _track_data(state: _State, event: Any, data: dict[str, Any]) -> None:
    """The process data as the history recorded it: the start data, each task's inputs,
    what a handler set, the final data; and the steps completed so far."""
    if event.kind in ("instance_started", "instance_completed") \
            and isinstance(data.get("data"), dict):
        state.data.update(data["data"])
    elif event.kind == "task_completed" and isinstance(data.get("inputs"), dict):
        state.data.update(data["inputs"])
    elif event.kind == "handler_called" and isinstance(data.get("data_set"), dict):
        state.data.update(data["data_set"])
    if event.kind in ("task_completed", "handler_called", "timer_fired") and event.task_spec:
        state.done_steps.add(event.task_spec)


# Each step takes (state, event, its data, its time as ISO text, the item's kind).
Step = Callable[[_State, Any, dict[str, Any], str, str], None]


def _task_ready(state: _State, event: Any, data: dict[str, Any], at: str, kind: str) -> None:
    state.open_tasks[data.get("task_id") or f"#{event.seq}"] = {
        "step": event.task_spec, "name": data.get("name"), "post_id": data.get("post_id"),
        "since": at, "due_at": data.get("due_at")}
    _moved(state, data.get("post_id"), at)


def _task_completed(state: _State, event: Any, data: dict[str, Any], at: str,
                    kind: str) -> None:
    task = _take(state.open_tasks, data.get("task_id"), event.task_spec)
    action = data.get("action")
    state.pending = {"from": task["post_id"] if task else state.holder, "action": action,
                     "remark": data.get("remark"), "by": event.actor, "at": at}
    note = data.get("note")
    if isinstance(note, dict):
        state.notes.append({"para_no": note.get("para_no"), "text": note.get("text"),
                            "author": event.actor, "at": at, "sealed": False})
    if action == "close":
        state.status = "closed"
        state.remark = data.get("remark")


def _task_withdrawn(state: _State, event: Any, data: dict[str, Any], at: str,
                    kind: str) -> None:
    _take(state.open_tasks, data.get("task_id"), event.task_spec)


def _note_added(state: _State, event: Any, data: dict[str, Any], at: str, kind: str) -> None:
    state.notes.append({"para_no": data.get("para_no"), "text": data.get("text"),
                        "author": event.actor, "at": at, "sealed": False})


def _correspondence_added(state: _State, event: Any, data: dict[str, Any], at: str,
                          kind: str) -> None:
    state.correspondence.append({k: data.get(k) for k in (
        "receipt_id", "diary_no", "subject", "sender", "pdf_sha256")} | {"at": at})


def _handler_called(state: _State, event: Any, data: dict[str, Any], at: str,
                    kind: str) -> None:
    result = data.get("result")
    result = result if isinstance(result, dict) else {}
    if data.get("handler") == "lock_file":
        state.locked, state.status = True, "approved"
        state.locked_at = result.get("locked_at")
        state.content_hash = result.get("content_hash")
        for note in state.notes:
            note["sealed"] = True
    elif data.get("handler") == "put_in_file" and kind == "receipt":
        state.status, state.filed_in = "filed", result.get("file_no")


def _timer_set(state: _State, event: Any, data: dict[str, Any], at: str, kind: str) -> None:
    state.timers[data.get("timer_id") or event.task_spec] = {
        "step": event.task_spec, "due_at": data.get("due_at")}


def _timer_gone(state: _State, event: Any, data: dict[str, Any], at: str, kind: str) -> None:
    key = data.get("timer_id")
    if key not in state.timers:  # events written before timers carried their id
        key = next((k for k, t in state.timers.items() if t["step"] == event.task_spec), None)
    if key is not None:
        state.timers.pop(key, None)


def _approval_signed(state: _State, event: Any, data: dict[str, Any], at: str,
                     kind: str) -> None:
    state.signatures.append({k: data.get(k) for k in (
        "action", "key_id", "content_hash", "signed_at", "signature")}
        | {"signer": event.actor})


def _approval_passkey(state: _State, event: Any, data: dict[str, Any], at: str,
                      kind: str) -> None:
    state.signatures.append({k: data.get(k) for k in (
        "action", "subject", "subject_id", "credential_id", "content_hash", "signed_at",
        "signature")} | {"signer": event.actor, "method": "passkey"})


def _instance_completed(state: _State, event: Any, data: dict[str, Any], at: str,
                        kind: str) -> None:
    state.completed = True
    state.holder = None
    state.pending = None


def _instance_migrated(state: _State, event: Any, data: dict[str, Any], at: str,
                       kind: str) -> None:
    """A move to another version: each open task goes on under its new id and step."""
    for pair in data.get("tasks") or []:
        if not isinstance(pair, dict):
            continue
        task = _take(state.open_tasks, pair.get("from_task_id"), None)
        if task is not None:
            state.open_tasks[str(pair.get("to_task_id"))] = {**task, "step": pair.get("step")}


_STEPS: dict[str, Step] = {
    "instance_migrated": _instance_migrated,
    "task_ready": _task_ready,
    "task_completed": _task_completed,
    "task_withdrawn": _task_withdrawn,
    "note_added": _note_added,
    "correspondence_added": _correspondence_added,
    "handler_called": _handler_called,
    "timer_set": _timer_set,
    "timer_fired": _timer_gone,
    "timer_cancelled": _timer_gone,
    "approval_signed": _approval_signed,
    "approval_passkey": _approval_passkey,
    "instance_completed": _instance_completed,
}


def _take(tasks: dict[str, dict[str, Any]], task_id: str | None, step: str | None
          ) -> dict[str, Any] | None:
    if task_id in tasks:
        return tasks.pop(task_id)
    key = next((k for k, t in tasks.items() if t["step"] == step), None)
    return tasks.pop(key) if key is not None else None


def _moved(state: _State, post_id: int | None, at: str) -> None:
    """As services._after_step: the first task opened by an action decides where the item
    went; a different post than the holder's is a movement, and seals the notes."""
    pending, state.pending = state.pending, None
    if post_id is None:
        return
    if pending is None:
        if state.holder is None:
            state.holder, state.holder_since = post_id, at
        return
    if post_id == state.holder:
        return
    state.movements.append({"from": pending["from"], "to": post_id,
                            "action": pending["action"], "remark": pending["remark"],
                            "sent_by": pending["by"], "sent_at": at})
    for note in state.notes:
        note["sealed"] = True
    state.holder, state.holder_since = post_id, at


class _PostNames:
    def __init__(self, session: Session):
        self.session = session
        self.cache: dict[int, dict[str, Any] | None] = {}

    def get(self, post_id: int | None) -> dict[str, Any] | None:
        if post_id is None:
            return None
        if post_id not in self.cache:
            post = self.session.get(Post, post_id)
            self.cache[post_id] = ({"id": post.id, "code": post.code, "title": post.title}
                                   if post else {"id": post_id, "code": None, "title": None})
        return self.cache[post_id]


def summary(view: dict[str, Any]) -> str:
    """A readable text of `replay` for the CLI."""
    label = view.get("file_no") or view.get("diary_no")
    at = view["at"]
    holder = view["holder"]
    lines = [
        f"{view['kind']} {label} as of event #{at['seq']} of {view['events']} "
        f"({at['kind']}, {at['at']}{', by ' + at['actor'] if at['actor'] else ''})",
        f"  status: {view['status']}" + (", locked" if view.get("locked") else "")
        + (", finished" if view["completed"] else ""),
        f"  holder: {holder['code'] + ' since ' + str(view['holder_since']) if holder else '-'}",
        f"  active steps: {', '.join(view['active_steps']) or '-'}",
    ]
    for t in view["open_tasks"]:
        post = t["post"]["code"] if t["post"] else "?"
        lines.append(f"  open task: {t['name']} ({t['step']}) at {post}, due {t['due_at'] or '-'}")
    if view["movements"]:
        lines.append("  movements:")
        for m in view["movements"]:
            src = m["from"]["code"] if m["from"] else "-"
            lines.append(f"    {m['sent_at']}  {src} -> {m['to']['code']}  {m['action']}"
                         f" by {m['sent_by']}" + (f" ({m['remark']})" if m["remark"] else ""))
    if view["kind"] == "file":
        if view["notes"]:
            lines.append("  notes:")
            for n in view["notes"]:
                lines.append(f"    {n['para_no']}. {n['text']}  — {n['author']}"
                             + (" [sealed]" if n["sealed"] else ""))
        for c in view["correspondence"]:
            lines.append(f"  correspondence: {c['diary_no']} {c['subject']} ({c['sender']})")
        for sig in view["signatures"]:
            how = "with a passkey" if sig.get("method") == "passkey" else \
                "by the server's key (fallback)"
            lines.append(f"  signed: {sig['action']} by {sig['signer']} at {sig['signed_at']}, "
                         f"content {str(sig['content_hash'])[:16]}…, {how}")
    elif view.get("filed_in"):
        lines.append(f"  filed in: {view['filed_in']}")
    return "\n".join(lines)
