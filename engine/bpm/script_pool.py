"""Script tasks run in worker processes with CPU and memory limits, never while the
database write lock is held.

Why not in-process: a script is untrusted code in a Turing-complete language; a loop or
one huge arithmetic operation would hold the GIL (every request stops) and a huge string
would grow the server for good. A worker (engine/bpm/script_worker.py) runs it under
RLIMIT_CPU and RLIMIT_AS, and the pool kills it after a wall-clock timeout; the server
only waits on a pipe, which releases the GIL.

Why not while the lock is held: a command opens its transaction with BEGIN IMMEDIATE on
SQLite, so the write lock is held from the command's first line to its commit. When the
engine reaches a script inside a command, the sandbox does not run it: it raises
`ScriptPending` (engine/bpm/sandbox.py), the command rolls back (releasing the lock), the
facade runs the script here with no transaction open and keeps the result, and runs the
command again (engine/commands/executor.py, `scripts_outside_the_lock`). A script is a
function of its task data only (no clock, no randomness, no I/O in the sandbox), and the
rolled-back attempt leaves SQLite's row ids as they were, so the second run reaches the
same script with the same data and takes the kept result. A failure is kept too, and the
runtime then records it (engine/bpm/runtime.py). Should the data differ between attempts
anyway, the next attempt runs its scripts under the lock (`scripts_inline`), bounded by
the same limits. On PostgreSQL there is no database-wide write lock, so scripts run
during the command (in the worker) and nothing is rolled back.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import selectors
import subprocess
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from SpiffWorkflow.exceptions import WorkflowException

_ROOT = Path(__file__).resolve().parents[2]  # where `engine` is importable from


@dataclass(frozen=True)
class ScriptLimits:
    cpu_seconds: float = 2.0  # SANCHIKA_SCRIPT_CPU_SECONDS
    memory_mb: int = 256  # SANCHIKA_SCRIPT_MEMORY_MB: the worker's whole address space
    workers: int = 2  # SANCHIKA_SCRIPT_WORKERS: scripts that may run at once

    @property
    def wall_seconds(self) -> float:
        # The worker kills a script at twice its CPU allowance plus a second of wall time;
        # this is the backstop should the worker itself stop answering.
        return self.cpu_seconds * 2 + 6.0


class ScriptFailed(Exception):
    """A script went past its limits or raised; `message` is for the designer."""

    def __init__(self, kind: str, message: str, line: int | None = None):
        self.kind = kind
        self.message = message
        self.line = line
        super().__init__(message)


class ScriptPending(WorkflowException):
    """A script must run, but a write transaction is open: roll back, run it, try again.
    A WorkflowException so that SpiffWorkflow's script engine passes it through as is."""

    def __init__(self, script: str, data: dict[str, Any]):
        self.script = script
        self.data = data
        super().__init__("a script must run outside the transaction")


# Set while a command's transaction holds the database-wide write lock (SQLite's BEGIN
# IMMEDIATE; engine/commands/executor.py). PostgreSQL has no such lock: a script there runs
# in the worker while the command waits, holding only the row locks it has taken.
_in_write_transaction: ContextVar[bool] = ContextVar("sanchika_write_tx", default=False)
# Set for a command's last attempt when its scripts' data changed between attempts (it
# holds something new each time, e.g. a time): the scripts then run under the lock, still
# within their limits, rather than never.
_inline: ContextVar[bool] = ContextVar("sanchika_scripts_inline", default=False)


@contextlib.contextmanager
def write_transaction(holds_lock: bool = True) -> Iterator[None]:
    token = _in_write_transaction.set(holds_lock)
    try:
        yield
    finally:
        _in_write_transaction.reset(token)


@contextlib.contextmanager
def scripts_inline() -> Iterator[None]:
    token = _inline.set(True)
    try:
        yield
    finally:
        _inline.reset(token)


def in_write_transaction() -> bool:
    return _in_write_transaction.get()


def must_defer() -> bool:
    """Whether a script reached now must wait for the transaction to roll back."""
    return _in_write_transaction.get() and not _inline.get()


def _key(script: str, data: dict[str, Any]) -> str:
    text = json.dumps([script, data], sort_keys=True, separators=(",", ":"), default=repr)
    return hashlib.sha256(text.encode()).hexdigest()


