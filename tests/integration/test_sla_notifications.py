"""Notifications about time limits, delivered through the real SMTP server (aiosmtpd) and
the real HTTP SMS gateway: due soon (once per task), breached (holder and superior),
pulled back (urgent SMS), approved; each recipient in their own language."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import select, update

import handlers
from engine.app import Sanchika
from engine.notify import notices
from engine.notify.delivery import Deliverer
from engine.store.models import OpenTask, OutboxMessage, User
from tests.flow import inbox_task
from tests.integration.test_delivery import gateway, settings, smtp_server  # noqa: F401

PASSWORD = "demo-pass-1"


@pytest.fixture
def quick(demo, clock):
    """Every limit two seconds of the test clock, which stands still until a test moves
    it (so a busy machine never makes a step late): warned after 1.6 s, breached after 2 s
    (the demo, made first with the normal limits on test_delivery's settings with SMTP and
    SMS, keeps its own)."""
    app = Sanchika(dataclasses.replace(demo.settings, sla_default="PT2S"), handlers.registry)
    with app.db.transaction() as s:  # the demo's own tasks are not part of these tests
        s.execute(update(OpenTask).values(warn_at=None))
    Deliverer(app.db, app.settings).deliver_due(limit=1000)  # the demo's own messages
    yield app
    app.db.dispose()


@pytest.fixture
def people(quick) -> dict[str, User]:
    with quick.db.reader() as s:
        return {u.username: u for u in s.scalars(select(User))}


def set_language(app, username: str, language: str) -> None:
    with app.db.transaction() as s:
        s.execute(update(User).where(User.username == username).values(language=language))


def subjects(recorder) -> list[tuple[str, str]]:
    return [(m["rcpt_tos"][0].split("@")[0], str(m["message"]["Subject"]))
            for m in recorder.received]


def deliver(app) -> None:
    Deliverer(app.db, app.settings).deliver_due(limit=1000)


def test_due_soon_warns_the_holder_once(quick, people, smtp_server, gateway,  # noqa: F811
                                        clock):
    smtp_server.clear()
    gateway.clear()
    file = quick.open_file(people["clerk"], "Warn me", "11011")
    acted = quick.open_file(people["clerk"], "Acted in time", "11011")
    task = inbox_task(quick, people["clerk"], file_id=acted["id"])
    quick.act(people["clerk"], task["id"], {"action": "forward", "to": "so"})
    with quick.db.reader() as s:
        warn_at = max(s.scalars(select(OpenTask.warn_at).where(OpenTask.warn_at.is_not(None))))
    assert quick.warn_due_soon() == 0  # not yet
    clock.advance_past(warn_at, margin=0.05)
    # the clerk's file, and the other file now at so; not the task the clerk closed
    assert quick.warn_due_soon() == 2
    assert quick.warn_due_soon() == 0  # never twice
    deliver(quick)
    due_soon = sorted(x for x in subjects(smtp_server) if "due soon" in x[1])
    assert due_soon == [("clerk", f"{file['file_no']} due soon"),
                        ("so", f"{acted['file_no']} due soon")]
    with quick.db.reader() as s:
        assert s.scalar(select(OutboxMessage.id).where(
            OutboxMessage.event_key.like(f"due_soon:{task['id']}:%"))) is None
    sms = [m for m in gateway.received if "due by" in m["text"]]
    assert sorted(m["to"] for m in sms) == sorted([people["clerk"].phone, people["so"].phone])
    # Then the limit passes: holder and superior hear of the breach, once.
    clock.advance(0.5)
    quick.fire_due_timers()
    quick.fire_due_timers()
    quick.warn_due_soon()
    deliver(quick)
    breached = sorted(x for x in subjects(smtp_server)
                      if x[1] == f"Time limit passed: file {file['file_no']}")
    assert breached == [("clerk", f"Time limit passed: file {file['file_no']}"),
                        ("so", f"Time limit passed: file {file['file_no']}")]
    with quick.db.reader() as s:
        keys = list(s.scalars(select(OutboxMessage.event_key).where(
            OutboxMessage.event_key.like("due_soon:%"))))
    assert len(keys) == len(set(keys))


def test_texts_follow_each_recipients_language(quick, people, smtp_server,  # noqa: F811
                                               clock):
    set_language(quick, "clerk", "hi")
    smtp_server.clear()
    so, clerk = people["so"], people["clerk"]
    file = quick.open_file(so, "Leave rules", "11011")
    task = inbox_task(quick, so, file_id=file["id"])
    quick.act(so, task["id"], {"action": "forward", "to": "clerk"})
    clock.advance(2.1)
    quick.fire_due_timers()  # breach at the clerk: clerk (Hindi) and so (English) told
    deliver(quick)
    by_user = {}
    for m in smtp_server.received:
        by_user.setdefault(m["rcpt_tos"][0].split("@")[0], []).append(m["message"])
    received = next(m for m in by_user["clerk"] if "प्राप्त" in str(m["Subject"]))
    assert str(received["Subject"]) == f"{file['file_no']} प्राप्त हुई"
    assert "अग्रेषित" in received.get_content()
    assert "so" in received.get_content()
    hindi_breach = [m for m in by_user["clerk"]
                    if str(m["Subject"]) == f"समय-सीमा समाप्त: file {file['file_no']}"]
    english_breach = [m for m in by_user["so"]
                      if str(m["Subject"]) == f"Time limit passed: file {file['file_no']}"]
    assert len(hindi_breach) == 1
    assert len(english_breach) == 1
    assert "की समय-सीमा समाप्त हो गई है" in hindi_breach[0].get_content()
    with quick.db.reader() as s:
        app_rows = list(s.scalars(select(OutboxMessage).where(
            OutboxMessage.user_id == clerk.id, OutboxMessage.channel == "app")))
    assert any(r.subject.endswith("प्राप्त हुई") for r in app_rows)  # in-app too


def test_approval_is_announced_in_the_creators_language(quick, people, smtp_server):  # noqa: F811
    set_language(quick, "clerk", "hi")
    clerk, ds = people["clerk"], people["ds"]
    file = quick.open_file(clerk, "Approve me", "11011")
    task = inbox_task(quick, clerk, file_id=file["id"])
    quick.act(clerk, task["id"], {"action": "submit", "to": "ds"})
    task = inbox_task(quick, ds, file_id=file["id"])
    smtp_server.clear()
    quick.act(ds, task["id"], {"action": "approve"})
    deliver(quick)
    assert (("clerk", f"{file['file_no']} अनुमोदित")) in subjects(smtp_server)


def test_pull_back_sends_an_urgent_sms_once(quick, people, gateway, smtp_server):  # noqa: F811
    set_language(quick, "us", "hi")
    gateway.clear()
    file = quick.open_file(people["clerk"], "Recalled", "11011")
    for _ in range(2):  # the same pull-back reported twice notifies once
        with quick.db.transaction() as s:
            recipients = list(s.scalars(select(User).where(User.username.in_(["so", "us"]))))
            notices.notify_pulled_back(s, kind="file", subject_id=file["id"], event_id=41,
                                       recipients=recipients, label=file["file_no"],
                                       subject="Recalled", by="clerk")
    deliver(quick)
    texts = {m["to"]: m["text"] for m in gateway.received if file["file_no"] in m["text"]}
    assert len([m for m in gateway.received if file["file_no"] in m["text"]]) == 2
    assert texts[people["so"].phone].startswith("URGENT:")
    assert texts[people["us"].phone].startswith("तत्काल:")
