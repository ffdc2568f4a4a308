"""The script worker: a separate process that runs BPMN script tasks under resource limits.

Started by engine/bpm/script_pool.py as `python -m engine.bpm.script_worker <cpu> <mb>`.
It reads one JSON request per line on stdin ({"script": ..., "data": {...}}) and answers
one JSON line on stdout: {"ok": true, "data": {...}} or {"ok": false, "kind": ...,
"message": ..., "line": ...}. Each script runs in a child forked from this warm worker,
with its own limits: address space (RLIMIT_AS: a huge string is a MemoryError), CPU time
(RLIMIT_CPU: at the soft limit SIGXCPU becomes an error we report; one second later the
hard limit kills the child even inside one long C operation such as 10**(10**9)), and a
wall-clock allowance after which the worker kills it. The worker itself stays small and
warm whatever a script did.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import selectors
import signal
import sys
import time
from typing import Any

# The task data a script may leave, as JSON: the server reads it back and stores it.
MAX_RESULT_BYTES = 1024 * 1024


class CpuLimit(Exception):
    pass


def _on_xcpu(_signum: int, _frame: Any) -> None:
    raise CpuLimit


def _run(environment: Any, script: str, data: dict[str, Any]) -> dict[str, Any]:
    from engine.bpm.sandbox import RestrictedCodeError

    try:
        environment.execute(script, data)
    except CpuLimit:
        return {"ok": False, "kind": "cpu", "message": "it used more CPU time than allowed"}
    except MemoryError:
        return {"ok": False, "kind": "memory", "message": "it used more memory than allowed"}
    except RestrictedCodeError as err:
        return {"ok": False, "kind": "refused", "message": str(err)}
    except Exception as err:  # the script's own error, reported to the designer
        tb = err.__traceback__
        line = None
        while tb is not None:  # the deepest frame inside the script itself
            if tb.tb_frame.f_code.co_filename == "<string>":
                line = tb.tb_lineno
            tb = tb.tb_next
        return {"ok": False, "kind": "error", "line": line,
                "message": f"{type(err).__name__}: {err}"}
    try:
        text = json.dumps(data)
    except (TypeError, ValueError) as err:
        return {"ok": False, "kind": "error",
                "message": f"it left data that cannot be stored: {err}"}
    if len(text) > MAX_RESULT_BYTES:  # the server would have to hold it, and store it
        return {"ok": False, "kind": "memory",
                "message": f"it left more data than allowed ({len(text)} bytes; the limit "
                           f"is {MAX_RESULT_BYTES})"}
    return {"ok": True, "data": json.loads(text)}


def _child(environment: Any, request: dict[str, Any], cpu_seconds: float,
           memory_bytes: int, out_fd: int) -> None:
    """In the forked child: the limits, the script, the answer on the pipe, exit."""
    try:
        soft = max(1, int(cpu_seconds + 0.999))
        # the soft limit raises SIGXCPU (an error we report); the hard one a second later
        # kills the child even inside one long C operation such as 10**(10**9)
        resource.setrlimit(resource.RLIMIT_CPU, (soft, soft + 1))
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
        signal.signal(signal.SIGXCPU, _on_xcpu)
        try:
            answer = _run(environment, request["script"], request["data"])
        except CpuLimit:
            answer = {"ok": False, "kind": "cpu", "message": "it used more CPU time than allowed"}
        except MemoryError:
            answer = {"ok": False, "kind": "memory",
                      "message": "it used more memory than allowed"}
        data = json.dumps(answer).encode()
        view = memoryview(data)
        while view:
            view = view[os.write(out_fd, view):]
    finally:
        os._exit(0)


def _collect(pid: int, in_fd: int, wall_seconds: float) -> dict[str, Any]:
    """The child's answer; it is killed once past the wall-clock allowance."""
    chunks: list[bytes] = []
    deadline = time.monotonic() + wall_seconds
    with selectors.DefaultSelector() as selector:
        selector.register(in_fd, selectors.EVENT_READ)
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not selector.select(left):
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                return {"ok": False, "kind": "wall", "message": "it ran longer than allowed"}
            chunk = os.read(in_fd, 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
    _, status = os.waitpid(pid, 0)
    if chunks:
        answer: dict[str, Any] = json.loads(b"".join(chunks))
        return answer
    if os.WIFSIGNALED(status) and os.WTERMSIG(status) in (signal.SIGXCPU, signal.SIGKILL):
        return {"ok": False, "kind": "cpu", "message": "it used more CPU time than allowed"}
    return {"ok": False, "kind": "memory", "message": "it used more memory than allowed"}


def main(argv: list[str]) -> int:
    cpu_seconds = float(argv[1])
    memory_bytes = int(argv[2]) * 1024 * 1024
    wall_seconds = cpu_seconds * 2 + 1
    # Imported once here; each script runs in a child forked from this warm process, with
    # limits of its own (a fork costs about a millisecond, a cold start 0.2 s).
    from engine.bpm.sandbox import RestrictedEnvironment, _runnable

    environment = RestrictedEnvironment()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server's Ctrl-C is not ours to take
    out = sys.stdout
    for raw in sys.stdin:
        try:
            request = json.loads(raw)
        except ValueError:
            return 2
        with contextlib.suppress(Exception):  # compiled once here, inherited by the child
            _runnable(str(request.get("script", "")), "exec")
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read_fd)
            _child(environment, request, cpu_seconds, memory_bytes, write_fd)
        os.close(write_fd)
        try:
            answer = _collect(pid, read_fd, wall_seconds)
        finally:
            os.close(read_fd)
        out.write(json.dumps(answer) + "\n")
        out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
