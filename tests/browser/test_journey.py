"""The whole journey in a real browser: the clerk diarises a letter with its scanned PDF,
puts it up in a new file, notes and forwards; the Section Officer, Under Secretary and
Deputy Secretary act; the diagram shows the right step; the Deputy Secretary approves."""

from __future__ import annotations

import re

from tests.browser.steps import confirm, go, shot, sign_in, sign_in_with_form, sign_out
from tests.conftest import PASSWORD
from tests.pdfs import make_pdf

SUBJECT = "Grant of earned leave to Shri Mohan Lal"
FILE_SUBJECT = "Earned leave: Shri Mohan Lal, Junior Assistant"


def open_from_inbox(page, text: str) -> None:
    with page.expect_navigation():
        page.click(f"table.inbox tr:has-text('{text}') a")


def open_action(page, action: str) -> None:
    """Unfold an action's form (the first one is unfolded already)."""
    details = page.locator(f"details:has(#act-{action})")
    if details.get_attribute("open") is None:
        details.locator("summary").click()


def write_note(page, text: str) -> None:
    """The one place to write a note: a yellow draft on the note sheet, then confirmed."""
    page.fill("#note-text", text)
    with page.expect_navigation():
        page.click(".note-form button[type=submit]")
    page.locator(".yellow button:has-text('Confirm note')").last.click()
    confirm(page)


def forward(page, to_post: str, note: str | None = None) -> None:
    if note:
        write_note(page, note)
    form = page.locator("#act-forward")
    open_action(page, "forward")
    form.locator("select[name=to]").select_option(to_post)
    form.locator("button[type=submit]").click()
    confirm(page)


def current_steps(page) -> list[str]:
    page.wait_for_selector("#diagram[data-ready='1']")
    return sorted(page.eval_on_selector_all(
        ".djs-element.step-current", "els => els.map(e => e.dataset.elementId)"))


def test_clerk_to_approval_in_the_browser(page, server):
    # The sign-in page, then the clerk's inbox.
    page.goto("/")
    assert "/login" in page.url
    shot(page, "login")
    sign_in_with_form(page, "clerk")
    assert page.locator("h1").inner_text().startswith("Inbox")

    # Diarise a letter with its scanned PDF.
    pdf = make_pdf("Leave application")
    go(page, "Diarise receipt")
    page.fill("#sender", "Shri Mohan Lal, Junior Assistant")
    page.fill("#subject", SUBJECT)
    page.select_option("#mode", "hand")
    page.fill("#letter_ref", "ML/2026/3")
    page.set_input_files("#pdf", files=[{"name": "leave.pdf", "mimeType": "application/pdf",
                                         "buffer": pdf}])
    shot(page, "diarise")
    with page.expect_navigation():
        page.click("form button[type=submit].primary")
    flash = page.locator(".flash").first.inner_text()
    diary_no = re.search(r"Diarised as (\S+)\.", flash).group(1)
    assert page.locator("h1 .number").inner_text() == diary_no
    preview = page.locator("iframe.pdf")
    assert preview.count() == 1
    served = page.request.get(preview.get_attribute("src"))
    assert served.status == 200
    assert served.body() == pdf
    shot(page, "receipt")

    # Put it up in a new file, from the receipt page.
    open_action(page, "put_in_file")
    form = page.locator("#act-put_in_file")
    form.locator("input[name=subject]").fill(FILE_SUBJECT)
    form.locator("select[name=head]").select_option("11013")
    form.locator("button[type=submit]").click()
    confirm(page)
    assert "put up in a file" in page.locator(".flash").first.inner_text()
    shot(page, "inbox")

    # Open the file: note sheet on the left, the letter's PDF on the right.
    open_from_inbox(page, FILE_SUBJECT)
    file_url = page.url
    file_no = page.locator("h1 .number").inner_text()
    assert re.fullmatch(r"GAD/EST/11013/\d+/\d{4}", file_no)
    assert page.locator(".correspondence").get_by_text(diary_no).count() == 1
    assert page.locator(".correspondence iframe.pdf").count() == 1
    # A note is first a yellow draft (private, editable), referring to the letter...
    page.fill("#note-text", "Leave is due as per the leave account.")
    page.select_option("#note-ref", label=f"{diary_no} · {SUBJECT}")
    with page.expect_navigation():
        page.click(".note-form button[type=submit]")
    draft = page.locator(".yellow").first
    draft.locator("textarea").fill("Leave is due as per the leave account; may be sanctioned.")
    with page.expect_navigation():
        draft.locator("button[value=save]").click()
    assert page.locator(".note").count() == 0  # not on the note sheet yet
    # ...and becomes green paragraph 1 when confirmed.
    page.locator(".yellow button:has-text('Confirm note')").click()
    confirm(page)
    assert page.locator(".yellow").count() == 0
    assert page.locator("#para-1 .text").inner_text().startswith(
        "Leave is due as per the leave account; may be sanctioned.")
    assert diary_no in page.locator("#para-1 a.ref").inner_text()
    shot(page, "file")

    # Forward to the Section Officer with the post picker; the item leaves the inbox.
    forward(page, "GAD-EST-SO")
    assert page.locator("table.inbox").get_by_text(FILE_SUBJECT).count() == 0
    sign_out(page)

    # Section Officer and Under Secretary note and forward.
    for user, to_post, note in (("so", "GAD-EST-US", "Checked; recommended."),
                                ("us", "GAD-EST-DS", "May be approved.")):
        sign_in(page, user)
        open_from_inbox(page, FILE_SUBJECT)
        forward(page, to_post, note)
        sign_out(page)

    # The Deputy Secretary sees the file at the approval step on the diagram, and approves.
    sign_in(page, "ds")
    open_from_inbox(page, FILE_SUBJECT)
    assert [n.inner_text() for n in page.locator(".note .text").all()] == [
        "Leave is due as per the leave account; may be sanctioned.",
        "Checked; recommended.", "May be approved."]
    page.click("text=Track")
    assert current_steps(page) == ["approval"]
    assert page.locator(".djs-element.step-done[data-element-id='noting']").count() == 1
    shot(page, "track")
    page.goto(file_url)
    open_action(page, "approve")
    page.locator("#act-approve input[name=remark]").fill("Sanctioned.")
    page.locator("#act-approve button[type=submit]").click()
    confirm(page)
    assert "approved" in page.locator(".flash").first.inner_text()

    page.goto(file_url)
    assert page.locator(".badge.locked").count() == 1
    assert page.locator(".note-form").count() == 0  # locked: no more notes
    page.click("text=Track")
    assert current_steps(page) == ["closure"]  # back with the creator for closure
    movements = page.locator("ol.timeline > li").all_inner_texts()
    assert len(movements) >= 3
    assert "Deputy Secretary" in movements[-1]

    # The history timeline shows every recorded step in plain words, chained.
    page.goto(file_url.replace("/files/", "/files/") + "/history")
    events = page.locator("ol.history > li")
    assert events.count() >= 5
    assert page.locator("ol.history li[data-kind=task_completed]").count() >= 4
    approved = page.locator("ol.history").get_by_text("Deputy Secretary, Establishment approved")
    assert approved.count() == 1
    shot(page, "history")
    sign_out(page)

    # The clerk is notified and closes the file.
    sign_in(page, "clerk")
    go(page, "Notifications")
    assert page.locator("ul.timeline li").count() >= 1
    shot(page, "notifications")
    go(page, "Inbox")
    open_from_inbox(page, FILE_SUBJECT)
    open_action(page, "close")
    page.locator("#act-close select[name=record_category]").select_option("B")
    page.locator("#act-close input[name=remark]").fill("Leave sanctioned; orders issued.")
    page.locator("#act-close button[type=submit]").click()
    confirm(page)
    page.goto(file_url)
    assert "closed" in page.locator(".item-head").inner_text()


