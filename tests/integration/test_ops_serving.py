"""Production serving: behind a reverse proxy (client addresses in the log and the sign-in
throttle), HTTPS cookies and HSTS, request ids, access-log lines, raw UTF-8 request lines,
health, readiness and metrics, and the API page."""

from __future__ import annotations

import http.client
import json
import logging
import re
import socket
from urllib.parse import urlsplit

import pytest
import requests

from engine.ops import scheduler
from tests.conftest import PASSWORD
from tests.flow import act, open_file, task_for
from tests.ops_servers import proxy, running


def _post_json(port: int, path: str, body: dict, source: str) -> tuple[int, dict]:
    """POST from a chosen loopback address (127.0.0.2, 127.0.0.3...): distinct clients."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30,
                                      source_address=(source, 0))
    conn.request("POST", path, body=json.dumps(body),
                 headers={"Content-Type": "application/json"})
    reply = conn.getresponse()
    data = json.loads(reply.read() or b"{}")
    conn.close()
    return reply.status, data


def _access_lines(caplog, needle: str) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == "sanchika.access" and needle in r.getMessage()]


def test_behind_a_proxy_the_client_address_is_logged_and_throttled(demo, caplog):
    caplog.set_level(logging.INFO, logger="sanchika.access")
    with running(demo, trusted_proxies=1) as base, proxy(urlsplit(base).port) as port:
        # twenty wrong passwords from one client (different usernames: the address lock)
        for n in range(20):
            status, _ = _post_json(port, "/api/v1/auth/token",
                                   {"username": f"nobody{n}", "password": "wrong"}, "127.0.0.2")
            assert status == 401
        status, body = _post_json(port, "/api/v1/auth/token",
                                  {"username": "clerk", "password": PASSWORD}, "127.0.0.2")
        assert status == 429, body
        # another client behind the same proxy is not locked out
        status, body = _post_json(port, "/api/v1/auth/token",
                                  {"username": "clerk", "password": PASSWORD}, "127.0.0.3")
        assert status == 200, body
    lines = _access_lines(caplog, "/api/v1/auth/token")
    assert sum(line.startswith("127.0.0.2 ") for line in lines) == 21
    assert any(line.startswith("127.0.0.3 ") and '" 200 ' in line for line in lines)
    assert not any(line.startswith("127.0.0.1 ") for line in lines)
    rows = demo.sign_ins(demo.authenticate("admin", PASSWORD))
    assert {r["ip"] for r in rows} == {"127.0.0.2", "127.0.0.3"}


def test_forwarded_headers_are_ignored_unless_proxies_are_trusted(demo, caplog):
    caplog.set_level(logging.INFO, logger="sanchika.access")
    with running(demo) as base:
        r = requests.get(f"{base}/health", headers={"X-Forwarded-For": "203.0.113.9"},
                         timeout=10)
        assert r.status_code == 200
    line = _access_lines(caplog, "GET /health")[-1]
    assert line.startswith("127.0.0.1 ")
    assert "203.0.113.9" not in line


def test_access_log_line_and_request_id(demo, caplog):
    caplog.set_level(logging.INFO, logger="sanchika.access")
    with running(demo) as base:
        token = requests.post(f"{base}/api/v1/auth/token", timeout=10,
                              json={"username": "clerk", "password": PASSWORD}).json()["token"]
        r = requests.get(f"{base}/api/v1/tasks", timeout=10, headers={
            "Authorization": f"Bearer {token}", "X-Request-Id": "trace-42"})
        assert r.status_code == 200
        assert r.headers["X-Request-Id"] == "trace-42"
        fresh = requests.get(f"{base}/health", timeout=10).headers["X-Request-Id"]
        assert re.fullmatch(r"[0-9a-f]{32}", fresh)
        bad = requests.get(f"{base}/health", headers={"X-Request-Id": "x y\u00e9"}, timeout=10)
        assert bad.headers["X-Request-Id"] != "x y\u00e9"
    line = _access_lines(caplog, "rid=trace-42")[0]
    assert re.fullmatch(
        r'127\.0\.0\.1 - clerk \[[^\]]+\] "GET /api/v1/tasks HTTP/1\.1" 200 \d+ "-" "[^"]*" '
        r'\d+\.\dms rid=trace-42', line), line


def test_https_marks_cookies_secure_and_sends_hsts(demo):
    with running(demo, https=True, trusted_proxies=1) as base:
        r = requests.get(f"{base}/login", timeout=10,
                         headers={"X-Forwarded-Proto": "https"})
        assert r.headers["Strict-Transport-Security"].startswith("max-age=")
        cookie = r.headers.get("Set-Cookie", "")
        assert "Secure" in cookie
        assert "HttpOnly" in cookie
        assert "SameSite=Lax" in cookie
    with running(demo) as base:
        r = requests.get(f"{base}/login", timeout=10)
        assert "Strict-Transport-Security" not in r.headers
        assert "Secure" not in r.headers.get("Set-Cookie", "")


def test_raw_utf8_query_string_is_accepted(demo):
    """curl sends a Hindi query as raw UTF-8 bytes; waitress alone answers 400 Bad URI."""
    with running(demo) as base:
        token = requests.post(f"{base}/api/v1/auth/token", timeout=10,
                              json={"username": "clerk", "password": PASSWORD}).json()["token"]
        port = urlsplit(base).port
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall("GET /api/v1/search?q=वार्षिक HTTP/1.1\r\nHost: x\r\n".encode()
                         + f"Authorization: Bearer {token}\r\nConnection: close\r\n\r\n"
                         .encode())
            reply = b""
            while chunk := sock.recv(65536):
                reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), reply[:300]
    hits = json.loads(body)
    assert any("वार्षिक" in hit["subject"] for hit in hits)


def test_health_ready_version_and_metrics(demo):
    from engine import __version__

    with running(demo) as base:
        assert requests.get(f"{base}/health", timeout=10).json() == {
            "status": "ok", "version": __version__}
        assert requests.get(f"{base}/api/v1/health", timeout=10).json()["version"] \
            == __version__
        r = requests.get(f"{base}/ready", timeout=10)  # no server holds the lease yet
        assert r.status_code == 503
        checks = {c["name"]: c for c in r.json()["checks"]}
        assert checks["database"]["ok"]
        assert checks["migrations"]["ok"]
        assert not checks["scheduler"]["ok"]
        assert "fix" in checks["scheduler"]
        jobs = scheduler.start(demo)
        try:
            r = requests.get(f"{base}/ready", timeout=10)
            assert r.status_code == 200
            assert r.json()["status"] == "ready"
        finally:
            jobs.shutdown(wait=True)

        token = requests.post(f"{base}/api/v1/auth/token", timeout=10,
                              json={"username": "clerk", "password": PASSWORD}).json()["token"]
        auth = {"Authorization": f"Bearer {token}"}
        fid = requests.post(f"{base}/api/v1/files", json={"subject": "Metrics", "head": "11013"},
                            headers=auth, timeout=10).json()["id"]
        tasks = requests.get(f"{base}/api/v1/tasks", headers=auth, timeout=10).json()
        task = next(t for t in tasks if t.get("file_id") == fid)
        r = requests.post(f"{base}/api/v1/tasks/{task['id']}", headers=auth, timeout=10,
                          json={"action": "forward", "to": "so"})
        assert r.status_code == 200, r.text
        text = requests.get(f"{base}/metrics", timeout=10).text
    assert 'sanchika_actions_total{kind="forward",outcome="ok"} 1.0' in text
    assert 'sanchika_actions_total{kind="open_file",outcome="ok"} 1.0' in text
    assert 'sanchika_action_seconds_count{kind="forward"} 1.0' in text
    assert 'sanchika_action_seconds_bucket{kind="forward",le="10.0"} 1.0' in text
    for name in ("sanchika_open_tasks", "sanchika_overdue_items", "sanchika_outbox_backlog",
                 "sanchika_outbox_failed", "sanchika_timer_lag_seconds"):
        assert re.search(rf"^{name} \d+(\.\d+)?", text, re.M), name
    assert float(re.search(r"^sanchika_open_tasks (\S+)", text, re.M).group(1)) >= 1


def test_metrics_token(demo):
    with running(demo, metrics_token="s3cret") as base:
        assert requests.get(f"{base}/metrics", timeout=10).status_code == 401
        r = requests.get(f"{base}/metrics", headers={"Authorization": "Bearer s3cret"},
                         timeout=10)
        assert r.status_code == 200
        assert "sanchika_open_tasks" in r.text


def test_version_in_the_footer_and_the_api_page(demo):
    from engine import __version__

    with running(demo) as base:
        page = requests.get(f"{base}/login", timeout=10).text
        assert f"Sanchika {__version__}" in page
        docs = requests.get(f"{base}/api/docs", timeout=10)
        assert docs.status_code == 200
        for asset in re.findall(r'(?:src|href)="(/[^"]+)"', docs.text):
            assert requests.get(f"{base}{asset}", timeout=10).status_code == 200, asset
        assert "//" not in "".join(re.findall(r'(?:src|href)="([^"]+)"', docs.text)
                                   ).replace("data:,", "")


@pytest.mark.parametrize("category", [None, ""])
def test_close_needs_a_record_category(api, category):
    file = open_file(api, "clerk", subject="Closing without a category")
    act(api, "clerk", task_for(api, "clerk", file_id=file["id"])["id"], action="forward",
        to="ds")
    act(api, "ds", task_for(api, "ds", file_id=file["id"])["id"], action="approve")
    task = task_for(api, "clerk", file_id=file["id"])
    body = {"action": "close"} | ({} if category is None else {"record_category": category})
    r = api.post(f"/tasks/{task['id']}", "clerk", json=body)
    assert r.status_code == 422
    assert "record_category" in r.json()["error"]["message"]
    assert api.get(f"/files/{file['id']}", "clerk").json()["status"] != "closed"
    act(api, "clerk", task["id"], action="close", record_category="C")
    assert api.get(f"/files/{file['id']}", "clerk").json()["record_category"] == "C"


def test_inbox_rows_carry_number_and_subject(api):
    file = open_file(api, "clerk", subject="Row labels")
    row = task_for(api, "clerk", file_id=file["id"])
    assert row["number"] == file["file_no"]
    assert row["subject"] == "Row labels"
    receipt = api.post("/receipts", "clerk", json={"sender": "A", "subject": "Dak label"}).json()
    row = task_for(api, "clerk", receipt_id=receipt["id"])
    assert row["number"] == receipt["diary_no"]
    assert row["subject"] == "Dak label"


def test_exact_number_ranks_first_in_search(api):
    first = open_file(api, "clerk", subject="Leave of staff")
    second = open_file(api, "clerk", subject=f"Reference to {first['file_no']} and more")
    for target in (first, second):
        hits = api.get("/search", "clerk", params={"q": target["file_no"]}).json()
        assert hits[0]["number"] == target["file_no"], hits
