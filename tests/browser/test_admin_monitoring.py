"""The administrator's and the monitoring officer's journeys in a real browser: set up a
department with a division and a district, a section, posts, users, a holiday and a time
limit, transfer a user and give an additional charge; the division's monitoring officer
drills from the division to a file sent to the secretariat and back, and downloads the
time-at-desk report as PDF and CSV; the weekly review button mails a PDF per Secretary."""

from __future__ import annotations

import dataclasses
import io
from datetime import date, timedelta
from pathlib import Path

from pypdf import PdfReader

from engine.notify.delivery import Deliverer
from tests.browser.steps import confirm, go, shot, sign_in
from tests.integration.test_delivery import smtp_server  # noqa: F401 (fixture)
from tests.org_setup import district_file_round_trip, setup_division


def submit(page, form_id: str) -> None:
    with page.expect_navigation():
        page.click(f"#{form_id} button[type=submit]")
    errors = page.locator("p.flash.error")
    assert errors.count() == 0, errors.all_inner_texts()


def unfold(page, form_id: str) -> None:
    details = page.locator(f"details:has(#{form_id})")
    if details.get_attribute("open") is None:
        details.locator("summary").click()


def test_admin_sets_up_an_office(page, server):
    sign_in(page, "admin")
    go(page, "Administration")
    unfold(page, "new-department")
    page.fill("#dept-code", "TRB")
    page.fill("#dept-name", "Tribal Affairs")
    submit(page, "new-department")
    assert page.locator("#offices").inner_text().count("TRB-SECTT") == 1

    for code, name, kind, parent in (("TRB-DIV-JBP", "Jabalpur Division", "division",
                                      "TRB-SECTT"),
                                     ("TRB-DIST-MDL", "Tribal Office, Mandla", "district",
                                      "TRB-DIV-JBP")):
        unfold(page, "new-office")
        page.fill("#office-code", code)
        page.fill("#office-name", name)
        page.select_option("#office-kind", kind)
        page.select_option("#office-dept", "TRB")
        page.select_option("#office-parent", parent)
        submit(page, "new-office")
    assert "Tribal Office, Mandla" in page.locator("#offices").inner_text()

    unfold(page, "new-section")
    page.select_option("#sec-dept", "TRB")
    page.select_option("#sec-office", "TRB-DIST-MDL")
    page.fill("#sec-code", "MDL-EST")
    page.fill("#sec-name", "Establishment, Mandla")
    submit(page, "new-section")
    for code, title, rank, superior in (("MDL-DO", "District Officer, Mandla", 3, "GAD-EST-DS"),
                                        ("MDL-DA", "Dealing Assistant, Mandla", 1, "MDL-DO"),
                                        ("MDL-DA2", "Second Dealing Assistant, Mandla", 1,
                                         "MDL-DO")):
        unfold(page, "new-post")
        page.select_option("#post-section", "TRB/MDL-EST")
        page.fill("#post-code", code)
        page.fill("#post-title", title)
        page.fill("#post-rank", str(rank))
        page.select_option("#post-superior", superior)  # may sit in another office
        submit(page, "new-post")
    posts = page.locator("#posts").inner_text()
    assert "District Officer, Mandla" in posts
    assert "GAD-EST-DS" in posts
    shot(page, "admin-organisation")

    go(page, "Administration")
    with page.expect_navigation():
        page.click(".subnav >> text=Users")
    for username, name, post in (("mdl.do", "Kiran Markam", "MDL-DO"),
                                 ("mdl.da", "Ramesh Uikey", "MDL-DA")):
        page.fill("#u-username", username)
        page.fill("#u-name", name)
        page.fill("#u-password", "first-pass-1")
        page.select_option("#u-post", post)
        submit(page, "new-user")
    assert "Kiran Markam" in page.locator("#users").inner_text()
    # transfer the dealing assistant to the second post, then an additional charge
    page.select_option("#t-user", "mdl.da")
    page.select_option("#t-post", "MDL-DA2")
    submit(page, "transfer")
    assert "Second Dealing Assistant" in page.locator("#user-mdl\\.da").inner_text()
    page.select_option("#c-user", "mdl.da")
    page.select_option("#c-post", "MDL-DA")
    page.fill("#c-until", (date.today() + timedelta(days=30)).isoformat())
    submit(page, "charge")
    shot(page, "admin-users")

    with page.expect_navigation():
        page.click(".subnav >> text=Calendar and time limits")
    page.fill("#h-day", f"{date.today().year + 1}-01-26")
    page.fill("#h-name", "Republic Day")
    submit(page, "new-holiday")
    assert "Republic Day" in page.locator("#holidays").inner_text()
    # a holiday of the Mandla district only: its own page lists it, the installation's not
    page.select_option("#cal-office", "TRB-DIST-MDL")
    submit(page, "calendar-office")
    page.fill("#h-day", f"{date.today().year + 1}-02-10")
    page.fill("#h-name", "Mandla fair")
    submit(page, "new-holiday")
    assert "Mandla fair" in page.locator("#holidays").inner_text()
    assert "Republic Day" not in page.locator("#holidays").inner_text()
    page.select_option("#cal-office", "")
    submit(page, "calendar-office")
    page.select_option("#r-dept", "TRB")
    page.fill("#r-amount", "5")
    submit(page, "new-rule")
    assert "5 working days" in page.locator("#rules").inner_text()

    with page.expect_navigation():
        page.click(".subnav >> text=Audit log")
    log = page.locator("#audit").inner_text()
    for kind in ("department created", "office created", "user transferred",
                 "additional charge"):
        assert kind in log

    # deactivating keeps the items with the post; it asks first
    with page.expect_navigation():
        page.click(".subnav >> text=Users")
    page.locator("#user-mdl\\.do button:has-text('Deactivate')").click()
    confirm(page)
    assert "inactive" in page.locator("#user-mdl\\.do").inner_text()


