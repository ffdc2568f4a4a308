"""The officer's whole day in a real browser, as the demo users, without the API: drafts
(versions, comparison, approval, dispatch, the dispatch register PDF), links, part files,
parking, closing and reopening, sending three receipts at once, changing the password,
and the Hindi screens."""

from __future__ import annotations

import io
import re

from pypdf import PdfReader
from sqlalchemy import select

from engine.store.models import (
    Department,
    Dispatch,
    Draft,
    DraftVersion,
    File,
    Movement,
    Note,
    Post,
    Receipt,
    Section,
    User,
)
from tests.browser.steps import confirm, go, shot, sign_in, sign_in_with_form, sign_out
from tests.conftest import PASSWORD


def submit(page, selector: str) -> None:
    with page.expect_navigation():
        page.click(selector)


def open_panel(page, form_id: str) -> None:
    """Unfold the action-bar panel holding a form (one panel is open at a time)."""
    details = page.locator(f"details:has(#{form_id})")
    if details.get_attribute("open") is None:
        details.locator("summary").first.click()


def new_file(page, subject: str, head: str = "11011") -> str:
    go(page, "New file")
    page.fill("#subject", subject)
    page.select_option("#head", head)
    submit(page, "form button[type=submit].primary")
    return page.locator("h1 .number").inner_text()


def flash_text(page) -> str:
    return " ".join(page.locator(".flash").all_inner_texts())


def forward(page, to_post: str) -> None:
    open_panel(page, "act-forward")
    page.locator("#act-forward select[name=to]").select_option(to_post)
    page.locator("#act-forward button[type=submit]").click()
    confirm(page)


def open_row(page, text: str, tab: str = "file", view: str = "inbox") -> None:
    page.goto(f"/?tab={tab}&view={view}")
    submit(page, f"table.inbox tr:has-text('{text}') td a")


def test_drafts_versions_compare_approve_dispatch_and_register_pdf(page, server, demo):
    sign_in(page, "clerk")
    file_no = new_file(page, "Reply to the Treasury on pay fixation")
    # write a draft, then a second version
    open_panel(page, "form-draft")
    page.fill("#nd-subject", "Pay fixation: reply")
    page.fill("#nd-addressee", "Director, Treasury")
    page.fill("#nd-text", "Sir,\nThe pay is fixed as per rules.\nYours faithfully")
    submit(page, "#form-draft button[type=submit]")
    assert "version 1" in flash_text(page)
    item = page.locator(".draft-item").first
    item.locator("summary:has-text('New version')").click()
    item.locator("textarea[name=text]").fill(
        "Sir,\nThe pay is fixed under FR 22 as per rules.\nYours faithfully")
    submit(page, ".draft-item form[action$='/versions'] button[type=submit]")
    assert "version 2" in flash_text(page)
    # compare versions 1 and 2 side by side
    submit(page, ".draft-item form.compare button[type=submit]")
    assert page.locator("table.diff tr.diff-changed del").inner_text() == \
        "The pay is fixed as per rules."
    assert page.locator("table.diff tr.diff-changed ins").inner_text() == \
        "The pay is fixed under FR 22 as per rules."
    assert page.locator("table.diff tr.diff-same").count() == 2
    shot(page, "draft-compare")
    submit(page, f"a:has-text('{file_no}')")
    # the clerk may not approve; the file goes to the Deputy Secretary
    assert page.locator("form[action$='/approve']").count() == 0
    forward(page, "GAD-EST-DS")
    assert f"{file_no} forwarded to Deputy Secretary" in flash_text(page)
    assert "Kavita Singh" in flash_text(page)
    sign_out(page)

    sign_in(page, "ds")
    open_row(page, "Reply to the Treasury")
    page.locator("form[action$='/approve'] button").click()
    confirm(page)
    assert "approved" in flash_text(page)
    item = page.locator(".draft-item").first
    item.locator("summary:has-text('Dispatch')").click()
    item.locator("select[name=mode]").select_option("speed_post")
    submit(page, ".draft-item form[action$='/dispatch'] button[type=submit]")
    number = page.locator(".flash strong").first.inner_text()
    assert number
    assert number in page.locator("ul.dispatches").inner_text()
    shot(page, "file-drafts")
    # the dispatch register (page and PDF) lists it
    submit(page, ".flash a:has-text('Dispatch register')")
    assert number in page.locator("table.register").inner_text()
    shot(page, "dispatch-register")
    pdf = page.request.get(page.locator("a.download:has-text('PDF')").get_attribute("href"))
    assert pdf.status == 200
    assert pdf.headers["content-type"] == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.body())).pages)
    assert number in text
    assert "Director, Treasury" in text
    csv = page.request.get(page.locator("a.download:has-text('CSV')").get_attribute("href"))
    assert number in csv.text()
    # the file page in Hindi: stored codes (draft status, dispatch mode) shown as words
    page.goto("/?tab=file")
    page.click("button[name=lang][value=hi]")
    page.goto(page.url)
    with page.expect_navigation():
        page.locator("table.inbox").get_by_role("link", name=file_no, exact=True).click()
    assert english_left(page, _data_words(demo)) == []