def overflowing(page, width: int) -> list[str]:
    """Elements reaching past the right edge (empty when nothing scrolls sideways)."""
    return page.evaluate("""(width) => [...document.querySelectorAll('body *')]
        .filter(e => e.getBoundingClientRect().right > width + 1)
        .map(e => e.tagName + '.' + e.className + ': ' + (e.textContent || '').slice(0, 40))""",
                         width)


def test_keyboard_only_sign_in_and_skip_link(page, server):
    page.goto("/login")
    # the username field has focus; type, Tab to the password, Enter submits
    page.keyboard.type("clerk")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator("h1").inner_text().startswith("Inbox")
    # the first Tab reaches the skip link, which jumps to the content
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    # every control is a real button, link or form field with a name a reader can speak
    unnamed = page.evaluate("""() => [...document.querySelectorAll('input, select, textarea')]
        .filter(e => e.type !== 'hidden' && !(e.labels && e.labels.length)
                     && !e.getAttribute('aria-label')).map(e => e.name)""")
    assert unnamed == []


def test_dashboard_charts_and_phone_width(page, server):
    sign_in(page, "clerk")
    go(page, "Dashboard")
    page.wait_for_selector(".charts[data-ready='1']")
    assert page.locator("#my-total").inner_text() == "3"  # the demo's two receipts and a file
    # Chart.js drew into every canvas
    drawn = page.eval_on_selector_all(
        "figure.chart canvas", "cs => cs.map(c => Chart.getChart(c) !== undefined)")
    assert drawn == [True, True, True]
    shot(page, "dashboard")

    page.set_viewport_size({"width": 390, "height": 844})
    go(page, "Inbox")
    # no sideways scrolling at phone width
    assert overflowing(page, 390) == []
    shot(page, "inbox-phone")
    page.goto(page.locator("table.inbox tbody a").first.get_attribute("href"))
    assert overflowing(page, 390) == []


def test_without_javascript_the_server_asks_for_confirmation(browser, server):
    context = browser.new_context(base_url=server, java_script_enabled=False)
    page = context.new_page()
    try:
        sign_in(page, "clerk")
        page.goto("/?tab=receipt")
        with page.expect_navigation():
            page.locator("table.inbox tr:has-text('Court case') a").click()
        form = page.locator("#act-forward")
        form.locator("select[name=to]").select_option("GAD-EST-SO")
        with page.expect_navigation():
            form.locator("button[type=submit]").click()
        # nothing happened yet: a confirmation page repeats the request
        assert page.locator("h1").inner_text() == "Please confirm"
        with page.expect_navigation():
            page.click("form button[type=submit].primary")
        assert "forwarded" in page.locator(".flash").first.inner_text()
        page.goto("/?tab=receipt")
        assert page.locator("table.inbox").get_by_text("Court case").count() == 0
    finally:
        context.close()
