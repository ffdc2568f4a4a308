"""The script worker: a separate process that runs BPMN script tasks under resource limits.

Started by engine/bpm/script_pool.py as `python -m engine.bpm.script_worker <cpu> <mb>`.
It reads one JSON request per line on stdin ({"script": ..., "data": {...}}) and answers
one JSON line on stdout: {"ok": true, "data": {...}} or {"ok": false, "kind": ...,
"message": ..., "line": ...}. Its address space is capped (RLIMIT_AS) for its whole life,
and before each script its CPU limit is moved to what it has used so far plus the
script's allowance (RLIMIT_CPU): a Python-level loop gets SIGXCPU, which is turned into
an error here; a single long C operation is ended by the pool's wall-clock timeout, which
kills the worker. A script that went past a limit makes the worker exit after answering,
so the next script gets a fresh one.
"""

from __future__ import annotations

import json
import resource
import signal
import sys
from typing import Any


class CpuLimit(Exception):
    pass


def _on_xcpu(_signum: int, _frame: Any) -> None:
    raise CpuLimit


def _cpu_used() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _set_cpu_allowance(seconds: float) -> None:
    soft = int(_cpu_used() + seconds + 0.999)
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


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
    return {"ok": True, "data": json.loads(text)}


def main(argv: list[str]) -> int:
    cpu_seconds = float(argv[1])
    memory_mb = int(argv[2])
    # Imports first: the limits then bound the script, not the worker's own start.
    from engine.bpm.sandbox import RestrictedEnvironment

    environment = RestrictedEnvironment()
    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    signal.signal(signal.SIGXCPU, _on_xcpu)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server's Ctrl-C is not ours to take
    out = sys.stdout
    for raw in sys.stdin:
        try:
            request = json.loads(raw)
        except ValueError:
            return 2
        _set_cpu_allowance(cpu_seconds)
        try:
            answer = _run(environment, request["script"], request["data"])
        except CpuLimit:  # arrived between the script and the answer
            answer = {"ok": False, "kind": "cpu", "message": "it used more CPU time than allowed"}
        except MemoryError:
            answer = {"ok": False, "kind": "memory", "message": "it used more memory than allowed"}
        out.write(json.dumps(answer) + "\n")
        out.flush()
        if answer.get("kind") in ("cpu", "memory"):
            return 0  # a fresh worker for the next script
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
