"""Sent items and pull back in a real browser: a file sent but not yet opened is recalled
by its sender; once the recipient has opened it, it can no longer be pulled back."""

from __future__ import annotations

from tests.browser.steps import confirm, go, shot, sign_in, sign_out

SUBJECT = "Request for transfer of Naib Tehsildar"  # the demo file waiting with US


def sent_row(page, subject: str):
    return page.locator(f"table.sent tr:has-text('{subject}')").first


def forward_demo_file_to_ds(page) -> None:
    """The signed-in Under Secretary opens the demo file and forwards it to the DS."""
    with page.expect_navigation():
        page.click(f"table.inbox tr:has-text('{SUBJECT}') a")
    form = page.locator("#act-forward")
    form.locator("select[name=to]").select_option("GAD-EST-DS")
    form.locator("button[type=submit]").click()
    confirm(page)


def test_pull_back_an_unopened_file(page, server):
    # The Under Secretary forwards the demo file to the Deputy Secretary...
    sign_in(page, "us")
    forward_demo_file_to_ds(page)
    # ...sees it in Sent items, not opened, and pulls it back.
    go(page, "Sent")
    row = sent_row(page, SUBJECT)
    assert "not yet" in row.inner_text()
    shot(page, "sent")
    row.locator("button:has-text('Pull back')").click()
    confirm(page)
    assert "pulled back" in page.locator(".flash").first.inner_text()
    assert "Under Secretary" in page.locator(".item-head").inner_text()
    go(page, "Inbox")
    assert page.locator("table.inbox").get_by_text(SUBJECT).count() == 1
    sign_out(page)

    sign_in(page, "ds")
    assert page.locator("table.inbox").get_by_text(SUBJECT).count() == 0
    go(page, "Notifications")
    assert "pulled back" in page.locator("ul.timeline").inner_text()
    sign_out(page)


def test_an_opened_file_cannot_be_pulled_back(page, server):
    sign_in(page, "us")
    forward_demo_file_to_ds(page)
    sign_out(page)
    # the Deputy Secretary opens it
    sign_in(page, "ds")
    with page.expect_navigation():
        page.click(f"table.inbox tr:has-text('{SUBJECT}') a")
    sign_out(page)
    sign_in(page, "us")
    go(page, "Sent")
    row = sent_row(page, SUBJECT)
    assert row.locator("button:has-text('Pull back')").count() == 0
    assert "not yet" not in row.inner_text()
