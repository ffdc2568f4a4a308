"""The script pool (engine/bpm/script_pool.py) and its worker: scripts run in another
process under CPU and memory limits; a runaway is stopped and reported, the next script
runs normally, results are kept for a command's second attempt, and no script runs while
a write transaction is open."""

from __future__ import annotations

import resource
import time
from collections.abc import Iterator

import pytest

from engine.bpm import script_pool
from engine.bpm.sandbox import RestrictedEnvironment
from engine.bpm.script_pool import ScriptFailed, ScriptLimits, ScriptPending, ScriptPool


@pytest.fixture
def pool() -> Iterator[ScriptPool]:
    running = ScriptPool(ScriptLimits(cpu_seconds=1, memory_mb=200, workers=1))
    yield running
    running.close()


def test_a_script_runs_in_a_worker_and_gives_back_its_data(pool):
    assert pool.run("y = x * 2\nz = [x, 'a']", {"x": 4}) == {"x": 4, "y": 8, "z": [4, "a"]}


@pytest.mark.parametrize(("script", "kind"), [
    ("n = 0\nwhile n >= 0:\n    n = n + 1", ("cpu", "wall")),
    ("k = 9\nx = 10**(10**k)", ("cpu", "wall")),
    ("w = 999999999\ny = ('%0' + str(w) + 'd') % 1", ("memory",)),
    ("s = 'x' * (300 * 1024 * 1024)", ("memory",)),
])
def test_a_runaway_is_stopped_within_its_limits_and_the_next_script_runs(pool, script, kind):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    with pytest.raises(ScriptFailed) as failed:
        pool.run(script, {})
    assert failed.value.kind in kind
    assert "than allowed" in failed.value.message
    assert time.monotonic() - started < 1 * 2 + 1 + 2  # the wall allowance, and a margin
    # this process did not grow: the work happened elsewhere
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 50 * 1024
    assert pool.run("y = 1", {}) == {"y": 1}


def test_a_script_may_not_hand_back_more_data_than_allowed(pool):
    with pytest.raises(ScriptFailed, match="more data than allowed") as failed:
        pool.run("y = 'x' * (50 * 1024 * 1024)", {})
    assert failed.value.kind == "memory"


def test_a_script_error_names_its_line(pool):
    with pytest.raises(ScriptFailed) as failed:
        pool.run("x = 1\ny = x / 0", {})
    assert failed.value.kind == "error"
    assert failed.value.line == 2
    assert "ZeroDivisionError" in failed.value.message


def test_results_and_failures_are_kept_by_script_and_data(pool):
    assert pool.known("y = x + 1", {"x": 1}) is None
    pool.run("y = x + 1", {"x": 1})
    assert pool.known("y = x + 1", {"x": 1}) == {"x": 1, "y": 2}
    assert pool.known("y = x + 1", {"x": 2}) is None
    with pytest.raises(ScriptFailed):
        pool.run("y = missing", {})
    with pytest.raises(ScriptFailed):
        pool.known("y = missing", {})


def test_data_that_is_not_json_is_refused(pool):
    with pytest.raises(ScriptFailed, match="cannot be given to a script"):
        pool.run("y = 1", {"when": object()})


def test_no_script_runs_while_a_write_transaction_is_open():
    env = RestrictedEnvironment(workers=True)
    data = {"x": 20}
    with script_pool.write_transaction(), pytest.raises(ScriptPending) as pending:
        env.execute("y = x + 1 + 1000", data)
    assert pending.value.script == "y = x + 1 + 1000"
    assert data == {"x": 20}  # nothing ran, nothing changed
    script_pool.default_pool().run(pending.value.script, pending.value.data)
    with script_pool.write_transaction():  # the second attempt finds the kept result
        env.execute("y = x + 1 + 1000", data)
    assert data == {"x": 20, "y": 1021}


def test_a_call_whose_script_data_changes_between_attempts_runs_it_inline_at_last():
    from engine.commands.executor import scripts_outside_the_lock

    env = RestrictedEnvironment(workers=True)
    attempts: list[bool] = []

    class Facade:
        def act(self) -> dict:
            attempts.append(script_pool.must_defer())
            data = {"x": len(attempts)}  # new each attempt, as a time would be
            with script_pool.write_transaction():
                env.execute("y = x * 10", data)
            return data

    scripts_outside_the_lock(Facade)
    assert Facade().act() == {"x": 3, "y": 30}
    assert len(attempts) == 3  # deferred, deferred again with new data, then inline
