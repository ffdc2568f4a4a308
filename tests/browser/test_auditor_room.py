"""The auditor's room in a real browser: the auditor opens a closed file's history, replays
it at its approval event and sees the Approval step highlighted on the diagram of the
version that ran; the file's verification says intact, and after a note is altered
behind the application's back it names the problem."""

from __future__ import annotations

from tests.browser.steps import shot, sign_in, wait_for_js
from tests.flow import inbox_task
from tests.tamper import tamper

SUBJECT = "Grant of leave encashment"


def closed_file(service, users) -> dict:
    clerk, ds = users["clerk"], users["ds"]
    f = service.open_file(clerk, SUBJECT, "11011")
    service.add_note(clerk, f["id"], "Leave encashment may be granted as per rules.")
    service.act(clerk, inbox_task(service, clerk, file_id=f["id"])["id"],
                {"action": "submit", "to": "ds"})
    service.act(ds, inbox_task(service, ds, file_id=f["id"])["id"],
                {"action": "approve", "remark": "Approved."})
    service.act(clerk, inbox_task(service, clerk, file_id=f["id"])["id"],
                {"action": "close", "record_category": "B"})
    return f


def test_auditor_replays_a_closed_file_at_its_approval(page, server, demo, users):
    f = closed_file(demo, users)
    sign_in(page, "auditor")
    page.goto(f"/files/{f['id']}")
    with page.expect_navigation():
        page.click("a:has-text('History')")
    approval = page.locator("ol.history li[data-kind=task_completed]",
                            has_text="approved").first
    assert "Kavita Singh" in approval.inner_text()
    assert page.locator("details.hash[open]").count() == 0  # hashes folded away
    shot(page, "audit-history")
    with page.expect_navigation():
        approval.locator("a.replay-link").click()
    wait_for_js(page, "document.getElementById('diagram').dataset.ready === '1'")
    step = page.locator(".djs-element[data-element-id=approval]")
    assert "step-event" in (step.get_attribute("class") or "")
    noting = page.locator(".djs-element[data-element-id=noting]")
    assert "step-done" in (noting.get_attribute("class") or "")
    assert "approved" in page.locator("#event-sentence").inner_text()
    assert page.locator("aside.state").get_by_text("Process data").count() == 1
    shot(page, "audit-replay")

    with page.expect_navigation():
        page.click("a:has-text('Verify this file')")
    assert page.locator("#verify-result").get_attribute("data-intact") == "yes"
    assert "Intact" in page.locator("#verify-result").inner_text()
    tamper(demo, "UPDATE notes SET text = 'Not granted.' WHERE file_id = :f", ("notes",),
           f=f["id"])
    page.reload()
    assert page.locator("#verify-result").get_attribute("data-intact") == "no"
    assert "differ from what" in page.locator("#verify-result").inner_text()
    shot(page, "audit-verify-broken")
