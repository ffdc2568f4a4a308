"""A designer cannot freeze the office with a diagram: what is provably unbounded is
refused at deployment, and what is not runs in a worker under a CPU and memory limit,
outside the write lock; the item's process stops with the element named, in its history
and on its page, and nothing runs it again — not the next sweep, not a restart."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

import handlers
from engine.app import Sanchika
from engine.config import Settings
from engine.errors import InvalidBpmn
from engine.store.models import HistoryEvent, Instance, Receipt, Timer, User
from tests import runaway

# the limits the tests run with: one second of CPU per script
LIMITED = {"script_cpu_seconds": 1.0, "script_memory_mb": 200}


@pytest.fixture
def limited(demo: Sanchika) -> Iterator[Sanchika]:
    app = Sanchika(Settings(**{**demo.settings.__dict__, **LIMITED}), handlers.registry)
    yield app
    app.db.dispose()


def _users(app: Sanchika) -> dict[str, User]:
    with app.db.reader() as s:
        return {u.username: u for u in s.scalars(select(User))}


def _events(app: Sanchika, instance_id: int, kind: str) -> list[HistoryEvent]:
    with app.db.reader() as s:
        return list(s.scalars(select(HistoryEvent).where(
            HistoryEvent.instance_id == instance_id, HistoryEvent.kind == kind)))


# ------------------------------------------------------------------ the deploy check

@pytest.mark.parametrize("name", sorted(runaway.LITERAL))
def test_deploy_refuses_a_provably_unbounded_script(service, name):
    with pytest.raises(InvalidBpmn) as err:
        service.deploy(runaway.dak_with_script(runaway.LITERAL[name]), None)
    [detail] = err.value.details
    assert detail["element_id"] == "runaway"
    assert detail["line"] is not None
    assert detail["message"].startswith("script: ")
    assert "runaway" in err.value.message


def test_deploy_refuses_a_provably_unbounded_condition(service):
    with pytest.raises(InvalidBpmn) as err:
        service.deploy(runaway.dak_with_condition(runaway.LITERAL_CONDITION), None)
    [detail] = err.value.details
    assert detail["element_id"] == "flow_checked"
    assert "range() of more than" in detail["message"]


def test_deploy_refuses_loops_and_lambdas_in_conditions(service):
    for condition in ("[x for x in range(3)]", "(lambda: 1)()"):
        with pytest.raises(InvalidBpmn) as err:
            service.deploy(runaway.dak_with_condition(condition), None)
        assert err.value.details[0]["element_id"] == "flow_checked"


# ------------------------------------------------------------------ at run time

@pytest.mark.parametrize("name", sorted(runaway.RUNTIME))
def test_runaway_script_in_dak_receipt_fails_the_item_not_the_office(limited, name):
    app = limited
    users = _users(app)
    definition, created = app.deploy(runaway.dak_with_script(runaway.RUNTIME[name]),
                                     users["designer"])
    assert created
    assert definition.version == 2
    done: dict[str, object] = {}

    def diarise() -> None:
        done["receipt"] = app.diarise(users["clerk"], {"sender": "Collectorate",
                                                       "subject": "Runaway"})

    worker = threading.Thread(target=diarise)
    started = time.monotonic()
    worker.start()
    time.sleep(0.2)  # the script is running in its worker by now
    # Another user's write goes through at once: no lock is held while the script runs.
    other = app.open_file(users["so"], "Written meanwhile", "11011")
    still_running = worker.is_alive()
    worker.join(timeout=30)
    assert not worker.is_alive()
    assert other["id"]
    if name != "format":  # a huge string fails at once (memory), the others take ~1 s
        # the write finished while the script still ran: nothing it holds blocked it
        assert still_running, "the script ended before the write did"
        assert time.monotonic() - started >= 1.0
    receipt = done["receipt"]
    assert isinstance(receipt, dict)
    with app.db.reader() as s:
        stored = s.get(Receipt, receipt["id"])
        instance = s.get(Instance, stored.instance_id)
        assert instance.status == "failed"
    [failed] = _events(app, instance.id, "process_failed")
    assert failed.task_spec == "runaway"
    message = failed.data["message"]
    assert "'Runaway check' (runaway" in message
    # past its CPU time, or (on a busy machine) its wall-clock allowance
    expected = "than allowed (1 s" if name != "format" else "more memory than allowed (200 MB)"
    assert expected in message, message
    view = app.receipt(users["clerk"], receipt["id"])
    assert view["process_error"] == message
    # the re-execution check (which re-runs the script in a worker) agrees with the
    # recorded failure
    report = app.verify_report()
    assert report.intact, report.problems


def test_runaway_condition_fails_the_item_at_once(limited):
    app = limited
    users = _users(app)
    app.deploy(runaway.dak_with_condition(runaway.RUNTIME_CONDITION), None)
    # bounded: refused before it is worked out (the message says which limit)
    receipt = app.diarise(users["clerk"], {"sender": "Collectorate", "subject": "Gate"})
    view = app.receipt(users["clerk"], receipt["id"])
    assert "range() of more than 10000 items" in view["process_error"]
    assert "runaway_gate" in view["process_error"] or "flow_checked" in view["process_error"]


def test_a_script_that_works_runs_in_the_worker_and_the_item_moves_on(limited):
    app = limited
    users = _users(app)
    app.deploy(runaway.dak_with_script("checked = receipt_id * 2"), None)
    receipt = app.diarise(users["clerk"], {"sender": "Collectorate", "subject": "Fine"})
    view = app.receipt(users["clerk"], receipt["id"])
    assert view["process_error"] is None
    assert view["tasks"], "the receipt reached its first step"
    with app.db.reader() as s:
        instance = s.get(Instance, s.get(Receipt, receipt["id"]).instance_id)
        assert instance.status == "running"
        workflow = app.runtime.load(instance, s)
    [step] = workflow.get_tasks(state=TaskState.READY, manual=True)
    assert step.task_spec.name == "act_on_receipt"
    assert step.data["checked"] == receipt["id"] * 2
    # verify re-runs the script (in a worker) and finds the same data
    report = app.verify_report()
    assert report.intact, report.problems
    assert report.reexecuted >= 1


@pytest.mark.parametrize("name", ["loop", "power", "format"])
def test_timer_started_runaway_fails_once_and_not_again_after_a_restart(limited, clock, name):
    app = limited
    app.deploy(runaway.scheduled(runaway.RUNTIME[name]), None)
    with app.db.reader() as s:
        [instance] = s.scalars(select(Instance).where(
            Instance.process_id == "runaway_schedule"))
    clock.advance(1.5)
    assert app.fire_due_timers() == 1
    with app.db.reader() as s:
        assert s.get(Instance, instance.id).status == "failed"
        timers = list(s.scalars(select(Timer).where(Timer.instance_id == instance.id)))
    assert [t.status for t in timers] == ["fired"]
    [failed] = _events(app, instance.id, "process_failed")
    assert "'Runaway check' (runaway" in failed.data["message"]
    # The next sweep and a restarted process find nothing to run.
    assert app.fire_due_timers() == 0
    restarted = Sanchika(app.settings, handlers.registry)
    try:
        assert restarted.fire_due_timers() == 0
    finally:
        restarted.db.dispose()
    assert len(_events(app, instance.id, "process_failed")) == 1


def test_the_receipt_page_says_why_its_process_stopped_in_both_languages(limited):
    import re

    from tests.conftest import PASSWORD
    from web.app import create_app

    app = limited
    users = _users(app)
    app.deploy(runaway.dak_with_script(runaway.RUNTIME["format"]), None)
    receipt = app.diarise(users["clerk"], {"sender": "Collectorate", "subject": "Page"})
    web = create_app(app.settings, app)

    def page() -> str:
        client = web.test_client()
        token = re.search(r'name="csrf_token" value="([^"]+)"',
                          client.get("/login").get_data(as_text=True)).group(1)
        assert client.post("/login", data={"username": "clerk", "password": PASSWORD,
                                           "csrf_token": token}).status_code == 302
        return client.get(f"/receipts/{receipt['id']}").get_data(as_text=True)

    english = page()
    assert "The process of this item stopped" in english
    assert "(runaway)" in english
    assert "more memory than allowed (200 MB)" in english
    app.save_settings(users["clerk"], "hi", notify_email=True, notify_sms=False)
    assert "इस मद की प्रक्रिया रुक गई" in page()


def test_timer_started_runaway_condition_is_refused_at_deployment(limited):
    # A timer-started instance has no data of its own, so its conditions are constants:
    # the deploy check works them out.
    with pytest.raises(InvalidBpmn) as err:
        limited.deploy(runaway.scheduled_condition(runaway.LITERAL_CONDITION), None)
    assert err.value.details[0]["element_id"] == "flow_checked"


def test_timer_started_condition_error_fails_the_instance_once(limited, clock):
    app = limited
    app.deploy(runaway.scheduled_condition("missing_field > 0"), None)
    with app.db.reader() as s:
        [instance] = s.scalars(select(Instance).where(
            Instance.process_id == "runaway_gate_schedule"))
    clock.advance(1.5)
    assert app.fire_due_timers() == 1
    [failed] = _events(app, instance.id, "process_failed")
    assert "runaway_gate" in failed.data["message"]
    assert "missing_field" in failed.data["message"]
    assert app.fire_due_timers() == 0  # not again at every sweep
    report = app.verify_report()
    assert report.intact, report.problems
