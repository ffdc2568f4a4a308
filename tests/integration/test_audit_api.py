"""The audit API over real HTTP: replay, export, public keys, checkpoints; an outside
auditor checks an approval signature with nothing but the exported public key."""

from __future__ import annotations

import base64
import io
import json
import zipfile

from cryptography.hazmat.primitives.serialization import load_pem_public_key

from engine.audit.export import check
from engine.audit.signing import payload
from tests.flow import task_for


def approved(api):
    r = api.post("/receipts", "clerk", json={"sender": "Director, Treasury",
                                              "subject": "वेतन निर्धारण", "language": "hi"})
    assert r.status_code == 201, r.text
    f = api.post("/files", "clerk", json={"subject": "Pay fixation", "head": "11011",
                                          "receipt_id": r.json()["id"]}).json()
    assert api.post(f"/files/{f['id']}/notes", "clerk",
                    json={"text": "नियमानुसार प्रस्ताव।"}).status_code == 201
    r = api.post(f"/tasks/{task_for(api, 'clerk', file_id=f['id'])['id']}", "clerk",
                 json={"action": "submit", "to": "ds"})
    assert r.status_code == 200, r.text
    r = api.post(f"/tasks/{task_for(api, 'ds', file_id=f['id'])['id']}", "ds",
                 json={"action": "approve", "remark": "Approved."})
    assert r.status_code == 200, r.text
    return f, r


def test_replay_over_http(api):
    f, _ = approved(api)
    history = api.get(f"/files/{f['id']}/history", "auditor").json()
    ready = [e["seq"] for e in history if e["kind"] == "task_ready"]
    r = api.get(f"/files/{f['id']}/replay", "auditor", params={"at": ready[0]})
    assert r.status_code == 200, r.text
    early = r.json()
    assert early["holder"]["code"] == "GAD-EST-DA"
    assert early["active_steps"][0] == "noting"
    assert early["notes"] == []
    assert early["locked"] is False
    latest = api.get(f"/files/{f['id']}/replay", "clerk").json()  # an officer who may read it
    assert latest["latest"] is True
    assert latest["locked"] is True
    assert [n["text"] for n in latest["notes"]] == ["नियमानुसार प्रस्ताव।"]
    assert [m["to"]["code"] for m in latest["movements"]] == ["GAD-EST-DS", "GAD-EST-DA"]
    receipt_id = f["correspondence"][0]["id"]
    receipt = api.get(f"/receipts/{receipt_id}/replay", "auditor").json()
    assert receipt["status"] == "filed"
    assert receipt["filed_in"] == f["file_no"]
    assert api.get(f"/files/{f['id']}/replay", "auditor",
                   params={"at": "x"}).status_code == 422
    r = api.get(f"/files/{f['id']}/replay", "auditor", params={"at": 10_000})
    assert r.status_code == 422
    assert "at:" in r.json()["error"]["message"]
    assert api.get(f"/files/{f['id']}/replay").status_code == 401
    assert api.get("/files/999999/replay", "auditor").status_code == 404


def test_export_and_public_key_let_an_outsider_verify(api, tmp_path):
    f, _ = approved(api)
    r = api.get(f"/files/{f['id']}/export", "auditor")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/zip"
    assert f["file_no"].replace("/", "-") in r.headers["Content-Disposition"]
    path = tmp_path / "file.zip"
    path.write_bytes(r.content)
    assert check(path)[1] == []
    with zipfile.ZipFile(io.BytesIO(r.content)) as z:
        sig = json.loads(z.read("signatures.json"))[0]
        file_json = json.loads(z.read("file.json"))
    # the DS's public key, fetched from the server, verifies the signature in the export
    r = api.get("/users/ds/public-key", "auditor")
    assert r.status_code == 200
    assert r.text.startswith("-----BEGIN PUBLIC KEY-----")
    assert r.headers["X-Key-Id"] == sig["key_id"]
    key = load_pem_public_key(r.content)
    message = payload(file_no=f["file_no"], file_id=sig["file_id"],
                      instance_id=sig["instance_id"], signer="ds", key_id=sig["key_id"],
                      action="approve", content_hash_=sig["content_hash"],
                      signed_at=sig["signed_at"])
    key.verify(base64.b64decode(sig["signature"]), message)  # raises if it does not verify
    assert sig["content_hash"] == file_json["content_hash"]
    assert api.get("/users/clerk/public-key", "auditor").status_code == 404  # never signed
    assert api.get("/users/nobody/public-key", "auditor").status_code == 404
    assert api.get("/users/ds/public-key").status_code == 401


def test_checkpoints_over_http(api):
    approved(api)
    r = api.post("/checkpoints", "auditor")
    assert r.status_code == 201, r.text
    assert r.json()["seq"] == 1
    assert r.json()["instances"] >= 2
    assert api.post("/checkpoints", "admin").json()["seq"] == 2
    r = api.post("/checkpoints", "clerk")
    assert r.status_code == 403
    assert "auditor" in r.json()["error"]["message"]
