"""A designer's runaway diagrams against a real `sanchika serve` process: while a script
task spins in `dak_receipt` and another behind a timer start event, `GET /api/v1/me`
answers in under a second, another user's write succeeds, the server stays under 400 MB,
the receipt shows why its process stopped — and after a restart the same holds."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import requests
from sqlalchemy import func, select

from engine.store.models import HistoryEvent, Instance
from tests import runaway
from tests.e2e.test_timer_processes import Server

LIMITS = {"SANCHIKA_SCRIPT_CPU_SECONDS": "1", "SANCHIKA_SCRIPT_MEMORY_MB": "200"}
MAX_RSS_MB = 400


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


class Watch:
    """Samples GET /api/v1/me and the server's memory until stopped."""

    def __init__(self, server: Server, token: str):
        self.server, self.token = server, token
        self.latencies: list[float] = []
        self.rss: list[float] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.is_set():
            started = time.monotonic()
            r = requests.get(f"{self.server.base}/api/v1/me", timeout=10,
                             headers={"Authorization": f"Bearer {self.token}"})
            self.latencies.append(time.monotonic() - started)
            assert r.status_code == 200, r.text
            self.rss.append(_rss_mb(self.server.pid))
            self.stop.wait(0.05)

    def __enter__(self) -> Watch:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.thread.join(timeout=15)


def _post(server: Server, token: str, path: str, **kwargs) -> requests.Response:
    return requests.post(f"{server.base}/api/v1{path}", timeout=60,
                         headers={"Authorization": f"Bearer {token}"}, **kwargs)


def _failures(app) -> int:
    with app.db.reader() as s:
        return s.scalar(select(func.count()).where(HistoryEvent.kind == "process_failed"))


def test_runaway_scripts_leave_the_server_responsive_and_stay_failed(demo, tmp_path):
    server = Server(demo.settings, tmp_path / "server.log", "PT1H", LIMITS)
    try:
        designer, clerk, so = (server.token(u) for u in ("designer", "clerk", "so"))
        for xml in (runaway.dak_with_script(runaway.RUNTIME["loop"]),
                    runaway.scheduled(runaway.RUNTIME["power"])):
            deployed = requests.post(
                f"{server.base}/api/v1/process-definitions", data=xml, timeout=30,
                headers={"Authorization": f"Bearer {designer}",
                         "Content-Type": "application/xml"})
            assert deployed.status_code == 201, deployed.text
        with Watch(server, so) as watch:
            result: dict[str, requests.Response] = {}
            diarising = threading.Thread(target=lambda: result.update(receipt=_post(
                server, clerk, "/receipts",
                json={"sender": "Collectorate", "subject": "Runaway", "mode": "post"})))
            diarising.start()
            time.sleep(0.3)
            written = _post(server, so, "/files", json={"subject": "Meanwhile", "head": "11011"})
            assert written.status_code == 201, written.text
            diarising.join(timeout=60)
            # the timer start event (due a second after deployment) runs its script too
            deadline = time.monotonic() + 30
            while _failures(demo) < 2 and time.monotonic() < deadline:
                time.sleep(0.2)
        assert _failures(demo) == 2
        assert result["receipt"].status_code == 201, result["receipt"].text
        receipt = result["receipt"].json()
        assert max(watch.latencies) < 1.0, sorted(watch.latencies)[-5:]
        assert max(watch.rss) < MAX_RSS_MB, max(watch.rss)
        view = requests.get(f"{server.base}/api/v1/receipts/{receipt['id']}", timeout=10,
                            headers={"Authorization": f"Bearer {clerk}"}).json()
        assert "'Runaway check' (runaway" in view["process_error"]
        assert "than allowed (1 s" in view["process_error"]

        # After a restart: nothing runs the failed scripts again, the server answers.
        server.stop()
        server = Server(demo.settings, tmp_path / "server2.log", "PT1H", LIMITS)
        so = server.token("so")
        with Watch(server, so) as watch:
            time.sleep(1.5)  # several scheduler sweeps
            written = _post(server, so, "/files", json={"subject": "After", "head": "11011"})
            assert written.status_code == 201, written.text
        assert max(watch.latencies) < 1.0
        assert max(watch.rss) < MAX_RSS_MB
        assert _failures(demo) == 2
        with demo.db.reader() as s:
            statuses = set(s.scalars(select(Instance.status).where(
                Instance.process_id == "runaway_schedule")))
        assert statuses == {"failed"}
    finally:
        server.stop()
