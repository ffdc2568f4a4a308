"""The auditor's room in the browser pages (Flask test client): the history in plain words
in English and Hindi, paged, with the chain hashes folded away; replay at an event on the
diagram of the version that ran, for every process a reopened file went through;
verification of one file and of the installation, before and after tampering; the export
from the file page."""

from __future__ import annotations

import html
import io
import json
import re
import zipfile

import pytest
from sqlalchemy import select

from engine.store.models import HistoryEvent, Instance
from tests.conftest import PASSWORD
from tests.flow import inbox_task
from tests.tamper import tamper


@pytest.fixture
def web(settings, demo):
    from web.app import create_app

    return create_app(settings, demo)


def client_for(web, username: str, lang: str = "en"):
    client = web.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"',
                      client.get("/login").get_data(as_text=True)).group(1)
    r = client.post("/login", data={"username": username, "password": PASSWORD,
                                    "csrf_token": token})
    assert r.status_code == 302, r.get_data(as_text=True)
    with client.session_transaction() as sess:
        sess["lang"] = lang
    return client


def text_of(r) -> str:
    assert r.status_code == 200, r.get_data(as_text=True)[:2000]
    return html.unescape(r.get_data(as_text=True))


def closed_file(service, users, subject="Audit room"):
    clerk, ds = users["clerk"], users["ds"]
    f = service.open_file(clerk, subject, "11011")
    service.add_note(clerk, f["id"], "Proposal as per rules.")
    service.act(clerk, inbox_task(service, clerk, file_id=f["id"])["id"],
                {"action": "submit", "to": "ds", "remark": "Please approve."})
    service.act(ds, inbox_task(service, ds, file_id=f["id"])["id"],
                {"action": "approve", "remark": "Approved as proposed."})
    service.act(clerk, inbox_task(service, clerk, file_id=f["id"])["id"],
                {"action": "close", "record_category": "B"})
    return service.file(users["auditor"], f["id"])


def approval_event(service, file_id: int) -> tuple[int, int]:
    with service.db.reader() as s:
        for e in s.scalars(select(HistoryEvent).join(
                Instance, Instance.id == HistoryEvent.instance_id).where(
                Instance.subject_kind == "file", Instance.subject_id == file_id,
                HistoryEvent.kind == "task_completed").order_by(HistoryEvent.id)):
            if e.data.get("action") == "approve":
                return e.instance_id, e.seq
    raise AssertionError("no approval event")


def test_history_reads_as_sentences_in_english_and_hindi(web, demo, users):
    f = closed_file(demo, users)
    page = text_of(client_for(web, "auditor").get(f"/files/{f['id']}/history"))
    ds_name = users["ds"].full_name
    assert f"{ds_name} as Deputy Secretary" in page
    assert f"approved {f['file_no']}." in page
    assert f"submitted {f['file_no']} for approval to Deputy Secretary" in page
    assert "Approved as proposed." in page  # the remark
    assert f"closed {f['file_no']}." in page
    visible = re.sub(r"<[^>]+>", " ", re.sub(r"<details.*?</details>", "", page, flags=re.S))
    assert "task_completed" not in visible
    assert "task completed" not in visible
    assert re.search(r"<details class=\"hash\">.*?[0-9a-f]{64}", page, flags=re.S)
    assert "Replay at this event" in page
    hindi = text_of(client_for(web, "auditor", "hi").get(f"/files/{f['id']}/history"))
    assert f"{f['file_no']} को अनुमोदित किया" in hindi
    assert "उप सचिव" in hindi or "Deputy Secretary" in hindi  # post titles are as stored
    assert "इस घटना पर पुनः चलाएँ" in hindi
    # someone the file never passed through sees nothing of it
    assert client_for(web, "so").get(f"/files/{f['id']}/history").status_code == 403


def test_long_history_is_paged(web, demo, users):
    clerk = users["clerk"]
    f = demo.open_file(clerk, "Many notes", "11011")
    for n in range(60):
        demo.add_note(clerk, f["id"], f"Note {n}")
    client = client_for(web, "clerk")
    first = text_of(client.get(f"/files/{f['id']}/history"))
    assert "page 1 of 2" in first
    assert first.count('class="event-') == 50
    second = text_of(client.get(f"/files/{f['id']}/history?page=2"))
    assert "page 2 of 2" in second
    assert "Note 59" in second
    assert "Note 59" not in first


def test_replay_at_the_approval_event_draws_the_version_that_ran(web, demo, users):
    f = closed_file(demo, users)
    instance_id, seq = approval_event(demo, f["id"])
    client = client_for(web, "auditor")
    page = text_of(client.get(f"/files/{f['id']}/replay?instance={instance_id}&at={seq}"))
    data = json.loads(re.search(r'<script type="application/json" id="replay-data">(.*?)'
                                r"</script>", page, flags=re.S).group(1))
    assert data["event"] == ["approval"]
    assert "approval" in data["done"]
    assert 'id="approval"' in data["xml"]
    assert f"approved {f['file_no']}" in page
    assert "Process data" in page
    assert '<script src="/static/replay.js' in page or "replay.js" in page
    early = text_of(client.get(f"/files/{f['id']}/replay?instance={instance_id}&at=2"))
    data = json.loads(re.search(r'id="replay-data">(.*?)</script>', early, flags=re.S)[1])
    assert data["active"] == ["noting"]
    hindi = text_of(client_for(web, "auditor", "hi").get(
        f"/files/{f['id']}/replay?instance={instance_id}&at={seq}"))
    assert "उस क्षण" in hindi
    # a mistyped number goes back to the last event, with a message (nothing else shown)
    for bad in ("at=x", "at=10000", "instance=999999"):
        r = client.get(f"/files/{f['id']}/replay?{bad}")
        assert r.status_code == 302, bad
        assert r.headers["Location"].endswith(f"/files/{f['id']}/replay")