def test_monitoring_officer_drills_down_and_downloads(page, server, api):
    setup_division(api)
    file = district_file_round_trip(api)
    sign_in(page, "commr")
    go(page, "Monitoring")
    with page.expect_navigation():
        page.click("#pendency a:has-text('Bhopal Division')")
    with page.expect_navigation():
        page.click("#pendency a:has-text('Collectorate Sehore')")
    with page.expect_navigation():
        page.click("#pendency a:has-text('Establishment, Sehore')")
    row = page.locator("#pendency tbody tr", has_text="Dealing Assistant, Sehore")
    assert "sehda" in row.inner_text()
    shot(page, "monitor-pendency")
    with page.expect_navigation():
        row.locator("td.num a").first.click()
    assert file["file_no"] in page.locator("#items").inner_text()
    with page.expect_navigation():
        page.click("#items a.where")
    assert "With Dealing Assistant, Sehore" in page.locator("#stuck-with").inner_text()
    assert page.locator("#journey tbody tr").count() == 3
    with page.expect_navigation():
        page.click(f"#where-result a:has-text('{file['file_no']}')")
    assert f"/files/{file['id']}" in page.url

    with page.expect_navigation():
        page.goto("/monitor/desk-time")
    with page.expect_download() as pdf_download:
        page.click("a.download-pdf")
    data = Path(pdf_download.value.path()).read_bytes()
    assert "SEH-DA" in PdfReader(io.BytesIO(data)).pages[0].extract_text()
    with page.expect_download() as csv_download:
        page.click("a.download-csv")
    assert file["file_no"] in Path(csv_download.value.path()).read_text(encoding="utf-8-sig")
    shot(page, "monitor-desk-time")


def test_weekly_review_button_mails_each_secretary(page, server, demo,
                                                   smtp_server):  # noqa: F811
    deliverer = Deliverer(demo.db, dataclasses.replace(demo.settings,
                                                       smtp_url=smtp_server.url))
    deliverer.deliver_due(limit=1000)
    smtp_server.clear()
    sign_in(page, "admin")
    page.goto("/reviews")
    with page.expect_navigation():
        page.click("#send-review")
    assert "e-mails queued" in page.locator("p.flash").inner_text()
    assert page.locator("#reviews tbody tr").count() == 2  # GAD's Secretary and monitor
    deliverer.deliver_due(limit=100)
    got = {m["rcpt_tos"][0]: m["message"] for m in smtp_server.received}
    assert set(got) == {"secretary@gad.example.gov.in", "collector@gad.example.gov.in"}
    for message in got.values():
        assert [p.get_content_type() for p in message.iter_attachments()] == \
            ["application/pdf"]


CSV_HEADER = ("department_code,department_name,section_code,section_name,post_code,post_title,"
              "rank,can_approve,superior_post,monitors,username,full_name,role,email,phone,"
              "language,password,office_code,office_name,office_kind,office_parent\n")
CSV_GOOD = ("WCD,Women and Child Development,EST,Establishment,WCD-DA,Dealing Assistant,1,no,"
            ",,wcd.da,Kamla Devi,,,,,,WCD-SECTT,WCD Secretariat,secretariat,\n"
            "WCD,Women and Child Development,DPO,District Programme Office,WCD-DPO,"
            "District Programme Officer,3,yes,,,wcd.dpo,Rekha Sahu,,,,,,WCD-DIST-BPL,"
            "DPO Bhopal,district,WCD-SECTT\n")
CSV_BAD_ROW = ("WCD,Women and Child Development,DPO,District Programme Office,WCD-SUP,"
               "Supervisor,11,maybe,,,wcd.sup,,,,,,,WCD-FLD,,village,\n")


def upload(page, text: str) -> None:
    page.set_input_files("#import-csv", files=[{
        "name": "organisation.csv", "mimeType": "text/csv", "buffer": text.encode()}])
    with page.expect_navigation():
        page.click("#import-form button[type=submit]")


def test_admin_imports_an_organisation(page, server):
    sign_in(page, "admin")
    go(page, "Administration")
    with page.expect_navigation():
        page.click(".subnav >> text=Import")
    upload(page, CSV_HEADER + CSV_GOOD + CSV_BAD_ROW)
    problems = page.locator("#import-problems").inner_text()
    assert "Nothing was imported" in problems
    for column in ("rank", "can_approve", "full_name", "office_name", "office_kind"):
        assert column in problems
    shot(page, "admin-import-problems")
    go(page, "Administration")
    assert "WCD" not in page.locator("#departments").inner_text()

    with page.expect_navigation():
        page.click(".subnav >> text=Import")
    upload(page, CSV_HEADER + CSV_GOOD)
    assert "2 posts, 2 users" in page.locator("#import-result").inner_text()
    go(page, "Administration")
    assert "DPO Bhopal" in page.locator("#offices").inner_text()