def test_links_part_files_and_parking(page, server):
    sign_in(page, "clerk")
    first = new_file(page, "Vehicle pool: allotment rules", "11014")
    first_url = page.url
    second = new_file(page, "Vehicle pool: fuel accounts", "11014")
    # link the second file to the first: the link shows on both
    open_panel(page, "form-link")
    page.fill("#link-no", first)
    submit(page, "#form-link button[type=submit]")
    assert first in flash_text(page)
    assert first in page.locator("ul.links").inner_text()
    page.goto(first_url)
    assert second in page.locator("ul.links").inner_text()
    # open a part file; it is listed under the main file and links back to it
    open_panel(page, "form-part")
    page.fill("#part-subject", "Vehicle pool: part for the new cars")
    submit(page, "#form-part button[type=submit]")
    part_no = page.locator("h1 .number").inner_text()
    assert part_no != first
    submit(page, f".item-head a:has-text('{first}')")
    assert part_no in page.locator("ul.parts").inner_text()
    submit(page, f"ul.parts a:has-text('{part_no}')")
    assert page.locator("h1 .number").inner_text() == part_no
    page.goto(first_url)
    shot(page, "file-links-parts")
    # park: a badge, gone from the inbox, found under Parked; unpark brings it back
    submit(page, "#form-park button")
    assert page.locator(".item-head .badge.parked").count() == 1
    def listed() -> int:
        return page.locator("table.inbox").get_by_role("link", name=first, exact=True).count()

    page.goto("/?tab=file")
    assert listed() == 0
    submit(page, ".views a:has-text('Parked')")
    assert listed() == 1
    shot(page, "inbox-parked")
    with page.expect_navigation():
        page.locator("table.inbox").get_by_role("link", name=first, exact=True).click()
    submit(page, "#form-park button")
    assert page.locator(".item-head .badge.parked").count() == 0
    page.goto("/?tab=file")
    assert listed() == 1


def test_close_then_reopen_from_the_approvers_file_page(page, server):
    subject = "Pay fixation of Junior Assistants"  # the demo file approved, awaiting closure
    sign_in(page, "clerk")
    open_row(page, subject)
    open_panel(page, "act-close")
    page.locator("#act-close select[name=record_category]").select_option("B")
    page.fill("#remark-close", "Orders issued; nothing more to do.")
    page.locator("#act-close button[type=submit]").click()
    confirm(page)
    # the closed file shows how it was closed, and is under Closed
    submit(page, ".views a:has-text('Closed')")
    submit(page, f"table.inbox tr:has-text('{subject}') td a")
    closure = page.locator("section.closure").inner_text()
    assert "Orders issued; nothing more to do." in closure
    assert "B: keep permanently" in closure
    assert "Ramesh Kumar" in closure
    # approval marks and signatures on the note sheet
    assert page.locator(".mark-approve").count() == 1
    assert "Kavita Singh" in page.locator(".mark-approve").inner_text()
    assert "Sunita Sharma" in page.locator(".note .signature").nth(1).inner_text()
    assert "Section Officer" in page.locator(".note .signature").nth(1).inner_text()
    # request the reopening
    page.fill("#ro-reason", "The Treasury has asked for arrears to be worked out.")
    submit(page, "#form-reopen button[type=submit]")
    assert "Deputy Secretary" in flash_text(page)
    assert "arrears" in page.locator("section.reopen").inner_text()
    file_url = page.url
    sign_out(page)

    sign_in(page, "ds")
    go(page, "Notifications")
    submit(page, "ul.notifications a:has-text('Reopen')")
    assert page.url == file_url
    assert "arrears" in page.locator(".actionbar .reopen-reason").inner_text()
    shot(page, "file-reopen-approval")
    open_panel(page, "act-approve")
    page.locator("#act-approve button[type=submit]").click()
    confirm(page)
    sign_out(page)
    sign_in(page, "clerk")
    page.goto(file_url)
    assert "open" in page.locator(".item-head").inner_text()
    assert page.locator("#note-text").count() == 1  # noting again at the creator post


