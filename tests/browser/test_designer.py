"""The designer's board in a real browser: versions with running counts, edit a diagram in
the bpmn-js modeler, validate (errors shown on the element), deploy a new version."""

from __future__ import annotations

from pathlib import Path

from tests.browser.steps import confirm, go, shot, sign_in, wait_for_js

PROCESSES = Path(__file__).resolve().parents[2] / "processes"


def running_counts(page, process_id: str) -> dict[str, str]:
    rows = page.locator(f"section.card:has(h2:has-text('{process_id}')) tbody tr")
    return {r.locator("td").nth(0).inner_text().split()[0]: r.locator("td").nth(3).inner_text()
            for r in rows.all()}


def test_designer_edits_validates_and_deploys(page, server, demo):
    sign_in(page, "designer")
    go(page, "Processes")
    # the demo has two files running on file_approval v1
    assert running_counts(page, "file_approval") == {"v1": "2"}
    shot(page, "designer")

    page.click("section.card:has(h2:has-text('file_approval')) >> text=Open in the modeler")
    page.wait_for_selector("#canvas[data-ready='1']")
    # Rename the Noting task the way a designer does: double-click, type, click away.
    page.dblclick(".djs-element[data-element-id='noting']")
    editor = page.locator(".djs-direct-editing-parent")
    editor.wait_for(state="visible")
    page.keyboard.press("Control+A")
    page.keyboard.type("Noting and drafting")
    page.mouse.click(5, 5)
    page.click("#canvas", position={"x": 900, "y": 500})
    label = page.locator(".djs-element[data-element-id='noting'] text").text_content()
    assert label.replace(" ", "") == "Notinganddrafting"  # the SVG wraps it into lines

    page.click("#validate")
    wait_for_js(page, "document.getElementById('result').textContent.length > 0")
    assert page.locator("#result").inner_text() == "The diagram is valid."
    shot(page, "modeler")

    page.once("dialog", lambda d: d.accept())
    page.click("#deploy")
    wait_for_js(page, "document.getElementById('result').textContent.includes('version')")
    assert page.locator("#result").inner_text() == "Deployed as version 2."

    go(page, "Processes")
    assert running_counts(page, "file_approval") == {"v2": "0", "v1": "2"}
    with demo.db.reader() as s:
        from sqlalchemy import select

        from engine.store.models import ProcessDefinition
        xml = s.scalar(select(ProcessDefinition.bpmn_xml).where(
            ProcessDefinition.process_id == "file_approval", ProcessDefinition.version == 2))
    assert 'name="Noting and drafting"' in xml


def test_validation_errors_are_shown_on_the_element(page, server):
    sign_in(page, "designer")
    page.goto("/designer/file_approval/1")
    page.wait_for_selector("#canvas[data-ready='1']")
    # A diagram edited elsewhere (Camunda Modeler) is opened from disk: its lock_file
    # service task names a handler that does not exist.
    xml = (PROCESSES / "file_approval.bpmn").read_text().replace(
        'camunda:topic="lock_file"', 'camunda:topic="no_such_handler"')
    page.set_input_files("#import", files=[{"name": "changed.bpmn", "mimeType": "text/xml",
                                            "buffer": xml.encode()}])
    wait_for_js(page, """window.sanchikaModeler.get('elementRegistry')
        .get('lock_file').businessObject.get('camunda:topic') === 'no_such_handler'""")
    page.click("#validate")
    page.wait_for_selector("#problems li")
    problems = page.locator("#problems li").all_inner_texts()
    assert any(p.startswith("lock_file:") and "no_such_handler" in p for p in problems), problems
    assert page.locator(".djs-element.has-error[data-element-id='lock_file']").count() == 1
    assert page.locator(".problem-overlay").count() >= 1
    shot(page, "modeler-errors")

    # Deploying it is refused the same way; nothing new is deployed.
    page.once("dialog", lambda d: d.accept())
    page.click("#deploy")
    wait_for_js(page, "document.getElementById('result').textContent.includes('rejected')")
    go(page, "Processes")
    assert running_counts(page, "file_approval") == {"v1": "2"}


def test_officers_cannot_open_the_designer(page, server):
    sign_in(page, "clerk")
    response = page.goto("/designer")
    assert response.status == 403
    response = page.request.post("/designer/deploy", data="<x/>",
                                 headers={"X-CSRFToken": page.locator(
                                     "meta[name=csrf-token]").get_attribute("content")})
    assert response.status == 403


