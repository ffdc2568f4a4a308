"""Sign-in throttling and records (engine/commands/ui.py) on the real database."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.commands.ui import TooManyAttempts
from engine.errors import Forbidden, Unauthorized
from engine.store.models import OpenTask, utcnow
from engine.store.web_models import SignIn, SignInThrottle
from tests.conftest import PASSWORD


def fail(service, username: str, ip: str = "10.0.0.1", times: int = 1) -> None:
    for _ in range(times):
        with pytest.raises(Unauthorized):
            service.sign_in(username, "wrong-password", ip)


def test_five_failures_lock_the_username_and_success_clears_the_count(demo):
    fail(demo, "so", times=4)
    user, _ = demo.sign_in("so", PASSWORD, "10.0.0.1")  # the 5th try succeeds: count cleared
    assert user.username == "so"
    fail(demo, "so", times=5)
    with pytest.raises(TooManyAttempts) as locked:
        demo.sign_in("so", PASSWORD, "10.0.0.1")
    assert locked.value.status == 429
    # another address does not help: the username itself is locked
    with pytest.raises(TooManyAttempts):
        demo.sign_in("so", PASSWORD, "10.9.9.9")
    # other users are not locked out from the same address
    assert demo.sign_in("us", PASSWORD, "10.0.0.1")[0].username == "us"


def test_lock_doubles_with_each_further_failure_and_expires(demo, clock):
    fail(demo, "ds", times=5)
    with demo.db.reader() as s:
        row = s.get(SignInThrottle, "user:ds")
        first = row.locked_until - row.last_failure_at
    assert first == timedelta(minutes=5)
    with pytest.raises(TooManyAttempts):  # the clock stands still: still locked
        demo.sign_in("ds", PASSWORD)
    # once the lock has run out, a further failure locks for twice as long
    clock.advance(first.total_seconds() + 1)
    fail(demo, "ds")
    with demo.db.reader() as s:
        row = s.get(SignInThrottle, "user:ds")
        assert row.failures == 6
        assert row.locked_until - row.last_failure_at == timedelta(minutes=10)
    # expired lock, right password: in, and the count is gone
    clock.advance(timedelta(minutes=10).total_seconds() + 1)
    demo.sign_in("ds", PASSWORD)
    with demo.db.reader() as s:
        assert s.get(SignInThrottle, "user:ds") is None


def test_one_address_trying_many_names_is_locked(demo):
    for n in range(20):
        fail(demo, f"nobody{n}", ip="192.0.2.7")
    with pytest.raises(TooManyAttempts):
        demo.sign_in("clerk", PASSWORD, "192.0.2.7")
    assert demo.sign_in("clerk", PASSWORD, "192.0.2.8")[0].username == "clerk"


def test_sign_in_and_sign_off_are_recorded_and_shown_to_auditors_only(demo, users):
    _, record_id = demo.sign_in("clerk", PASSWORD, "127.0.0.1", "Firefox")
    fail(demo, "clerk", ip="127.0.0.1")
    demo.sign_out(record_id)
    demo.sign_out(record_id)  # a second sign-off keeps the first time
    with demo.db.reader() as s:
        rows = list(s.scalars(select(SignIn).order_by(SignIn.id)))
    assert [(r.username, r.outcome) for r in rows] == [("clerk", "ok"), ("clerk", "failed")]
    assert rows[0].signed_out_at is not None and rows[1].signed_out_at is None
    listed = demo.sign_ins(users["auditor"])
    assert listed[0]["outcome"] == "failed" and listed[1]["signed_out_at"]
    with pytest.raises(Forbidden):
        demo.sign_ins(users["clerk"])


def test_dashboard_counts(demo, users):
    d = demo.dashboard(users["clerk"])
    assert d["mine"] == {"total": 3, "overdue": 0, "files": 1, "receipts": 2}
    pending = {r["post"]: r["pending"] for r in d["section"]}
    assert pending["GAD-EST-DA"] == 3 and pending["GAD-EST-US"] == 1
    assert sum(r["files"] for r in d["created"]) == 2
    assert d["created"][0]["department"] == "GAD" and len(d["created"][0]["month"]) == 7
    # an item past its time shows as overdue for me and in the per-post overdue list
    with demo.db.transaction() as s:
        task = s.scalar(select(OpenTask).where(OpenTask.post_id == users["clerk"].post_id,
                                               OpenTask.closed_at.is_(None)).limit(1))
        task.due_at = utcnow() - timedelta(hours=1)
    d = demo.dashboard(users["clerk"])
    assert d["mine"]["overdue"] == 1
    assert [(r["post"], r["overdue"]) for r in d["overdue"]] == [("GAD-EST-DA", 1)]


def test_ui_service_names_do_not_shadow_or_get_shadowed():
    """UiServices is one mixin of several: a same-named method elsewhere would silently
    replace one of them."""
    from engine.app import Sanchika
    from engine.commands.ui import UiServices

    mine = {n for n in vars(UiServices) if not n.startswith("__")}
    for base in Sanchika.__mro__:
        if base not in (UiServices, object):
            assert not mine & set(vars(base)), base.__name__