def test_send_three_receipts_at_once_with_due_date_and_priority(page, server, demo):
    sign_in(page, "clerk")
    go(page, "Diarise receipt")
    page.fill("#sender", "Director, Treasury")
    page.fill("#subject", "Arrears of pay: statement")
    submit(page, "form button[type=submit].primary")
    page.goto("/?tab=receipt")
    rows = page.locator("table.inbox tbody tr")
    assert rows.count() == 3
    assert page.locator("table.inbox tr.unread").count() >= 2  # never opened
    shot(page, "inbox-receipts")
    for box in page.locator("input[name=task_id]").all():
        box.check()
    assert page.locator("#bulk-count").inner_text() == "3 chosen"
    page.fill("#bulk-to-q", "sunita")
    assert page.locator("#bulk-to").input_value() == "GAD-EST-SO"
    page.fill("#due-bulk", "2099-03-31")
    page.select_option("#prio-bulk", "Immediate")
    page.click("#bulk button[type=submit]")
    confirm(page)
    lines = page.locator(".flash").all_inner_texts()
    assert len([t for t in lines if "forwarded to Section Officer" in t]) == 3
    assert page.locator("table.inbox tbody tr").count() == 0
    sign_out(page)

    sign_in(page, "so")
    page.goto("/?tab=receipt&priority=Immediate")
    assert page.locator("table.inbox tbody tr").count() == 3
    assert "Ramesh Kumar" in page.locator("table.inbox tbody tr").first.inner_text()
    assert "2099-03-31" in page.locator("table.inbox tbody tr").first.inner_text()
    # sort by number, both ways
    submit(page, "th a.sort:has-text('Number')")
    up = [a.inner_text() for a in page.locator("table.inbox tbody td:nth-child(2) a").all()]
    submit(page, "th a.sort:has-text('Number')")
    down = [a.inner_text() for a in page.locator("table.inbox tbody td:nth-child(2) a").all()]
    assert up == sorted(up)
    assert down == up[::-1]
    # two of them into one new file, in one action
    page.goto("/?tab=receipt")
    boxes = page.locator("input[name=task_id]")
    boxes.nth(0).check()
    boxes.nth(1).check()
    page.select_option("#bulk-op", "put_in_file")
    page.fill("#bulk-subject", "Arrears and pay fixation together")
    page.select_option("#bulk-head", "11011")
    page.click("#bulk button[type=submit]")
    confirm(page)
    assert len([t for t in page.locator(".flash").all_inner_texts()
                if "put up in a file" in t]) == 2
    with demo.db.reader() as s:
        file = s.scalar(select(File).where(File.subject == "Arrears and pay fixation together"))
        assert s.scalar(select(Receipt.id).where(Receipt.file_id == file.id).limit(1))


def test_change_password_signs_out_other_sessions(page, server, browser):
    other = browser.new_context(base_url=server)
    elsewhere = other.new_page()
    try:
        sign_in(elsewhere, "us")
        assert elsewhere.locator("h1").inner_text().startswith("Inbox")
        sign_in(page, "us")
        go(page, "My settings")
        shot(page, "settings")
        page.fill("#current_password", PASSWORD)
        page.fill("#new_password", "short1")
        page.fill("#repeat_password", "short1")
        page.evaluate("document.querySelectorAll('input[minlength]').forEach("
                      "e => e.removeAttribute('minlength'))")
        submit(page, "#form-password button[type=submit]")
        assert "at least 12 characters" in page.locator(".flash.error").inner_text()
        page.fill("#current_password", PASSWORD)
        page.fill("#new_password", "Fresh-pass-2026")
        page.fill("#repeat_password", "Fresh-pass-2026")
        submit(page, "#form-password button[type=submit]")
        assert "signed out" in flash_text(page)
        page.goto("/")  # this session goes on
        assert page.locator("h1").inner_text().startswith("Inbox")
        elsewhere.goto("/")  # the other one is signed out
        assert "/login" in elsewhere.url
        sign_out(page)
        sign_in_with_form(page, "us", PASSWORD)
        assert "/login" in page.url
        sign_in_with_form(page, "us", "Fresh-pass-2026")
        assert page.locator("h1").inner_text().startswith("Inbox")
        # e-mail notifications off, kept
        go(page, "My settings")
        page.uncheck("#ch-email")
        submit(page, "#form-settings button[type=submit]")
        assert not page.is_checked("#ch-email")
        assert page.is_checked("#ch-sms")
    finally:
        other.close()


def _data_words(demo) -> list[str]:
    """Names, subjects, numbers and codes: the data a Hindi page may show in English."""
    with demo.db.reader() as s:
        words = [*s.scalars(select(User.full_name)), *s.scalars(select(User.username)),
                 *s.scalars(select(User.email)),
                 *s.scalars(select(Post.title)), *s.scalars(select(Post.code)),
                 *s.scalars(select(File.subject)), *s.scalars(select(File.file_no)),
                 *s.scalars(select(Receipt.subject)), *s.scalars(select(Receipt.sender)),
                 *s.scalars(select(Receipt.diary_no)), *s.scalars(select(Section.name)),
                 *s.scalars(select(Department.name)), *s.scalars(select(Note.text)),
                 *s.scalars(select(Movement.remark)), *s.scalars(select(Draft.subject)),
                 *s.scalars(select(DraftVersion.text)), *s.scalars(select(Dispatch.addressee)),
                 *s.scalars(select(Dispatch.dispatch_no))]
    lines = {line.strip() for w in words if w for line in w.splitlines()}
    return sorted({w for w in words if w} | {x for x in lines if x}, key=len, reverse=True)


