"""The graph checks (engine/bpm/graph.py) and process contracts (engine/bpm/contracts.py):
pure, on parsed XML, nothing executed."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

import handlers
from engine.bpm import contracts, graph
from engine.bpm.definitions import Definitions
from engine.errors import InvalidBpmn

PROCESSES = Path(__file__).resolve().parents[2] / "processes"
HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions '
        'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" '
        'targetNamespace="http://x">\n<bpmn:process id="p" isExecutable="true">\n')
TAIL = "</bpmn:process>\n</bpmn:definitions>\n"


def doc(body: str) -> etree._Element:
    return etree.fromstring((HEAD + body + TAIL).encode())


def flow(i: str, a: str, b: str) -> str:
    return f'<bpmn:sequenceFlow id="{i}" sourceRef="{a}" targetRef="{b}"/>\n'


LINE = ('<bpmn:startEvent id="s"/>\n<bpmn:userTask id="t" name="Task"/>\n'
        '<bpmn:endEvent id="e"/>\n' + flow("f1", "s", "t") + flow("f2", "t", "e"))


def messages(root: etree._Element) -> dict[str, str]:
    return {p.element.get("id"): p.message for p in graph.shape_problems(root)}


def test_a_straight_line_has_no_problems():
    assert messages(doc(LINE)) == {}


def test_a_loose_task_is_unreachable_and_named():
    found = messages(doc(LINE + '<bpmn:userTask id="loose" name="Loose"/>\n'))
    assert list(found) == ["loose"]
    assert "cannot be reached" in found["loose"]


def test_a_task_without_outgoing_flow_leads_nowhere():
    body = ('<bpmn:startEvent id="s"/>\n<bpmn:userTask id="t"/>\n' + flow("f1", "s", "t"))
    found = messages(doc(body))
    assert "leads nowhere" in found["t"]


def test_a_loop_with_no_way_out_never_ends():
    body = ('<bpmn:startEvent id="s"/>\n<bpmn:userTask id="a"/>\n<bpmn:userTask id="b"/>\n'
            + flow("f1", "s", "a") + flow("f2", "a", "b") + flow("f3", "b", "a"))
    found = messages(doc(body))
    assert set(found) == {"s", "a", "b"}
    assert "no path ever reaches an end" in found["a"]


def test_a_boundary_event_counts_as_a_way_on():
    body = ('<bpmn:startEvent id="s"/>\n<bpmn:userTask id="a"/>\n'
            '<bpmn:boundaryEvent id="b" attachedToRef="a"><bpmn:timerEventDefinition/>'
            '</bpmn:boundaryEvent>\n<bpmn:endEvent id="e"/>\n'
            + flow("f1", "s", "a") + flow("f2", "a", "a") + flow("f3", "b", "e"))
    assert messages(doc(body)) == {}


def test_a_compensation_handler_is_not_a_loose_task():
    body = LINE + ('<bpmn:boundaryEvent id="c" attachedToRef="t">'
                   '<bpmn:compensateEventDefinition/></bpmn:boundaryEvent>\n'
                   '<bpmn:task id="undo" isForCompensation="true"/>\n')
    assert messages(doc(body)) == {}


def test_a_sub_process_is_checked_inside():
    body = ('<bpmn:startEvent id="s"/>\n<bpmn:subProcess id="sp">'
            '<bpmn:startEvent id="s2"/><bpmn:task id="inner"/><bpmn:endEvent id="e2"/>'
            + flow("g1", "s2", "e2") + '</bpmn:subProcess>\n<bpmn:endEvent id="e"/>\n'
            + flow("f1", "s", "sp") + flow("f2", "sp", "e"))
    assert list(messages(doc(body))) == ["inner"]


def test_the_shipped_processes_pass():
    for path in PROCESSES.glob("*.bpmn"):
        assert graph.shape_problems(etree.fromstring(path.read_bytes())) == [], path.name


def _definitions() -> Definitions:
    return Definitions(handlers.registry.names(), 2 * 1024 * 1024, PROCESSES)


def _without(xml: bytes, element_id: str) -> bytes:
    """The document with the element, its flows and boundary events removed, as the
    modeler's delete does."""
    root = etree.fromstring(xml)
    for el in list(root.iter()):
        if element_id in (el.get("id"), el.get("attachedToRef"), el.get("sourceRef"),
                          el.get("targetRef"), el.get("bpmnElement")):
            el.getparent().remove(el)
    ids = {el.get("id") for el in root.iter()}
    for el in list(root.iter()):
        dangling = str(el.tag).endswith(("incoming", "outgoing")) and el.text not in ids
        if dangling:
            el.getparent().remove(el)
    return etree.tostring(root)


def test_file_approval_without_its_approval_step_is_refused_naming_it():
    xml = (PROCESSES / "file_approval.bpmn").read_bytes()
    with pytest.raises(InvalidBpmn) as caught:
        _definitions().check(_without(xml, "approval"))
    assert "step 'approval'" in caught.value.message
    first = caught.value.details[0]
    assert first["element_id"] == "file_approval"
    assert first["line"]


def test_the_contract_names_a_dropped_action_and_handler():
    xml = (PROCESSES / "file_approval.bpmn").read_bytes()
    xml = xml.replace(b'value="approve,reject,forward,return"', b'value="forward,return"')
    xml = xml.replace(b'camunda:topic="lock_file"', b'camunda:topic="notify"')
    with pytest.raises(InvalidBpmn) as caught:
        _definitions().check(xml)
    found = {(d["element_id"], d["message"]) for d in caught.value.details}
    assert ("approval", "step 'approval' must offer the action(s) approve, reject "
            "(the 'actions' property)") in found
    assert any(e == "lock_file" and "handler 'lock_file'" in m for e, m in found)


def test_a_disconnected_lock_step_is_refused():
    # approval's "approve" route goes straight to the notice: the lock is bypassed
    xml = (PROCESSES / "file_approval.bpmn").read_bytes().replace(
        b'sourceRef="approval_route" targetRef="lock_file"',
        b'sourceRef="approval_route" targetRef="notify_approved"')
    with pytest.raises(InvalidBpmn) as caught:
        _definitions().check(xml)
    messages_ = [d["message"] for d in caught.value.details]
    assert "step 'approval' must lead on to step 'lock_file', but no path connects them" \
        in messages_


def test_a_contract_is_read_from_toml():
    contract = contracts.parse("p", '[steps.t]\nkind = "user"\nactions = ["go"]\n')
    assert contract.steps[0].actions == ("go",)
    with pytest.raises(ValueError, match="kind"):
        contracts.parse("p", '[steps.t]\nkind = "script"\n')
    assert contracts.problems(contract, doc(LINE), {"tasks": {"t": {"actions": ["go"]}}}) == []
    missing = contracts.problems(contract, doc(LINE), {"tasks": {"t": {"actions": []}}})
    assert [p.message for p in missing] == [
        "step 't' must offer the action(s) go (the 'actions' property)"]
