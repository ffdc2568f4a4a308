"""What bounding scripts and expressions costs: a script task in a worker process against
the same script run in-process, and an expression in the bounded evaluator.

    PYTHONPATH=. .venv/bin/python bench/scripts.py            # 200 runs each
    PYTHONPATH=. .venv/bin/python bench/scripts.py --runs 1000
"""

from __future__ import annotations

import argparse
import statistics
import time

from engine.bpm import expressions
from engine.bpm.sandbox import RestrictedEnvironment
from engine.bpm.script_pool import ScriptLimits, ScriptPool

SCRIPT = "total = amount * 2\nlabel = 'big' if total > 1000 else 'small'"
EXPRESSION = "action in ('forward', 'return') and not to_approver and amount > 1000"


def _ms(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    return f"median {statistics.median(samples) * 1000:.3f} ms, p95 {p95 * 1000:.3f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=200)
    runs = parser.parse_args().runs

    here = RestrictedEnvironment()
    inline = []
    for i in range(runs):
        data = {"amount": i}
        started = time.perf_counter()
        here.execute(SCRIPT, data)
        inline.append(time.perf_counter() - started)

    pool = ScriptPool(ScriptLimits())
    started = time.perf_counter()
    pool.run(SCRIPT, {"amount": -1})  # the cold start: a worker process is launched
    cold = time.perf_counter() - started
    worker = []
    for i in range(runs):
        data = {"amount": i}  # new data each time: no kept result is reused
        started = time.perf_counter()
        pool.run(SCRIPT, data)
        worker.append(time.perf_counter() - started)
    pool.close()

    evaluated = []
    names = {"action": "forward", "to_approver": False, "amount": 5000}
    for _ in range(runs):
        started = time.perf_counter()
        expressions.evaluate(EXPRESSION, names)
        evaluated.append(time.perf_counter() - started)

    print(f"script in-process (RestrictedPython, no limits): {_ms(inline)}")
    print(f"script in a worker (fork, limits, JSON in/out):  {_ms(worker)}")
    print(f"worker cold start (first script):                {cold * 1000:.0f} ms")
    print(f"expression, bounded evaluator:                   {_ms(evaluated)}")


if __name__ == "__main__":
    main()
