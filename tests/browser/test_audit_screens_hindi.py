"""Today's screens as their users meet them in a real browser, in Hindi and at phone width:
the auditor reaches history, replay and verification from the file page and the menu;
the designer reaches the versions and the migration form; nothing is wider than a
360 px phone; every field has a label; and an officer whose passkey request fails (the
device has no passkey for this site, or the prompt was cancelled) reads why in Hindi,
not the browser's English error."""

from __future__ import annotations

from pathlib import Path

from tests.browser.steps import shot, sign_in, wait_for_js
from tests.browser.test_auditor_room import closed_file
from tests.browser.test_journey import open_action
from tests.flow import inbox_task

PROCESSES = Path(__file__).resolve().parents[2] / "processes"
# (the diagram's own SVG shapes may lie outside its clipped box: they are not page width)
WIDE = """(w) => [...document.querySelectorAll('body *')]
    .filter(e => e.offsetParent !== null && !(e.closest('svg') && e.tagName !== 'svg')
                 && e.getBoundingClientRect().right > w + 1)
    .map(e => e.tagName + '#' + e.id + '.' + e.className)"""
UNLABELLED = """() => [...document.querySelectorAll('input, select, textarea')]
    .filter(e => e.type !== 'hidden' && !(e.labels && e.labels.length)
                 && !e.getAttribute('aria-label')).map(e => e.name || e.id)"""


def to_hindi(page) -> None:
    with page.expect_navigation():
        page.click("button[name=lang][value=hi]")


def follow(page, selector: str) -> None:
    with page.expect_navigation():
        page.click(selector)


def test_auditor_finds_history_replay_and_verification_on_a_phone(page, server, demo, users):
    f = closed_file(demo, users)
    sign_in(page, "auditor")
    to_hindi(page)
    page.set_viewport_size({"width": 360, "height": 780})
    page.goto(f"/files/{f['id']}")
    assert page.evaluate(WIDE, 360) == []
    follow(page, f"a[href='/files/{f['id']}/history']")
    assert page.locator("ol.history li").count() > 5
    assert page.evaluate(WIDE, 360) == []
    follow(page, "ol.history li[data-kind=task_completed] a.replay-link >> nth=0")
    wait_for_js(page, "document.getElementById('diagram').dataset.ready === '1'")
    assert page.evaluate(WIDE, 360) == []
    assert "प्रक्रिया डेटा" in page.locator("aside.state").inner_text()
    # on a phone the event's step is shown readable, inside the diagram's box
    step = page.locator(".djs-element.step-event").first.bounding_box()
    frame = page.locator("#diagram").bounding_box()
    assert step["width"] > 60
    assert frame["x"] <= step["x"]
    assert step["x"] + step["width"] <= frame["x"] + frame["width"]
    shot(page, "audit-replay-hindi-phone")
    follow(page, f"a[href='/files/{f['id']}/verify']")
    assert page.locator("#verify-result").get_attribute("data-intact") == "yes"
    assert page.evaluate(WIDE, 360) == []
    # the whole installation, from the menu
    follow(page, "nav a[href='/audit/verify']")
    assert page.evaluate(UNLABELLED) == []
    page.focus(".verify-form button[type=submit]")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator("#verify-result").get_attribute("data-intact") == "yes"
    assert page.evaluate(WIDE, 360) == []


def test_designer_finds_versions_and_the_migration_form_on_a_phone(page, server, demo):
    xml = (PROCESSES / "file_approval.bpmn").read_bytes()
    demo.deploy(xml.replace(b'name="Noting"', b'name="Noting v2"'), None)
    sign_in(page, "designer")
    to_hindi(page)
    page.set_viewport_size({"width": 360, "height": 780})
    follow(page, "nav a[href='/designer']")
    section = page.locator("section[data-process='file_approval']")
    assert "फ़ाइल अनुमोदन" in section.locator("h2").inner_text()
    assert page.evaluate(WIDE, 360) == []
    follow(page, "section[data-process='file_approval'] a.migrate")
    assert page.evaluate(UNLABELLED) == []
    page.select_option("#from", "1")
    page.select_option("#to", "2")
    page.fill("#mapping", "noting = nowhere")
    follow(page, "#dry-run")
    assert page.evaluate(WIDE, 360) == []
    problems = page.locator("#plan .problem").all_inner_texts()
    assert problems
    assert all("लक्ष्य संस्करण में" in p for p in problems)
    # each field under its own label: the selects start at the form's left edge
    left = page.locator("#plan-form").bounding_box()["x"]
    assert page.locator("#to").bounding_box()["x"] - left < 40
    shot(page, "designer-migration-hindi-phone")


def test_a_failed_passkey_request_is_explained_in_hindi(browser, server, demo, users):
    f = demo.open_file(users["clerk"], "Passkey refused in the browser", "11011")
    demo.add_note(users["clerk"], f["id"], "Proposal as per rules.")
    demo.act(users["clerk"], inbox_task(demo, users["clerk"], file_id=f["id"])["id"],
             {"action": "forward", "to": "ds"})
    context = browser.new_context(base_url=server.replace("127.0.0.1", "localhost"),
                                  locale="en-GB", viewport={"width": 360, "height": 780})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    options = {"protocol": "ctap2", "transport": "internal", "hasResidentKey": True,
               "hasUserVerification": True, "isUserVerified": True,
               "automaticPresenceSimulation": True}
    first = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": options})
    try:
        sign_in(page, "ds")
        to_hindi(page)
        page.goto("/settings")
        assert page.evaluate(WIDE, 360) == []
        page.fill("#passkey-name", "कार्यालय लैपटॉप")
        follow(page, "#passkey-add")
        # the same device again: the browser refuses; the page says why, in Hindi
        page.fill("#passkey-name", "दूसरी")
        page.click("#passkey-add")
        box = page.locator("#passkey-register .passkey-error")
        box.wait_for(state="visible")
        assert "पहले से" in box.inner_text()
        # another device, with no passkey for this site: the approval does not go through
        cdp.send("WebAuthn.removeVirtualAuthenticator",
                 {"authenticatorId": first["authenticatorId"]})
        cdp.send("WebAuthn.addVirtualAuthenticator", {"options": options})
        page.goto(f"/files/{f['id']}")
        open_action(page, "approve")
        page.click("#act-approve button[type=submit]")
        box = page.locator("#act-approve .passkey-error")
        box.wait_for(state="visible", timeout=20_000)
        assert "पासकी का उपयोग नहीं हुआ" in box.inner_text()
        assert "NotAllowedError" not in box.inner_text()
        assert page.evaluate(WIDE, 360) == []
        shot(page, "passkey-refused-hindi-phone", full_page=False)
        assert not errors, errors
    finally:
        context.close()
    assert not demo.file(users["ds"], f["id"])["locked"]  # nothing was approved
