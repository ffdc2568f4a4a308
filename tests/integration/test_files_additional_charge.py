"""An officer holding another post as an additional charge works on that post's files:
yellow notes, drafts, parking, opening and pulling back."""

from __future__ import annotations

from datetime import timedelta

from engine.domain import org
from tests.flow import act_on_file, error, open_file


def test_additional_charge_works_on_files_of_that_post(api):
    fid = open_file(api, subject="With the US")["id"]
    act_on_file(api, "clerk", fid, action="forward", to="us")
    error(api.post(f"/files/{fid}/yellow-notes", "so", json={"text": "not yet"}), 403)
    until = str(org.office_today() + timedelta(days=2))
    r = api.post("/admin/users/so/additional-charge", "admin",
                 json={"post": "GAD-EST-US", "until": until})
    assert r.status_code == 201, r.text
    # the SO opens the US's file: that counts as the recipient post opening it
    assert api.get(f"/files/{fid}", "so").status_code == 200
    assert api.get("/sent", "clerk").json()[0]["can_pull_back"] is False
    error(api.post(f"/files/{fid}/pullback", "clerk"), 409)
    y = api.post(f"/files/{fid}/yellow-notes", "so", json={"text": "for the US"})
    assert y.status_code == 201, y.text
    assert api.post(f"/yellow-notes/{y.json()['id']}/confirm", "so").json()["para_no"] == 1
    assert api.post(f"/files/{fid}/drafts", "so",
                    json={"subject": "Reply", "text": "Draft"}).status_code == 201
    assert api.post(f"/files/{fid}/park", "so").status_code == 200
    assert api.post(f"/files/{fid}/unpark", "so").status_code == 200
    # and sends it on as the US: the US post's sent items, pulled back by the SO
    act_on_file(api, "so", fid, action="forward", to="ds")
    sent = api.get("/sent", "so").json()
    assert sent[0]["id"] == fid
    assert sent[0]["can_pull_back"] is True
    assert api.post(f"/files/{fid}/pullback", "so").status_code == 200
    view = api.get(f"/files/{fid}", "us").json()
    assert view["holder"]["code"] == "GAD-EST-US"