def test_replay_covers_every_process_of_a_reopened_file(web, demo, users):
    clerk, ds = users["clerk"], users["ds"]
    f = closed_file(demo, users, "Reopened in the room")
    demo.request_reopen(clerk, f["id"], "Court order received")
    demo.act(ds, inbox_task(demo, ds, file_id=f["id"])["id"], {"action": "approve"})
    with demo.db.reader() as s:
        instances = list(s.execute(select(Instance.id, Instance.process_id).where(
            Instance.subject_kind == "file", Instance.subject_id == f["id"])
            .order_by(Instance.id)))
    assert len(instances) >= 2
    client = client_for(web, "auditor")
    history = text_of(client.get(f"/files/{f['id']}/history"))
    for instance_id, process_id in instances:
        assert process_id in history
        page = text_of(client.get(f"/files/{f['id']}/replay?instance={instance_id}"))
        data = json.loads(re.search(r'id="replay-data">(.*?)</script>', page, flags=re.S)[1])
        assert f'id="{process_id}"' in data["xml"]


def test_verification_of_a_file_and_of_the_installation(web, demo, users):
    f = closed_file(demo, users)
    auditor = client_for(web, "auditor")
    page = text_of(auditor.get(f"/files/{f['id']}/verify"))
    assert 'data-intact="yes"' in page
    assert "Intact" in page
    assert 'data-intact="yes"' in text_of(auditor.get("/audit/verify?run=1&reexecute=1"))
    assert 'data-intact' not in text_of(auditor.get("/audit/verify"))  # the form alone
    hindi = text_of(client_for(web, "auditor", "hi").get(f"/files/{f['id']}/verify"))
    assert "अक्षुण्ण" in hindi
    # an officer who may read the file verifies it; the installation is not theirs
    clerk = client_for(web, "clerk")
    assert 'data-intact="yes"' in text_of(clerk.get(f"/files/{f['id']}/verify"))
    assert clerk.get("/audit/verify?run=1").status_code == 403
    assert clerk.get("/audit/verify").status_code == 403

    tamper(demo, "UPDATE notes SET text = 'Rejected.' WHERE file_id = :f", ("notes",),
           f=f["id"])
    page = text_of(auditor.get(f"/files/{f['id']}/verify"))
    assert 'data-intact="no"' in page
    assert f"file {f['file_no']}" in page
    assert "differ from what" in page
    whole = text_of(auditor.get("/audit/verify?run=1"))
    assert 'data-intact="no"' in whole
    assert f["file_no"] in whole


def test_export_downloads_from_the_file_page(web, demo, users):
    f = closed_file(demo, users)
    client = client_for(web, "clerk")
    page = text_of(client.get(f"/files/{f['id']}"))
    assert f"/files/{f['id']}/export" in page
    r = client.get(f"/files/{f['id']}/export")
    assert r.status_code == 200
    assert r.headers["Content-Disposition"].endswith('.zip"')
    assert "manifest.json" in zipfile.ZipFile(io.BytesIO(r.data)).namelist()
    assert client_for(web, "so").get(f"/files/{f['id']}/export").status_code == 403


def test_verifying_one_file_names_its_altered_event_and_leaves_others_out(web, demo, users):
    f = closed_file(demo, users)
    other = closed_file(demo, users, "Another file")
    instance_id, seq = approval_event(demo, f["id"])
    tamper(demo, "UPDATE history_events SET actor = 'so' WHERE instance_id = :i AND seq = :s",
           i=instance_id, s=seq)
    auditor = client_for(web, "auditor")
    page = text_of(auditor.get(f"/files/{f['id']}/verify"))
    assert 'data-intact="no"' in page
    assert f"event #{seq} (task_completed) was altered" in page
    assert 'data-intact="yes"' in text_of(auditor.get(f"/files/{other['id']}/verify"))
    # the history page still shows the chain as stored: the altered actor is what it says
    history = text_of(auditor.get(f"/files/{f['id']}/history"))
    assert f"approved {f['file_no']}" in history


def test_the_api_replays_any_process_of_the_file(api, demo, users):
    clerk, ds = users["clerk"], users["ds"]
    f = closed_file(demo, users, "Reopened over the API")
    demo.request_reopen(clerk, f["id"], "Court order received")
    demo.act(ds, inbox_task(demo, ds, file_id=f["id"])["id"], {"action": "approve"})
    with demo.db.reader() as s:
        first, *later = s.scalars(select(Instance.id).where(
            Instance.subject_kind == "file", Instance.subject_id == f["id"])
            .order_by(Instance.id))
    r = api.get(f"/files/{f['id']}/replay", "auditor", params={"instance": first, "at": 9})
    assert r.status_code == 200, r.text
    assert r.json()["instance_id"] == first
    assert r.json()["at"]["step"] == "approval"
    assert r.json()["data"]["action"] == "approve"
    assert api.get(f"/files/{f['id']}/replay", "auditor",
                   params={"instance": later[0]}).json()["instance_id"] == later[0]
    other = closed_file(demo, users, "Someone else's")
    r = api.get(f"/files/{other['id']}/replay", "auditor", params={"instance": first})
    assert r.status_code == 404
    assert "went through no process instance" in r.json()["error"]["message"]
