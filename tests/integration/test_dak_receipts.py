"""Receipts in depth: electronic or physical, acknowledgement numbers, a new receipt from
an old one's metadata, copies with a forward, where the paper is, and the rules of
putting up in a file and closing."""

from __future__ import annotations

import re

from tests.flow import act, diarise, error, inbox, open_file, task_for
from tests.pdfs import make_pdf

LETTER = {"sender": "Collector, Jaipur", "subject": "Scanned letter", "mode": "post",
          "category": "Service matter", "letter_ref": "C/7/2026", "grading": "Normal"}


def test_electronic_needs_its_scan_physical_is_tracked(api):
    before = inbox(api, "clerk")
    r = api.post("/receipts", "clerk", json={**LETTER, "form": "electronic"})
    assert error(r, 422) == "pdf: an electronic receipt needs its scanned letter"
    assert inbox(api, "clerk") == before  # nothing diarised

    physical = diarise(api, form="physical", paper_location="Dak register, R&I section")
    assert physical["form"] == "physical"
    assert physical["pdf"] is None
    assert physical["paper_location"] == "Dak register, R&I section"

    r = api.post("/receipts", "clerk", data={**LETTER, "form": "physical"},
                 files={"pdf": ("a.pdf", make_pdf(), "application/pdf")})
    assert "physical receipt is tracked" in error(r, 422)

    r = api.post("/receipts", "clerk", data={**LETTER, "form": "electronic"},
                 files={"pdf": ("a.pdf", make_pdf("scan"), "application/pdf")})
    assert r.status_code == 201, r.text
    assert r.json()["form"] == "electronic"
    assert r.json()["paper_location"] is None
    r = api.post("/receipts", "clerk", json={**LETTER, "form": "carrier pigeon"})
    assert "form" in error(r, 422)


def test_acknowledgement_number_for_the_sender(api):
    first, second = diarise(api), diarise(api)
    pattern = re.compile(r"^ACK/(\d{4})/GAD/(\d+)$")
    a, b = pattern.match(first["ack_no"]), pattern.match(second["ack_no"])
    assert a, (first["ack_no"], second["ack_no"])
    assert b, (first["ack_no"], second["ack_no"])
    assert int(b.group(2)) == int(a.group(2)) + 1
    assert api.get(f"/receipts/{first['id']}", "clerk").json()["ack_no"] == first["ack_no"]


def test_new_receipt_from_an_existing_ones_metadata(api):
    pdf = make_pdf("first letter of the batch")
    r = api.post("/receipts", "clerk", data={**LETTER, "letter_date": "2026-11-02"},
                 files={"pdf": ("a.pdf", pdf, "application/pdf")})
    source = r.json()
    r = api.post(f"/receipts/{source['id']}/copy", "clerk",
                 json={"subject": "Second letter of the batch"})
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["id"] != source["id"]
    assert made["diary_no"] != source["diary_no"]
    assert made["from_receipt_id"] == source["id"]
    assert made["subject"] == "Second letter of the batch"
    for key in ("sender", "mode", "category", "letter_ref", "letter_date", "language",
                "grading"):
        assert made[key] == source[key], key
    assert made["pdf"] is None
    assert made["form"] == "physical"

    # the same through POST /receipts, as an electronic receipt with a scan of its own
    r = api.post("/receipts", "clerk", json={"from_receipt_id": source["id"],
                                             "form": "electronic"})
    assert error(r, 422) == "pdf: an electronic receipt needs its scanned letter"
    other = make_pdf("third letter")
    r = api.post("/receipts", "clerk", data={"from_receipt_id": str(source["id"])},
                 files={"pdf": ("c.pdf", other, "application/pdf")})
    assert r.status_code == 201, r.text
    third = r.json()
    assert third["sender"] == LETTER["sender"]
    assert third["form"] == "electronic"
    assert api.get(third["pdf"].removeprefix("/api/v1"), "clerk").content == other

    # only from a receipt one may read
    assert api.post(f"/receipts/{source['id']}/copy", "us", json={}).status_code == 403
    assert api.post("/receipts/999999/copy", "clerk", json={}).status_code == 404


