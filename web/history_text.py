"""Plain-language sentences for the history page, one per kind of event, in the
reader's language: who did what to which item, as which post.

`sentence(event)` takes the facts of one event as engine/read/history_view.py gathers them.
Every kind of event the engine writes has an entry in SENTENCES (tests/unit/
test_history_text.py finds the kinds in the code and checks); an unknown kind (an event
of a newer release, or an altered one) still gets a neutral sentence naming the kind.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask_babel import gettext as _

Event = dict[str, Any]


def step_label(name: str | None) -> str:
    """The shipped steps' names are translated; others are shown as the diagram has them."""
    if not name:
        return "—"
    return {"Noting": _("Noting"), "Approval": _("Approval"), "Closure": _("Closure"),
            "Act on receipt": _("Act on receipt"), "Reopen approval": _("Reopen approval"),
            }.get(name, name)


def process_label(process_id: str | None) -> str:
    """The shipped processes' names in the reader's language; others by their id."""
    if not process_id:
        return "—"
    return {"file_approval": _("File approval"), "dak_receipt": _("Dak receipt"),
            "file_reopen": _("Reopening of a closed file")}.get(process_id, process_id)


def who(e: Event) -> str:
    """'Name (designation)', the name alone, or the system."""
    name = e.get("actor_name") or e.get("actor")
    post = e.get("post")
    if not name:
        return _("The system")
    if post:
        return _("%(name)s as %(post)s", name=name, post=post["title"])
    return str(name)


def _post(value: Any) -> str:
    return value["title"] if isinstance(value, dict) and value.get("title") else "—"


def _step(e: Event) -> str:
    return step_label(e.get("step_name") or e.get("step"))


def _task_completed(e: Event) -> str:
    w, item, to = who(e), e["item"], _post(e.get("to"))
    action = e.get("action")
    if action == "approve":
        return _("%(who)s approved %(item)s.", who=w, item=item)
    if action == "reject":
        return _("%(who)s rejected %(item)s.", who=w, item=item)
    if action == "forward":
        return _("%(who)s forwarded %(item)s to %(to)s.", who=w, item=item, to=to)
    if action == "submit":
        return _("%(who)s submitted %(item)s for approval to %(to)s.", who=w, item=item, to=to)
    if action == "return":
        return _("%(who)s returned %(item)s.", who=w, item=item)
    if action == "close":
        return _("%(who)s closed %(item)s.", who=w, item=item)
    if action == "pullback":
        return _("%(who)s pulled %(item)s back from %(from)s to %(to)s.", who=w, item=item,
                 to=to, **{"from": _post(e.get("from"))})
    return _("%(who)s completed the step “%(step)s” of %(item)s (%(action)s).", who=w,
             item=item, step=_step(e), action=action or "—")


def _handler_called(e: Event) -> str:
    item, handler = e["item"], e.get("handler")
    if handler == "lock_file":
        return _("%(item)s was locked: its notes and correspondence were sealed as approved.",
                 item=item)
    if handler == "notify":
        return _("A notice about %(item)s was sent.", item=item)
    if handler == "escalate":
        return _("The overdue step of %(item)s was escalated.", item=item)
    if handler == "reopen_file":
        return _("%(item)s was reopened for noting.", item=item)
    if handler == "put_in_file":
        return _("A receipt was put up in %(item)s.", item=item)
    return _("The system ran the step “%(step)s” of %(item)s.", step=_step(e), item=item)


