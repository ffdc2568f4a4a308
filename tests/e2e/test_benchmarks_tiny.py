"""Every benchmark under bench/ runs once at a tiny size, so none can rot unnoticed
(bench/scale.py and bench/ocr.py have tests of their own). Each makes its own SQLite
database in a temporary folder; the figures are not judged, only that the run completes
and reports what it is for."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(bool(os.environ.get("SANCHIKA_TEST_DATABASE_URL")),
                                reason="own SQLite databases: run once, on the SQLite pass")


def bench(tmp_path: Path, script: str, *args: str) -> dict[str, Any]:
    out = tmp_path / "figures.json"
    run = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), *args, "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(tmp_path)})
    assert run.returncode == 0, run.stderr[-3000:]
    figures: dict[str, Any] = json.loads(out.read_text())
    return figures


def test_lifecycle_compares_with_raw_spiffworkflow(tmp_path):
    figures = bench(tmp_path, "lifecycle.py", "--files", "3")
    assert figures["sanchika"]["actions"] == figures["raw"]["actions"] > 0
    assert 0 < figures["sql_statements_per_action"] < 50
    assert figures["ratio_cpu_raw_over_sanchika"] > 0


def test_timers_fire_each_due_timer_once(tmp_path):
    figures = bench(tmp_path, "timers.py", "--timers", "60", "--due", "20", "--lead", "2",
                    "--window", "1")
    assert (figures["fired"], figures["duplicates"], figures["missed"],
            figures["fired_not_due"]) == (20, 0, 0, 0)


def test_http_load_completes_files_without_errors(tmp_path):
    figures = bench(tmp_path, "http_load.py", "--processes", "1", "--clients", "2",
                    "--seconds", "1", "--warmup", "0.25")
    (run,) = figures["runs"]
    assert run["requests"] > 0
    assert run["status_5xx"] == 0


def test_verify_full_and_incremental_are_intact(tmp_path):
    figures = bench(tmp_path, "verify.py", "--instances", "30", "--actions", "10",
                    "--no-workers")
    for mode in ("full", "incremental"):
        assert figures[mode]["rc"] == 0, figures[mode]
        assert figures[mode]["out"].endswith(": intact"), figures[mode]
    assert "(incremental since" in figures["incremental"]["out"]


def test_scripts_bench_times_a_script_in_a_worker(tmp_path):
    run = subprocess.run([sys.executable, str(ROOT / "bench" / "scripts.py"), "--runs", "5"],
                         cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert run.returncode == 0, run.stderr[-3000:]
    assert "script in a worker" in run.stdout
