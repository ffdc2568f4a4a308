"""Every benchmark under bench/ runs once at a tiny size, so none can rot unnoticed
(bench/scale.py and bench/ocr.py have tests of their own). Each makes its own SQLite
database in a temporary folder; the figures are not judged, only that the run completes
and reports what it is for.

Each benchmark's `main` runs in the test's process, with its command line in `sys.argv`:
a Python process of its own spent 1.5 s of CPU importing what this one has imported
already. The processes a benchmark starts itself (the timer worker, the `sanchika verify`
runs, the server under load, the script worker) are started as when it runs alone."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import tempfile
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(bool(os.environ.get("SANCHIKA_TEST_DATABASE_URL")),
                                reason="own SQLite databases: run once, on the SQLite pass")


def load(script: str) -> ModuleType:
    """bench/<script> imported as a module (bench/ is no package)."""
    name = f"bench_{script.removesuffix('.py')}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / script)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, script: str, *args: str) -> Any:
    """The benchmark's `main` with this command line, its temporary folders in tmp_path."""
    module = load(script)
    monkeypatch.setattr(sys, "argv", [script, *args])
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    return module.main()


def bench(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, script: str, *args: str
          ) -> dict[str, Any]:
    out = tmp_path / "figures.json"
    assert run(monkeypatch, tmp_path, script, *args, "--json", str(out)) == 0
    figures: dict[str, Any] = json.loads(out.read_text())
    return figures


def test_lifecycle_compares_with_raw_spiffworkflow(monkeypatch, tmp_path):
    figures = bench(monkeypatch, tmp_path, "lifecycle.py", "--files", "3")
    assert figures["sanchika"]["actions"] == figures["raw"]["actions"] > 0
    assert 0 < figures["sql_statements_per_action"] < 50
    assert figures["ratio_cpu_raw_over_sanchika"] > 0


def test_timers_fire_each_due_timer_once(monkeypatch, tmp_path):
    figures = bench(monkeypatch, tmp_path, "timers.py", "--timers", "60", "--due", "20",
                    "--lead", "2", "--window", "1")
    assert (figures["fired"], figures["duplicates"], figures["missed"],
            figures["fired_not_due"]) == (20, 0, 0, 0)


def test_http_load_completes_files_without_errors(monkeypatch, tmp_path):
    figures = bench(monkeypatch, tmp_path, "http_load.py", "--processes", "1", "--clients",
                    "2", "--seconds", "0.5", "--warmup", "0.1")
    (window,) = figures["runs"]
    assert window["requests"] > 0
    assert window["status_5xx"] == 0


def test_verify_full_and_incremental_are_intact(monkeypatch, tmp_path):
    figures = bench(monkeypatch, tmp_path, "verify.py", "--instances", "30", "--actions",
                    "10", "--no-workers")
    for mode in ("full", "incremental"):
        assert figures[mode]["rc"] == 0, figures[mode]
        assert figures[mode]["out"].endswith(": intact"), figures[mode]
    assert "(incremental since" in figures["incremental"]["out"]


def test_scripts_bench_times_a_script_in_a_worker(monkeypatch, tmp_path, capsys):
    run(monkeypatch, tmp_path, "scripts.py", "--runs", "5")
    assert "script in a worker" in capsys.readouterr().out
