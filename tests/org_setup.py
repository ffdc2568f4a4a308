"""Helpers for tests of offices and monitoring: a Revenue department with the Bhopal
division and the Sehore district, set up through the administration API."""

from __future__ import annotations

import re

from tests.conftest import PASSWORD
from tests.flow import act, open_file, task_for


def setup_division(api) -> None:
    """REV: secretariat, Bhopal division, Sehore district; a Sehore dealing hand (sehda)
    and the division commissioner's monitoring post (commr); subject head 21."""
    def post(path, **body):
        r = api.post(path, "admin", json=body)
        assert r.status_code == 201, r.text
        return r.json()

    post("/admin/departments", code="REV", name="Revenue")
    post("/admin/offices", code="REV-DIV-BPL", name="Bhopal Division", kind="division",
         department="REV", parent="REV-SECTT")
    post("/admin/offices", code="REV-DIST-SEH", name="Collectorate Sehore", kind="district",
         department="REV", parent="REV-DIV-BPL")
    post("/admin/sections", department="REV", code="SEH-EST", name="Establishment, Sehore",
         office="REV-DIST-SEH")
    post("/admin/sections", department="REV", code="DIV-COM", name="Commissioner's office",
         office="REV-DIV-BPL")
    post("/admin/posts", code="SEH-DA", title="Dealing Assistant, Sehore", department="REV",
         section="SEH-EST", rank=1)
    post("/admin/posts", code="BPL-COMM", title="Commissioner, Bhopal Division",
         department="REV", section="DIV-COM", rank=6, monitors="office")
    post("/admin/users", username="sehda", full_name="Asha Rai", password=PASSWORD,
         post="SEH-DA", email="sehda@rev.example.gov.in")
    post("/admin/users", username="commr", full_name="Vivek Jain", password=PASSWORD,
         post="BPL-COMM", email="commr@rev.example.gov.in")
    r = api.post("/admin/subject-heads", "admin", json={"department": "REV", "code": "21",
                                                        "title": "Land records"})
    assert r.status_code in (200, 201), r.text


def district_file_round_trip(api) -> dict:
    """A Sehore file sent to the secretariat's Under Secretary (GAD) and returned."""
    file = open_file(api, "sehda", subject="Mutation dispute, village Ichhawar", head="21")
    act(api, "sehda", task_for(api, "sehda", file_id=file["id"])["id"], action="forward",
        to="us", note="Guidance sought from the secretariat.")
    act(api, "us", task_for(api, "us", file_id=file["id"])["id"], action="return",
        note="Decide under the revenue code, para 12.")
    return file


def page_client(flask_app, username: str):
    """A Flask test client signed in to the pages as `username`."""
    client = flask_app.test_client()
    token = re.search(r'name="csrf-token" content="([^"]+)"',
                      client.get("/login").get_data(as_text=True))[1]
    r = client.post("/login", data={"username": username, "password": PASSWORD,
                                    "csrf_token": token})
    assert r.status_code == 302, r.get_data(as_text=True)[:500]
    return client
