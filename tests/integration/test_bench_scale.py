"""bench/scale.py runs at a tiny size: it builds its files by copying service-made rows,
serves them, and every endpoint it times answers without an error. It runs on the pass's
database: SQLite (executemany of the copies in Python), PostgreSQL (the copies made by the
server in SQL)."""

from __future__ import annotations

import json


def test_the_scale_benchmark_runs_tiny(tmp_path, settings, capsys):
    # The benchmark in this process, as tests/cli.py runs `sanchika`: a Python of its own
    # cost about 3 s of imports this process has made. The server it measures is still a
    # process of its own. The demo's users get one PBKDF2 round, as the suite's (conftest).
    from bench import scale

    out = tmp_path / "figures.json"
    assert scale.main(["--files", "40", "--requests", "2", "--database-url",
                       settings.database_url, "--quiet", "--json", str(out)]) == 0
    assert "state-scale benchmark, 40 files" in capsys.readouterr().out
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