SENTENCES: dict[str, Callable[[Event], str]] = {
    "instance_started": lambda e: _(
        "%(who)s started the process “%(process)s” (version %(version)s) for %(item)s.",
        who=who(e), process=process_label(e.get("process_id")), version=e.get("version") or "—",
        item=e["item"]),
    "task_ready": lambda e: _("%(item)s reached the step “%(step)s” with %(post)s.",
                              item=e["item"], step=_step(e), post=_post(e.get("post"))),
    "task_completed": _task_completed,
    "task_withdrawn": lambda e: _(
        "The process withdrew the step “%(step)s” of %(item)s from %(post)s.",
        step=_step(e), item=e["item"], post=_post(e.get("post"))),
    "handler_called": _handler_called,
    "timer_set": lambda e: _("A time limit was set on the step “%(step)s” of %(item)s.",
                             step=_step(e), item=e["item"]),
    "timer_fired": lambda e: _("The time limit on the step “%(step)s” of %(item)s ran out.",
                               step=_step(e), item=e["item"]),
    "timer_cancelled": lambda e: _(
        "The time limit on the step “%(step)s” of %(item)s was no longer needed.",
        step=_step(e), item=e["item"]),
    "instance_completed": lambda e: _("The process of %(item)s came to its end.",
                                      item=e["item"]),
    "approval_signed": lambda e: _("%(who)s digitally signed the approval of %(item)s.",
                                   who=who(e), item=e["item"]),
    "note_added": lambda e: _("%(who)s wrote para %(para)s of the notes of %(item)s.",
                              who=who(e), para=e.get("para_no") or "—", item=e["item"]),
    "correspondence_added": lambda e: _(
        "Receipt %(diary_no)s (“%(subject)s”) was put up in %(item)s.",
        diary_no=e.get("diary_no") or "—", subject=e.get("subject") or "—", item=e["item"]),
    "access_granted": lambda e: _("%(who)s gave %(user)s access to %(item)s.",
                                  who=who(e), user=e.get("user") or "—", item=e["item"]),
    "access_revoked": lambda e: _("%(who)s withdrew the access of %(user)s to %(item)s.",
                                  who=who(e), user=e.get("user") or "—", item=e["item"]),
    "pulled_back": lambda e: _("%(who)s pulled %(item)s back from %(from)s to %(to)s.",
                               who=who(e), item=e["item"], to=_post(e.get("to")),
                               **{"from": _post(e.get("from"))}),
    "priority_changed": lambda e: _(
        "%(who)s changed the priority of %(item)s from %(old)s to %(new)s.",
        who=who(e), item=e["item"], old=e.get("priority_from") or "—",
        new=e.get("priority_to") or "—"),
    "draft_created": lambda e: _("%(who)s started a draft “%(subject)s” in %(item)s.",
                                 who=who(e), subject=e.get("subject") or "—", item=e["item"]),
    "draft_edited": lambda e: _("%(who)s edited a draft in %(item)s (version %(version)s).",
                                who=who(e), item=e["item"],
                                version=e.get("draft_version") or "—"),
    "draft_approved": lambda e: _(
        "%(who)s approved a draft in %(item)s (version %(version)s).",
        who=who(e), item=e["item"], version=e.get("draft_version") or "—"),
    "dispatched": lambda e: _(
        "%(who)s dispatched a letter from %(item)s to %(addressee)s (dispatch no. %(no)s).",
        who=who(e), item=e["item"], addressee=e.get("addressee") or "—",
        no=e.get("dispatch_no") or "—"),
    "file_linked": lambda e: _("%(who)s linked %(item)s with file %(other)s.",
                               who=who(e), item=e["item"], other=e.get("other") or "—"),
    "part_file_opened": lambda e: _("%(who)s opened part file %(other)s of %(item)s.",
                                    who=who(e), item=e["item"], other=e.get("other") or "—"),
    "parked": lambda e: _("%(who)s parked %(item)s.", who=who(e), item=e["item"]),
    "unparked": lambda e: _("%(who)s took %(item)s out of the parked files.",
                            who=who(e), item=e["item"]),
    "approval_passkey": lambda e: (
        _("%(who)s signed the approval of a draft in %(item)s with a passkey on their own "
          "device.", who=who(e), item=e["item"]) if e.get("subject") == "draft" else
        _("%(who)s signed the approval of %(item)s with a passkey on their own device.",
          who=who(e), item=e["item"])),
    "process_failed": lambda e: _(
        "The process of %(item)s stopped at the step “%(step)s”: %(reason)s",
        item=e["item"], step=_step(e), reason=e.get("failure") or "—"),
    "instance_migrated": lambda e: _(
        "%(who)s moved %(item)s from version %(old)s to version %(new)s of its process.",
        who=who(e), item=e["item"], old=e.get("from_version") or "—",
        new=e.get("to_version") or "—"),
    "digitised": lambda e: _("%(who)s registered %(item)s as a digitised paper file.",
                             who=who(e), item=e["item"]),
}


def sentence(e: Event) -> str:
    make = SENTENCES.get(str(e.get("kind")))
    if make is None:
        return _("%(who)s: an event of kind “%(kind)s” on %(item)s.", who=who(e),
                 kind=e.get("kind"), item=e["item"])
    return make(e)