class _Worker:
    def __init__(self, limits: ScriptLimits):
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_ROOT), env.get("PYTHONPATH")]))
        self.process = subprocess.Popen(  # noqa: S603 - our own module, fixed arguments
            [sys.executable, "-m", "engine.bpm.script_worker", str(limits.cpu_seconds),
             str(limits.memory_mb)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            env=env, cwd=str(_ROOT), start_new_session=True)
        self.buffer = b""

    def ask(self, request: dict[str, Any], timeout: float) -> dict[str, Any] | None:
        """The worker's answer, or None if it died or ran out of time (then it is killed)."""
        stdin, stdout = self.process.stdin, self.process.stdout
        if stdin is None or stdout is None:
            return None
        try:
            stdin.write(json.dumps(request).encode() + b"\n")
            stdin.flush()
        except (BrokenPipeError, OSError):
            self.kill()
            return None
        deadline = time.monotonic() + timeout
        fd = stdout.fileno()
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while b"\n" not in self.buffer:
                left = deadline - time.monotonic()
                if left <= 0 or not selector.select(left):
                    self.kill()
                    return None
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    self.kill()
                    return None
                self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        with contextlib.suppress(OSError):
            self.process.kill()
        with contextlib.suppress(Exception):
            self.process.wait(timeout=5)
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()


class ScriptPool:
    """Warm workers, at most `limits.workers` busy at once, and the results of recent
    scripts by (script, data) so that a command run again finds its script's result."""

    def __init__(self, limits: ScriptLimits | None = None, keep: int = 512):
        self.limits = limits or ScriptLimits()
        self._idle: list[_Worker] = []
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(max(1, self.limits.workers))
        self._results: OrderedDict[str, dict[str, Any] | ScriptFailed] = OrderedDict()
        self._keep = keep

    def known(self, script: str, data: dict[str, Any]) -> dict[str, Any] | None:
        """The kept result for this script and data (ScriptFailed raised if it failed)."""
        with self._lock:
            found = self._results.get(_key(script, data))
        if isinstance(found, ScriptFailed):
            raise found
        return None if found is None else dict(found)

    def run(self, script: str, data: dict[str, Any]) -> dict[str, Any]:
        """The task data after the script (new dict); ScriptFailed if it fails. Kept."""
        key = _key(script, data)
        with self._lock:
            found = self._results.get(key)
        if found is None:
            try:
                found = self._execute(script, data)
            except ScriptFailed as failed:
                found = failed
            with self._lock:
                self._results[key] = found
                while len(self._results) > self._keep:
                    self._results.popitem(last=False)
        if isinstance(found, ScriptFailed):
            raise found
        return dict(found)

    def _execute(self, script: str, data: dict[str, Any]) -> dict[str, Any]:
        try:
            request = {"script": script, "data": json.loads(json.dumps(data))}
        except (TypeError, ValueError) as err:
            raise ScriptFailed("error", f"the task data cannot be given to a script: {err}"
                               ) from None
        with self._slots:
            worker = self._take()
            answer = worker.ask(request, self.limits.wall_seconds)
            if answer is not None and worker.alive():  # a script's limits end its child only
                self._give_back(worker)
            else:
                worker.kill()
        if answer is None:
            raise ScriptFailed(
                "wall", f"it ran longer than allowed ({self.limits.cpu_seconds:g} s of CPU "
                f"time; memory limit {self.limits.memory_mb} MB) and was stopped")
        if not answer.get("ok"):
            message = str(answer.get("message") or "it failed")
            if answer.get("kind") == "cpu":
                message += f" ({self.limits.cpu_seconds:g} s) and was stopped"
            elif answer.get("kind") == "wall":
                message += (f" ({self.limits.cpu_seconds:g} s of CPU time, "
                            f"{self.limits.cpu_seconds * 2 + 1:g} s in all) and was stopped")
            elif answer.get("kind") == "memory" and "MB" not in message \
                    and "bytes" not in message:
                message += f" ({self.limits.memory_mb} MB) and was stopped"
            raise ScriptFailed(str(answer.get("kind")), message, answer.get("line"))
        result: dict[str, Any] = answer["data"]
        return result

    def _take(self) -> _Worker:
        with self._lock:
            while self._idle:
                worker = self._idle.pop()
                if worker.alive():
                    return worker
                worker.kill()
        return _Worker(self.limits)

    def _give_back(self, worker: _Worker) -> None:
        with self._lock:
            self._idle.append(worker)

    def warm(self) -> None:
        """Start one worker ahead of the first script (a cold start costs ~0.2 s)."""
        with self._lock:
            if self._idle:
                return
        self._give_back(_Worker(self.limits))

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.kill()


_default: ScriptPool | None = None
_default_lock = threading.Lock()


def configure(limits: ScriptLimits) -> ScriptPool:
    """Set the limits of the process-wide pool (the application does, from its settings)."""
    global _default
    with _default_lock:
        if _default is None or _default.limits != limits:
            old, _default = _default, ScriptPool(limits)
            if old is not None:
                old.close()
        return _default


def default_pool() -> ScriptPool:
    global _default
    with _default_lock:
        if _default is None:
            _default = ScriptPool()
        return _default
