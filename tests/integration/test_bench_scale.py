"""bench/scale.py runs at a tiny size: it builds its files by copying service-made rows,
serves them, and every endpoint it times answers without an error. It runs on the pass's
database: SQLite (executemany of the copies in Python), PostgreSQL (the copies made by the
server in SQL)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_scale_benchmark_runs_tiny(tmp_path, settings):
    out = tmp_path / "figures.json"
    run = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "scale.py"), "--files", "40", "--requests", "2",
         "--database-url", settings.database_url, "--quiet", "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
        # one PBKDF2 round for the demo's users and sign-ins, as the suite's own (conftest)
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "SANCHIKA_TEST_CHEAP_HASH": "1"})
    assert run.returncode == 0, run.stderr[-3000:]
    figures = json.loads(out.read_text())
    assert figures["database"] == ("SQLite" if settings.database_url.startswith("sqlite")
                                   else "PostgreSQL")
    assert (figures["files"], figures["closed"], figures["open"]) == (40, 28, 12)
    endpoints = figures["endpoints"]
    assert {"inbox, heaviest post (first page)", "open file (auditor)", "track", "history",
            "files by holder (heaviest post)", "pendency report (admin)",
            "dashboard (officer)", "one forward"} <= endpoints.keys()
    for name, f in endpoints.items():
        assert f["n"] >= 2, (name, f)
        assert f["errors"] == 0, (name, f)
        assert f["cpu_ms"] >= 0, (name, f)  # the server's CPU time per request (10 ms ticks)
    # the copies are real rows: the heaviest post's inbox and the auditor's search see them
    assert endpoints["inbox, heaviest post (first page)"]["bytes"] > 100
    assert endpoints["search common English 'pay' as auditor"]["bytes"] > 100
    assert figures["server_rss_kib"]["VmRSS"] > 0
    assert figures["bytes_per_file"]["closed"] > figures["bytes_per_file"]["open"] > 0
