"""Monitoring: the division's monitoring post sees a district file sent to the
secretariat and returned, drills down from the division to the item, finds where it is,
and gets time at desk and adoption as page, CSV and PDF; the weekly review reaches each
Secretary and monitoring post by e-mail with its PDF (a real SMTP server on loopback)."""

from __future__ import annotations

import dataclasses
import io

import pytest
from pypdf import PdfReader

from engine.notify.delivery import Deliverer
from tests.integration.test_delivery import smtp_server  # noqa: F401 (fixture)
from tests.org_setup import district_file_round_trip, page_client, setup_division
from web.app import create_app


@pytest.fixture
def state(api, demo):
    setup_division(api)
    file = district_file_round_trip(api)
    return file


def _user(app, username):
    from engine.domain import org
    with app.db.reader() as s:
        return org.user_by_username(s, username)


def test_division_monitor_drills_down_to_the_item(demo, state):
    commr = _user(demo, "commr")
    top = demo.monitor_pendency(commr)
    assert [r["key"] for r in top["rows"]] == ["REV-DIV-BPL"]
    assert top["rows"][0]["held"] == 1
    assert top["total"]["held"] == 1
    division = demo.monitor_pendency(commr, office="REV-DIV-BPL")
    district = next(r for r in division["rows"] if r["key"] == "REV-DIST-SEH")
    assert district["held"] == 1
    assert district["oldest_days"] is not None
    sections = demo.monitor_pendency(commr, office="REV-DIST-SEH")
    section = sections["rows"][0]
    assert section["level"] == "section"
    assert sections["crumbs"][-1]["key"] == "REV-DIV-BPL"
    posts = demo.monitor_pendency(commr, section=section["key"])
    assert [(r["code"], r["held"], r["officer"]) for r in posts["rows"]] == \
        [("SEH-DA", 1, "sehda")]
    items = demo.monitor_items(commr, post=posts["rows"][0]["key"])
    assert [i["number"] for i in items["items"]] == [state["file_no"]]
    assert items["items"][0]["from"]["code"] == "GAD-EST-US"
    where = demo.monitor_where(commr, state["file_no"])
    assert where["with"][0]["post"]["code"] == "SEH-DA"
    assert [st["post"]["code"] for st in where["journey"]] == ["SEH-DA", "GAD-EST-US",
                                                              "SEH-DA"]
    # GAD's own monitoring post does not monitor the division
    collector = _user(demo, "collector")
    assert all(r["key"] != "REV-DIV-BPL" for r in demo.monitor_pendency(collector)["rows"])


def test_time_at_desk_and_adoption(demo, state):
    commr = _user(demo, "commr")
    desk = demo.time_at_desk(commr)
    stays = [(r["post"], r["action"]) for r in desk["stays"] if r["number"] == state["file_no"]]
    assert ("SEH-DA", "forward") in stays
    assert ("SEH-DA", None) in stays
    admin = _user(demo, "admin")
    desk_all = demo.time_at_desk(admin)
    assert ("GAD-EST-US", "return") in [(r["post"], r["action"]) for r in desk_all["stays"]
                                        if r["number"] == state["file_no"]]
    adoption = demo.adoption(commr)
    units = {u["code"]: u for u in adoption["units"]}
    assert units["REV"]["files"] == 1
    assert units["REV-DIST-SEH"]["files_electronic"] == 1
    assert sum(m["forwarded"] for m in adoption["monthly"]) == 1  # the district's forward


def test_pages_csv_and_pdf_in_hindi(demo, state):
    client = page_client(create_app(demo.settings, demo), "commr")
    page = client.get("/monitor?office=REV-DIST-SEH").get_data(as_text=True)
    assert "Establishment, Sehore" in page
    assert "/monitor/items?section=" in page
    r = client.get("/monitor/desk-time?format=csv")
    assert r.status_code == 200
    assert r.mimetype == "text/csv"
    assert state["file_no"] in r.get_data(as_text=True)
    client.post("/language", data={"lang": "hi", "csrf_token": _token(client)})
    r = client.get("/monitor/desk-time?format=pdf")
    assert r.status_code == 200
    assert r.mimetype == "application/pdf"
    text = PdfReader(io.BytesIO(r.data)).pages[0].extract_text()
    assert "SEH-DA" in text
    assert "पद" in text
    where = client.get(f"/monitor/where?number={state['file_no']}").get_data(as_text=True)
    assert 'id="stuck-with"' in where
    assert client.get("/monitor/where?number=NOPE").status_code == 404
    # an officer outside the division cannot drill into it
    clerk = page_client(create_app(demo.settings, demo), "clerk")
    assert clerk.get("/monitor/items?office=REV-DIST-SEH").status_code == 403


def _token(client) -> str:
    import re
    return re.search(r'name="csrf-token" content="([^"]+)"',
                     client.get("/monitor").get_data(as_text=True))[1]


def test_weekly_review_mails_a_pdf_per_secretary(demo, state, smtp_server):  # noqa: F811
    settings = dataclasses.replace(demo.settings, smtp_url=smtp_server.url)
    deliverer = Deliverer(demo.db, settings)
    deliverer.deliver_due(limit=1000)  # the earlier notices, out of the way
    smtp_server.clear()
    out = demo.send_weekly_review(_user(demo, "admin"))
    assert out["reviews"] == 3  # GAD's Secretary, GAD's monitor, the division's monitor
    deliverer.deliver_due(limit=100)
    got = {m["rcpt_tos"][0]: m["message"] for m in smtp_server.received}
    assert set(got) == {"secretary@gad.example.gov.in", "collector@gad.example.gov.in",
                        "commr@rev.example.gov.in"}
    for message in got.values():
        (pdf,) = [p for p in message.iter_attachments()
                  if p.get_content_type() == "application/pdf"]
        assert PdfReader(io.BytesIO(pdf.get_content())).pages
    commr_pdf = next(iter(got["commr@rev.example.gov.in"].iter_attachments()))
    text = "".join(page.extract_text() for page in
                   PdfReader(io.BytesIO(commr_pdf.get_content())).pages)
    assert "Sehore" in text
    assert "Mutation dispute" in text
    # the same week again: PDFs remade, no second e-mail
    smtp_server.clear()
    demo.send_weekly_review()
    deliverer.deliver_due(limit=100)
    assert smtp_server.received == []
    rows = demo.weekly_reviews(_user(demo, "commr"))
    assert [r["post"]["code"] for r in rows] == ["BPL-COMM"]
    data, name = demo.weekly_review_pdf(_user(demo, "commr"), rows[0]["id"])
    assert data.startswith(b"%PDF")
    assert name.endswith("BPL-COMM.pdf")
    with pytest.raises(Exception, match="admin role"):
        demo.send_weekly_review(_user(demo, "clerk"))