def test_forward_with_copies(api):
    pdf = make_pdf("circular")
    r = api.post("/receipts", "clerk", data=LETTER,
                 files={"pdf": ("c.pdf", pdf, "application/pdf")})
    original = r.json()
    task = task_for(api, "clerk", receipt_id=original["id"])

    r = api.post(f"/tasks/{task['id']}", "clerk",
                 json={"action": "forward", "to": "so", "copies": ["so"]})
    assert "already gets the receipt" in error(r, 422)
    r = api.post(f"/tasks/{task['id']}", "clerk",
                 json={"action": "close", "remark": "x", "copies": ["us"]})
    assert "copies go with a forward" in error(r, 422)
    r = api.post(f"/tasks/{task['id']}", "clerk",
                 json={"action": "forward", "to": "so", "copies": ["nobody-here"]})
    assert "copies" in error(r, 422)

    done = act(api, "clerk", task["id"], action="forward", to="so",
               copies=["us", "GAD-EST-DS"], remark="For information")
    assert done["done"]
    task_for(api, "so", receipt_id=original["id"])  # the receipt itself moved

    view = api.get(f"/receipts/{original['id']}", "clerk").json()
    copies = {c["holder"]["code"]: c for c in view["copies"]}
    assert set(copies) == {"GAD-EST-US", "GAD-EST-DS"}
    forward = [e for e in view["history"] if e["kind"] == "task_completed"][-1]
    assert {c["post"] for c in forward["data"]["copies"]} == {"GAD-EST-US", "GAD-EST-DS"}

    us_copy = copies["GAD-EST-US"]
    assert us_copy["diary_no"].startswith(original["diary_no"] + "/C")
    copy_task = task_for(api, "us", receipt_id=us_copy["id"])
    got = api.get(f"/receipts/{us_copy['id']}", "us").json()
    assert got["copy_of_id"] == original["id"]
    assert got["subject"] == original["subject"]
    assert got["movements"][0]["action"] == "copy"
    assert got["movements"][0]["from"]["code"] == "GAD-EST-DA"
    assert api.get(f"/receipts/{us_copy['id']}/pdf", "us").content == pdf
    # the copy holder acknowledges it by closing with a remark; the other forwards hers
    act(api, "us", copy_task["id"], action="close", remark="Seen, thanks")
    assert api.get(f"/receipts/{us_copy['id']}", "us").json()["status"] == "closed"
    ds_task = task_for(api, "ds", receipt_id=copies["GAD-EST-DS"]["id"])
    act(api, "ds", ds_task["id"], action="forward", to="secretary")
    task_for(api, "secretary", receipt_id=copies["GAD-EST-DS"]["id"])
    # the sender still sees the copies it sent
    assert api.get(f"/receipts/{us_copy['id']}", "clerk").status_code == 200


def test_paper_of_a_physical_receipt_is_tracked(api):
    receipt = diarise(api, form="physical")
    assert receipt["paper_location"] == "with Dealing Assistant, Establishment"
    act(api, "clerk", task_for(api, "clerk", receipt_id=receipt["id"])["id"],
        action="forward", to="so", paper_location="In the SO's dak pad")
    act(api, "so", task_for(api, "so", receipt_id=receipt["id"])["id"],
        action="forward", to="us")
    view = api.get(f"/receipts/{receipt['id']}", "clerk").json()
    assert [m["paper_location"] for m in view["movements"]] == [
        "In the SO's dak pad", "sent to Under Secretary, Establishment"]
    assert view["paper_location"] == "sent to Under Secretary, Establishment"
    file = open_file(api, "us", subject="Leave rules", head="11013")
    act(api, "us", task_for(api, "us", receipt_id=receipt["id"])["id"],
        action="put_in_file", file_id=file["id"])
    assert api.get(f"/receipts/{receipt['id']}", "us").json()["paper_location"] == \
        f"placed in file {file['file_no']}"

    scanned = api.post("/receipts", "clerk", data=LETTER,
                       files={"pdf": ("a.pdf", make_pdf(), "application/pdf")}).json()
    r = api.post(f"/tasks/{task_for(api, 'clerk', receipt_id=scanned['id'])['id']}", "clerk",
                 json={"action": "forward", "to": "so", "paper_location": "shelf"})
    assert "only a physical receipt" in error(r, 422)


def test_put_up_and_close_rules(api):
    locked = next(f for f in api.get("/files", "clerk").json() if f["locked"])
    receipt = diarise(api)
    task = task_for(api, "clerk", receipt_id=receipt["id"])
    r = api.post(f"/tasks/{task['id']}", "clerk",
                 json={"action": "put_in_file", "file_id": locked["id"]})
    assert "put the receipt elsewhere" in error(r, 409)
    r = api.post(f"/tasks/{task['id']}", "clerk", json={"action": "put_in_file"})
    assert error(r, 422).startswith("file_id:")
    r = api.post(f"/tasks/{task['id']}", "clerk", json={"action": "close", "remark": "  "})
    assert error(r, 422) == "remark: closing a receipt needs a remark"
    # nothing of the refused actions stuck: the task is still open and the receipt too
    assert api.get(f"/receipts/{receipt['id']}", "clerk").json()["status"] == "open"
    act(api, "clerk", task["id"], action="put_in_file", subject="New matter", head="11012")
    view = api.get(f"/receipts/{receipt['id']}", "clerk").json()
    assert view["status"] == "filed"
    assert view["file_id"]
    r = api.post(f"/tasks/{task['id']}", "clerk", json={"action": "close", "remark": "late"})
    assert error(r, 409)