def _row(page, process_id: str, version: int):  # type: ignore[no-untyped-def]
    return page.locator(f"section[data-process='{process_id}'] tr[data-version='{version}']")


def test_designer_rolls_back_suspends_and_migrates(page, server, demo):
    xml = (PROCESSES / "file_approval.bpmn").read_bytes()
    demo.deploy(xml.replace(b'name="Noting"', b'name="Noting v2"'), None)
    sign_in(page, "designer")
    go(page, "Processes")
    assert "current" in _row(page, "file_approval", 2).inner_text()

    # Rollback: version 1 is current again.
    _row(page, "file_approval", 1).locator("button.make-current").click()
    confirm(page)  # a rollback changes what every new file starts on: asked first
    assert "is now current" in page.locator(".flash.ok").inner_text()
    assert "current" in _row(page, "file_approval", 1).locator("td").first.inner_text()
    assert "current" not in _row(page, "file_approval", 2).locator("td").first.inner_text()

    # Suspend (after confirming) and resume version 2.
    _row(page, "file_approval", 2).locator("button.suspend").click()
    confirm(page)
    assert "suspended" in _row(page, "file_approval", 2).locator("td").first.inner_text()
    with page.expect_navigation():
        _row(page, "file_approval", 2).locator("button.suspend").click()
    assert "suspended" not in _row(page, "file_approval", 2).locator("td").first.inner_text()

    # Migrate the two running demo files from v1 to v2: dry run first, then for real.
    with page.expect_navigation():
        page.click("section[data-process='file_approval'] a.migrate")
    page.select_option("#from", "1")
    page.select_option("#to", "2")
    with page.expect_navigation():
        page.click("#dry-run")
    rows = page.locator("#plan tbody tr")
    assert rows.count() == 2
    assert set(page.locator("#plan td.status").all_inner_texts()) == {"can move"}
    assert all(r.locator("td").nth(1).inner_text() == r.locator("td").nth(2).inner_text()
               for r in rows.all())  # each waiting step lands on the same step
    shot(page, "designer-migration-plan")
    page.click("#migrate")
    confirm(page)
    assert set(page.locator("#plan td.status").all_inner_texts()) == {"moved"}
    go(page, "Processes")
    assert running_counts(page, "file_approval") == {"v2": "2", "v1": "0"}


def test_a_label_still_being_typed_is_saved_on_deploy(page, server, demo):
    sign_in(page, "designer")
    page.goto("/designer/file_approval/1")
    page.wait_for_selector("#canvas[data-ready='1']")
    page.dblclick(".djs-element[data-element-id='closure']")
    page.locator(".djs-direct-editing-parent").wait_for(state="visible")
    page.keyboard.press("Control+A")
    page.keyboard.type("Closure and record")
    # straight to Deploy, without clicking away from the label first
    page.once("dialog", lambda d: d.accept())
    page.click("#deploy")
    wait_for_js(page, "document.getElementById('result').textContent.includes('version')")
    assert page.locator("#result").inner_text() == "Deployed as version 2."
    with demo.db.reader() as s:
        from sqlalchemy import select

        from engine.store.models import ProcessDefinition
        xml = s.scalar(select(ProcessDefinition.bpmn_xml).where(
            ProcessDefinition.process_id == "file_approval", ProcessDefinition.version == 2))
    assert 'name="Closure and record"' in xml


def test_deleting_the_approval_task_is_refused_naming_the_step(page, server):
    sign_in(page, "designer")
    page.goto("/designer/file_approval/1")
    page.wait_for_selector("#canvas[data-ready='1']")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.evaluate("""(() => { const m = window.sanchikaModeler;
        m.get('modeling').removeElements([m.get('elementRegistry').get('approval')]); })()""")
    page.click("#validate")
    page.wait_for_selector("#problems li")
    problems = page.locator("#problems li").all_inner_texts()
    assert any("step 'approval'" in p for p in problems), problems
    # the steps left without their approval are marked on the diagram
    assert page.locator(".djs-element.has-error[data-element-id='lock_file']").count() == 1
    page.once("dialog", lambda d: d.accept())
    page.click("#deploy")
    wait_for_js(page, "document.getElementById('result').textContent.includes('approval')")
    assert "step 'approval'" in page.locator("#result").inner_text()
    assert errors == []
