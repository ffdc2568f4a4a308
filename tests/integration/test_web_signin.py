"""Sign-in throttling and records (engine/commands/ui.py) on the real database."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from engine.commands.ui import TooManyAttempts
from engine.domain import throttle
from engine.errors import Forbidden, Unauthorized
from engine.store.models import OpenTask, utcnow
from engine.store.web_models import SignIn, SignInThrottle
from tests.conftest import PASSWORD


def fail(service, username: str, ip: str = "10.0.0.1", times: int = 1) -> None:
    """Wrong passwords, each after any delay the previous one earned has run out (the
    clock is not waited for: the delay is set to have passed)."""
    for _ in range(times):
        with service.db.transaction() as s:
            s.execute(update(SignInThrottle).where(~SignInThrottle.key.like("ip:%"))
                      .values(locked_until=None))
        with pytest.raises(Unauthorized):
            service.sign_in(username, "wrong-password", ip)


def pair_row(service, username: str, ip: str = "10.0.0.1") -> SignInThrottle:
    with service.db.reader() as s:
        return s.get(SignInThrottle, throttle.pair_key(username, ip))


def test_delays_grow_then_the_pair_is_locked_and_success_clears_the_count(demo):
    fail(demo, "so", times=2)
    assert pair_row(demo, "so").locked_until is None  # the first two are free
    fail(demo, "so")
    row = pair_row(demo, "so")
    assert row.locked_until - row.last_failure_at == timedelta(seconds=2)
    with pytest.raises(TooManyAttempts) as held:  # even the right password waits
        demo.sign_in("so", PASSWORD, "10.0.0.1")
    assert 1 <= held.value.retry_after <= 2
    fail(demo, "so")
    row = pair_row(demo, "so")
    assert row.locked_until - row.last_failure_at == timedelta(seconds=4)
    fail(demo, "so")  # the 5th: locked for 5 minutes
    row = pair_row(demo, "so")
    assert row.failures == 5
    assert row.locked_until - row.last_failure_at == timedelta(minutes=5)
    with pytest.raises(TooManyAttempts) as locked:
        demo.sign_in("so", PASSWORD, "10.0.0.1")
    assert locked.value.status == 429
    assert 290 <= locked.value.retry_after <= 300
    # the officer signs in from another address meanwhile, which clears the user's count
    assert demo.sign_in("so", PASSWORD, "10.9.9.9")[0].username == "so"
    # other users are not locked out from the same address
    assert demo.sign_in("us", PASSWORD, "10.0.0.1")[0].username == "us"


def test_five_wrong_passwords_leave_the_secretary_able_to_sign_in_elsewhere(demo):
    for n in range(5):
        with demo.db.transaction() as s:  # each try after the previous delay ran out
            s.execute(update(SignInThrottle).values(locked_until=None))
        with pytest.raises(Unauthorized):
            demo.sign_in("secretary", f"guess-{n}", "203.0.113.9")
    with pytest.raises(TooManyAttempts):
        demo.sign_in("secretary", PASSWORD, "203.0.113.9")
    assert demo.sign_in("secretary", PASSWORD, "10.1.1.1")[0].username == "secretary"


def test_lock_doubles_with_each_further_failure_and_expires(demo):
    fail(demo, "ds", times=6)
    row = pair_row(demo, "ds")
    assert row.failures == 6
    assert row.locked_until - row.last_failure_at == timedelta(minutes=10)
    # expired lock, right password: in, and the count is gone
    with demo.db.transaction() as s:
        s.execute(update(SignInThrottle).values(locked_until=None))
    demo.sign_in("ds", PASSWORD, "10.0.0.1")
    assert pair_row(demo, "ds") is None


def test_the_user_is_alerted_and_an_admin_lifts_the_lock(demo, users):
    for n in range(5):  # from five addresses: no pair is locked, the user is alerted
        fail(demo, "ds", ip=f"198.51.100.{n}")
    fail(demo, "ds", ip="198.51.100.99", times=5)
    with pytest.raises(TooManyAttempts):
        demo.sign_in("ds", PASSWORD, "198.51.100.99")
    alerts = [n for n in demo.notifications(users["ds"])
              if n["subject"] == "Someone is trying to sign in as you"]
    assert len(alerts) == 1
    assert "5 wrong passwords" in alerts[0]["body"]
    with pytest.raises(Forbidden):
        demo.unlock_sign_in(users["clerk"], "ds")
    assert demo.unlock_sign_in(users["admin"], "ds")["lifted"] >= 2
    assert demo.sign_in("ds", PASSWORD, "198.51.100.99")[0].username == "ds"
    assert demo.audit_log(users["admin"])[0]["kind"] == "sign_in_unlocked"


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
    assert rows[0].signed_out_at is not None
    assert rows[1].signed_out_at is None
    listed = demo.sign_ins(users["auditor"])
    assert listed[0]["outcome"] == "failed"
    assert listed[1]["signed_out_at"]
    with pytest.raises(Forbidden):
        demo.sign_ins(users["clerk"])


def test_dashboard_counts(demo, users):
    d = demo.dashboard(users["clerk"])
    assert d["mine"] == {"total": 3, "overdue": 0, "files": 1, "receipts": 2}
    pending = {r["post"]: r["pending"] for r in d["section"]}
    assert pending["GAD-EST-DA"] == 3
    assert pending["GAD-EST-US"] == 1
    assert sum(r["files"] for r in d["created"]) == 2
    assert d["created"][0]["department"] == "GAD"
    assert len(d["created"][0]["month"]) == 7
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
            # the facade's own wrappers (scripts run outside the write lock) wrap the
            # mixin's method itself: that is not a second definition
            own = {n for n, v in vars(base).items()
                   if getattr(v, "__wrapped__", None) is not vars(UiServices).get(n)}
            assert not mine & own, base.__name__
