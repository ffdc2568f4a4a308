"""Deploying BPMN: every kind of bad document is refused with element id and line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine.app import PROCESS_DIR
from engine.errors import InvalidBpmn
from engine.store.models import Instance, ProcessDefinition, User
from tests import cli

GOOD = (PROCESS_DIR / "file_approval.bpmn").read_bytes()
HEADER = b'''<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  id="defs" targetNamespace="http://bpmn.io/schema/bpmn">
'''


def process(body: str, pid: str = "tiny") -> bytes:
    return HEADER + f'''  <bpmn:process id="{pid}" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work" />
{body}
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end" />
    <bpmn:endEvent id="end" />
  </bpmn:process>
</bpmn:definitions>
'''.encode()


def count(service) -> int:
    with service.db.reader() as s:
        return s.scalar(select(func.count(ProcessDefinition.id)))


def refused(service, xml: bytes) -> InvalidBpmn:
    before = count(service)
    with pytest.raises(InvalidBpmn) as info:
        service.deploy(xml, None)
    assert count(service) == before, "a refused document must not be stored"
    for detail in info.value.details:
        assert set(detail) == {"element_id", "line", "message"}
        assert "Error(" not in detail["message"]
        assert "<" not in detail["message"][:1]
    return info.value


def test_malformed_xml_names_the_line(service):
    err = refused(service, b'<?xml version="1.0"?>\n<bpmn:definitions>\n  <unclosed>\n')
    assert err.details[0]["line"] is not None
    assert "malformed XML" in err.message


def test_external_entity_is_refused(service, tmp_path: Path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET")
    xml = (b'<?xml version="1.0"?>\n<!DOCTYPE d [<!ENTITY x SYSTEM "file://'
           + str(secret).encode() + b'">]>\n' + HEADER.split(b"\n", 1)[1]
           + b'<bpmn:process id="p"><bpmn:documentation>&x;</bpmn:documentation>'
           + b'</bpmn:process></bpmn:definitions>')
    err = refused(service, xml)
    assert "DOCTYPE" in err.message
    assert "TOP SECRET" not in json.dumps(err.details)


def test_billion_laughs_is_refused(service):
    xml = (b'<?xml version="1.0"?>\n<!DOCTYPE d [<!ENTITY a "aaaaaaaaaa">'
           b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>\n<d>&b;</d>')
    refused(service, xml)


def test_unknown_handler_names_element_and_line(service):
    xml = process('    <bpmn:serviceTask id="work" camunda:type="external" '
                  'camunda:topic="format_disk" />')
    err = refused(service, xml)
    detail = err.details[0]
    assert detail["element_id"] == "work"
    assert detail["line"] == 9
    assert "unknown handler 'format_disk'" in detail["message"]


def test_script_importing_os_is_refused(service):
    xml = process('''    <bpmn:scriptTask id="work">
      <bpmn:script>x = 1
y = __import__('os').system('touch /tmp/pwned')</bpmn:script>
    </bpmn:scriptTask>''')
    err = refused(service, xml)
    assert any(d["element_id"] == "work" and d["line"] == 11 for d in err.details), err.details
    assert any("__import__" in d["message"] for d in err.details)


def test_condition_reaching_dunders_is_refused(service):
    bad = GOOD.replace(b"action == 'approve'", b"().__class__.__bases__ == ()")
    err = refused(service, bad)
    assert any(d["element_id"] == "flow_approve" for d in err.details), err.details


def test_not_bpmn_at_all(service):
    err = refused(service, b"<html><body>hello</body></html>")
    assert "BPMN" in err.message


def test_schema_violation(service):
    err = refused(service, process('    <bpmn:userTask id="work" bogus="1"><bpmn:nonsense/>'
                                   '</bpmn:userTask>'))
    assert err.details[0]["line"] == 9


def test_size_limit(service):
    err = refused(service, GOOD + b"<!--" + b"x" * service.settings.max_bpmn_bytes + b"-->")
    assert "limit" in err.message


def test_deploy_versions_and_parse_once(service, demo):
    before = service.definitions.parse_count
    changed = GOOD.replace(b'name="Noting"', b'name="Noting (v2)"')
    definition, created = service.deploy(changed, None)
    assert created
    assert definition.version == 2
    again, created_again = service.deploy(changed, None)
    assert not created_again
    assert again.version == 2
    assert service.definitions.parse_count == before + 1
    with service.db.reader() as s:
        clerk = s.scalar(select(User).where(User.username == "clerk"))
    f = service.open_file(clerk, "On version two", "11012")
    assert f["tasks"][0]["name"] == "Noting (v2)"
    with service.db.reader() as s:
        versions = dict(s.execute(
            select(Instance.id, ProcessDefinition.version)
            .join(ProcessDefinition, ProcessDefinition.id == Instance.definition_id)).all())
    assert 1 in versions.values()
    assert 2 in versions.values()
    # Loading and acting on many instances does not parse again.
    service.inbox(clerk)
    assert service.definitions.parse_count == before + 1


def test_cli_deploy_reports_errors(settings, service, tmp_path: Path):
    bad = tmp_path / "bad.bpmn"
    bad.write_bytes(process('    <bpmn:serviceTask id="work" camunda:type="external" '
                            'camunda:topic="nope" />'))
    run = cli.run(settings, "deploy", str(bad))
    assert run.returncode == 1
    assert "line 9 element work: unknown handler 'nope'" in run.stderr
    good = tmp_path / "good.bpmn"
    good.write_bytes(GOOD.replace(b'name="Closure"', b'name="Closure v2"'))
    run = cli.run(settings, "deploy", str(good))
    assert run.returncode == 0, run.stderr
    assert "version 2" in run.stdout


def test_api_deploy_422_with_details(api):
    bad = process('    <bpmn:serviceTask id="work" camunda:type="external" camunda:topic="x" />')
    r = api.post("/process-definitions", "designer", data=bad,
                 headers={"Content-Type": "application/xml"})
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["details"][0]["element_id"] == "work"
    assert err["details"][0]["line"] == 9
    r = api.post("/process-definitions", "clerk", data=GOOD,
                 headers={"Content-Type": "application/xml"})
    assert r.status_code == 403
    changed = GOOD.replace(b'name="Approval"', b'name="Approval v2"')
    r = api.post("/process-definitions", "designer", data=changed,
                 headers={"Content-Type": "application/xml"})
    assert r.status_code == 201
    assert r.json() == {**r.json(), "process_id": "file_approval",
                                                  "version": 2}