def english_left(page, data: list[str]) -> list[str]:
    text = page.locator("body").inner_text()
    for word in data:
        text = text.replace(word, " ")
    # allowed: the brand, the language switch, file formats, time zone, the licence name
    text = re.sub(r"\b(Sanchika|English|PDF|CSV|UTC|GAD|EST|GNU AGPL)\b", " ", text)
    return [text[max(0, m.start() - 30):m.end() + 30].replace("\n", " ")
            for m in re.finditer(r"[A-Za-z]{2,}", text)]


def test_hindi_inbox_file_page_and_notifications_have_no_english(page, server, demo):
    sign_in(page, "us")
    page.click("button[name=lang][value=hi]")
    data = _data_words(demo)
    page.goto("/?tab=file")
    assert english_left(page, data) == []
    shot(page, "inbox-hindi-tabs")
    page.goto("/?tab=receipt&view=sent")
    assert english_left(page, data) == []
    submit(page, ".tabs a:first-child")
    page.goto("/?tab=file&view=created")
    assert english_left(page, data) == []
    page.goto("/?tab=file")
    submit(page, "table.inbox tbody tr td a")
    assert english_left(page, data) == []
    shot(page, "file-hindi-actionbar")
    page.goto("/notifications")
    assert page.locator("ul.notifications li").count() >= 1
    assert english_left(page, data) == []
    page.goto("/settings")
    assert english_left(page, data) == []
    page.goto("/registers/diary")
    assert english_left(page, data) == []


def test_phone_width_and_keyboard_on_the_new_pages(page, server):
    sign_in(page, "clerk")
    page.set_viewport_size({"width": 390, "height": 844})
    for url in ("/?tab=receipt", "/settings", "/registers/diary", "/notifications"):
        page.goto(url)
        wide = page.evaluate("""() => [...document.querySelectorAll('body *')]
            .filter(e => e.getBoundingClientRect().right > 391).map(e => e.tagName)""")
        assert wide == [], url
    new_file(page, "Office furniture: repairs")
    wide = page.evaluate("""() => [...document.querySelectorAll('body *')]
        .filter(e => e.getBoundingClientRect().right > 391).map(e => e.tagName)""")
    assert wide == []
    shot(page, "file-phone")
    # at 1366x768 the action bar is beside the note sheet, in view without scrolling
    page.set_viewport_size({"width": 1366, "height": 768})
    page.reload()
    box = page.locator("aside.actionbar").bounding_box()
    assert box["y"] < 768
    assert box["x"] > 683
    # one action form open at a time
    summaries = page.locator("aside.actionbar details > summary")
    summaries.nth(1).click()
    summaries.nth(2).click()
    assert page.locator("aside.actionbar details[open]").count() == 1
    # every field has a label
    unnamed = page.evaluate("""() => [...document.querySelectorAll('input, select, textarea')]
        .filter(e => e.type !== 'hidden' && !(e.labels && e.labels.length)
                     && !e.getAttribute('aria-label')).map(e => e.name || e.id)""")
    assert unnamed == []


def test_forward_a_receipt_with_copies_due_date_and_priority(page, server):
    sign_in(page, "clerk")
    open_row(page, "Court case", tab="receipt")
    diary_no = page.locator("h1 .number").inner_text()
    open_panel(page, "act-forward")
    form = page.locator("#act-forward")
    # the picker narrows by designation; the copies go to two more posts
    page.fill("#to-forward-q", "section officer")
    assert form.locator("select[name=to]").input_value() == "GAD-EST-SO"
    form.locator("select[name=copies]").select_option(["GAD-EST-US", "GAD-EST-DS"])
    page.fill("#due-forward", "2099-01-15")
    page.select_option("#prio-forward", "Priority")
    form.locator("button[type=submit]").click()
    confirm(page)
    assert f"{diary_no} forwarded to Section Officer, Establishment (Sunita Sharma)" in \
        flash_text(page)
    submit(page, f".flash a:has-text('{diary_no}')")
    copies = page.locator("ul.copies").inner_text()
    assert f"{diary_no}/C1" in copies
    assert f"{diary_no}/C2" in copies
    assert "Under Secretary" in copies
    assert "Deputy Secretary" in copies
    sign_out(page)
    sign_in(page, "ds")
    page.goto("/?tab=receipt")
    numbers = page.locator("table.inbox tbody a").all_inner_texts()
    assert len([n for n in numbers if re.fullmatch(rf"{re.escape(diary_no)}/C\d", n)]) == 1
