"""Camunda Modeler diagrams mean what they say: every camunda: attribute is honoured or
refused with its element and line, JUEL is translated, long chains and data stores are
refused where they are drawn, and the parser does not recurse per element."""

from __future__ import annotations

import json
import re
import sys
import time

import pytest
from lxml import etree
from SpiffWorkflow.bpmn.parser import BpmnParser
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer

from engine.app import PROCESS_DIR
from engine.bpm.flat_parser import FlatBpmnParser
from engine.bpm.reader import read_bpmn
from engine.bpm.shape import MAX_PATH_STEPS
from engine.errors import InvalidBpmn

TASK_LINE = 10
HANDLERS = {"notify", "lock_file", "escalate", "put_in_file", "reopen_file"}
HEADER = '''<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
  xmlns:zeebe="http://camunda.org/schema/zeebe/1.0"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  id="defs" targetNamespace="http://bpmn.io/schema/bpmn">
'''


def one_task(task: str, process_attrs: str = "") -> bytes:
    """start -> (the task, id "work") -> end; the task is on line TASK_LINE."""
    return (HEADER + f'''<bpmn:process id="p" isExecutable="true" {process_attrs}>
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work" />
{task}
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end" />
    <bpmn:endEvent id="end" />
  </bpmn:process>
</bpmn:definitions>
''').encode()


def chain(n: int, kind: str = "intermediateThrowEvent") -> bytes:
    steps = "".join(f'<bpmn:{kind} id="t{i}" />\n<bpmn:sequenceFlow id="f{i}" '
                    f'sourceRef="{"s" if i == 0 else f"t{i - 1}"}" targetRef="t{i}" />\n'
                    for i in range(n))
    return (HEADER + '<bpmn:process id="chain" isExecutable="true">\n<bpmn:startEvent id="s" />\n'
            + steps + f'<bpmn:endEvent id="e" />\n<bpmn:sequenceFlow id="fe" '
            f'sourceRef="t{n - 1}" targetRef="e" />\n</bpmn:process>\n</bpmn:definitions>\n'
            ).encode()


def read(xml: bytes):
    return read_bpmn(xml, HANDLERS, 10_000_000)


def refusal(xml: bytes) -> list[dict]:
    with pytest.raises(InvalidBpmn) as info:
        read(xml)
    for detail in info.value.details:
        assert detail["element_id"], detail
        assert isinstance(detail["line"], int), detail
        assert "Error(" not in detail["message"], detail
    return info.value.details


def line_of(xml: bytes, text: str) -> int:
    return xml.decode().splitlines().index(next(
        ln for ln in xml.decode().splitlines() if text in ln)) + 1


# ------------------------------------------------------------------ user tasks


def test_candidate_groups_and_users_name_one_post_or_user():
    read_group = read(one_task('<bpmn:userTask id="work" camunda:candidateGroups="GAD-EST-SO"/>'))
    assert read_group.meta["tasks"]["work"]["post_code"] == "GAD-EST-SO"
    assert read_group.routed == [
        {"element_id": "work", "line": TASK_LINE, "post_code": "GAD-EST-SO"}]
    read_user = read(one_task('<bpmn:userTask id="work" camunda:candidateUsers=" so "/>'))
    assert read_user.meta["tasks"]["work"]["username"] == "so"


@pytest.mark.parametrize(("attrs", "says"), [
    ('camunda:candidateGroups="A,B"', "names 2 post codes (A, B)"),
    ('camunda:candidateUsers="a, b"', "names 2 usernames"),
    ('camunda:candidateGroups="A" camunda:candidateUsers="b"', "not both"),
    ('camunda:assignee="holder_post" camunda:candidateGroups="A"', "not both"),
    ('camunda:candidateGroups="${group}"', "expressions are not supported here"),
])
def test_candidates_sanchika_cannot_honour_are_refused(attrs, says):
    [detail] = refusal(one_task(f'<bpmn:userTask id="work" {attrs}/>'))
    assert detail["element_id"] == "work"
    assert detail["line"] == TASK_LINE
    assert says in detail["message"]


@pytest.mark.parametrize(("task", "says"), [
    ('<bpmn:userTask id="work" camunda:formKey="embedded:app:forms/x.html"/>',
     "forms are not supported"),
    ('<bpmn:userTask id="work" camunda:formRef="f1"/>', "forms are not supported"),
    ('<bpmn:userTask id="work" camunda:dueDate="${due}"/>', "SLA rules"),
    ('<bpmn:userTask id="work" camunda:priority="50"/>', "priority"),
    ('<bpmn:userTask id="work" camunda:asyncBefore="true"/>', "asynchronous"),
    ('<bpmn:serviceTask id="work" camunda:class="org.x.Y"/>', "Java classes"),
    ('<bpmn:serviceTask id="work" camunda:expression="${x.y()}"/>', "Java classes"),
    ('<bpmn:serviceTask id="work" camunda:type="connector" camunda:topic="notify"/>',
     'camunda:type="connector" is not supported'),
    ('<bpmn:scriptTask id="work" scriptFormat="python" camunda:resultVariable="r">'
     '<bpmn:script>r = 1</bpmn:script></bpmn:scriptTask>', "result variables"),
    ('<bpmn:userTask id="work" camunda:somethingNew="1"/>',
     "camunda:somethingNew is not supported by Sanchika on a userTask"),
    ('<bpmn:userTask id="work" zeebe:formKey="x"/>', "Camunda 8"),
])
def test_unhonoured_attributes_are_refused_with_element_and_line(task, says):
    details = refusal(one_task(task))
    assert any(d["element_id"] == "work" and d["line"] == TASK_LINE and says in d["message"]
               for d in details), details


@pytest.mark.parametrize(("extension", "says"), [
    ('<camunda:taskListener event="create" class="x.Y"/>', "listeners"),
    ('<camunda:executionListener event="start" expression="${x}"/>', "listeners"),
    ('<camunda:formData><camunda:formField id="a" type="string"/></camunda:formData>', "forms"),
    ('<camunda:inputOutput><camunda:inputParameter name="a">1</camunda:inputParameter>'
     '</camunda:inputOutput>', "input/output"),
    ('<camunda:failedJobRetryTimeCycle>R3/PT5M</camunda:failedJobRetryTimeCycle>',
     "camunda:failedJobRetryTimeCycle is not supported"),
])
def test_unhonoured_extension_elements_are_refused(extension, says):
    xml = one_task(f'<bpmn:userTask id="work"><bpmn:extensionElements>\n{extension}\n'
                   '</bpmn:extensionElements></bpmn:userTask>')
    details = refusal(xml)
    assert details[0]["element_id"] == "work"
    assert details[0]["line"] == TASK_LINE + 1  # the extension's own line
    assert says in details[0]["message"]


def test_what_camunda_modeler_writes_on_every_diagram_is_accepted():
    xml = one_task('<bpmn:userTask id="work" camunda:asyncBefore="false" camunda:exclusive="true"'
                   ' camunda:modelerTemplate="t"><bpmn:extensionElements><camunda:properties>'
                   '<camunda:property name="actions" value="approve,reject"/>'
                   '</camunda:properties></bpmn:extensionElements></bpmn:userTask>',
                   'camunda:historyTimeToLive="180" camunda:versionTag="1.0" '
                   'camunda:isStartableInTasklist="true"')
    assert read(xml).meta["tasks"]["work"]["actions"] == ["approve", "reject"]


def test_shipped_processes_still_read():
    for path in PROCESS_DIR.glob("*.bpmn"):
        read(path.read_bytes())


# ------------------------------------------------------------------ expressions


def gateway(condition: str) -> bytes:
    return (HEADER + f'''<bpmn:process id="g" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="route" />
    <bpmn:exclusiveGateway id="route" default="small" />
    <bpmn:sequenceFlow id="big" sourceRef="route" targetRef="end">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{condition}
      </bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="small" sourceRef="route" targetRef="end" />
    <bpmn:endEvent id="end" />
  </bpmn:process>
</bpmn:definitions>
''').encode()


def test_juel_condition_becomes_the_restricted_expression():
    spec = read(gateway("${amount &gt; 1000 &amp;&amp; !rejected}")).spec
    [(condition, target)] = spec.task_specs["route"].cond_task_specs[:1]
    assert condition.args[0] == "((amount > 1000) and (not rejected))"
    assert target == "end"


def test_juel_outside_the_subset_is_refused_once_with_flow_and_line():
    xml = gateway("${execution.getVariable('amount') &gt; 5}")
    [detail] = refusal(xml)
    assert detail["element_id"] == "big"
    assert detail["line"] == line_of(xml, "conditionExpression")
    assert "calling 'getVariable' (a method) is not supported" in detail["message"]


def test_juel_assignee_is_translated():
    task = read(one_task('<bpmn:userTask id="work" camunda:assignee="${approver}"/>'))
    assert task.meta["tasks"]["work"]["assignee"] == "approver"


def test_bare_iso_timer_values_are_read_as_camunda_writes_them():
    for value in ("PT5M", "P1DT2H", "R3/PT1H", "2027-01-26T10:00:00+05:30", "2027-01-26"):
        xml = one_task(f'''<bpmn:intermediateCatchEvent id="work">
      <bpmn:timerEventDefinition id="td">
        <bpmn:timeDuration xsi:type="bpmn:tFormalExpression">{value}</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>''')
        spec = read(xml).spec
        assert spec.task_specs["work"].event_definition.expression == repr(value)


# ------------------------------------------------------------------ shape


def test_data_store_is_refused_with_its_line():
    xml = (HEADER + '''<bpmn:dataStore id="store" name="Ledger" />
<bpmn:process id="p" isExecutable="true">
  <bpmn:startEvent id="start" />
  <bpmn:dataStoreReference id="store_ref" dataStoreRef="store" />
  <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="end" />
  <bpmn:endEvent id="end" />
</bpmn:process>
</bpmn:definitions>
''').encode()
    details = refusal(xml)
    assert [(d["element_id"], d["line"]) for d in details] == [("store", 7), ("store_ref", 10)]
    assert "data stores are not supported" in details[0]["message"]


def test_a_3000_task_chain_is_refused_plainly_and_fast():
    start = time.perf_counter()
    details = refusal(chain(3000, "task"))
    assert time.perf_counter() - start < 10
    [detail] = details
    assert detail["element_id"] == f"t{MAX_PATH_STEPS - 1}"
    assert detail["line"] == 9 + 2 * (MAX_PATH_STEPS - 1)
    assert f"step {MAX_PATH_STEPS + 1} of a chain of 3002 steps" in detail["message"]
    assert "sub-processes" in detail["message"]
    assert "Recursion" not in detail["message"]


def test_a_chain_at_the_limit_reads():
    assert read(chain(MAX_PATH_STEPS - 2)).process_id == "chain"


def test_a_loop_does_not_count_as_a_long_chain():
    xml = (HEADER + '''<bpmn:process id="loop" isExecutable="true">
  <bpmn:startEvent id="s" />
  <bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="a" />
  <bpmn:userTask id="a" />
  <bpmn:sequenceFlow id="f1" sourceRef="a" targetRef="g" />
  <bpmn:exclusiveGateway id="g" default="f3" />
  <bpmn:sequenceFlow id="f2" sourceRef="g" targetRef="a">
    <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">again</bpmn:conditionExpression>
  </bpmn:sequenceFlow>
  <bpmn:sequenceFlow id="f3" sourceRef="g" targetRef="e" />
  <bpmn:endEvent id="e" />
</bpmn:process>
</bpmn:definitions>
''').encode()
    read(xml)


# ------------------------------------------------------------------ the parser


def _spec_json(parser_class: type[BpmnParser], xml: bytes, process_id: str) -> str:
    parser = parser_class(validator=None)
    parser.add_bpmn_xml(etree.fromstring(xml), filename="x.bpmn")
    registry = BpmnWorkflowSerializer.configure()
    spec = parser.get_spec(process_id)
    subprocesses = parser.get_subprocess_specs(process_id)
    text = json.dumps([registry.convert(spec),
                       {k: registry.convert(v) for k, v in subprocesses.items()}], default=str)
    return re.sub("0x[0-9a-f]+", "", text)  # reprs of objects the registry does not know


def test_flat_parser_builds_the_same_specs_as_spiffworkflow():
    for path in PROCESS_DIR.glob("*.bpmn"):
        xml = path.read_bytes()
        pid = path.stem
        assert _spec_json(FlatBpmnParser, xml, pid) == _spec_json(BpmnParser, xml, pid), path


def test_flat_parser_does_not_recurse_per_element():
    xml = chain(3000)
    with pytest.raises(Exception, match="RecursionError"):
        _spec_json(BpmnParser, xml, "chain")  # what SpiffWorkflow's own parser does
    depth = sys.getrecursionlimit()
    parser = FlatBpmnParser(validator=None)
    parser.add_bpmn_xml(etree.fromstring(xml), filename="x.bpmn")
    spec = parser.get_spec("chain")
    assert len(spec.task_specs) > 3000
    assert sys.getrecursionlimit() == depth  # no limit raised to get there


def test_call_activity_to_a_missing_process_names_the_call_activity():
    xml = one_task('<bpmn:callActivity id="work" calledElement="elsewhere" />')
    [detail] = refusal(xml)
    assert (detail["element_id"], detail["line"]) == ("work", TASK_LINE)
    assert "calls the process 'elsewhere', which is not in this document" in detail["message"]


def test_a_refusal_from_the_engine_without_an_element_points_at_the_process(monkeypatch):
    from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException

    def fail(*_args, **_kwargs):
        raise ValidationException("something the engine does not place")

    monkeypatch.setattr(FlatBpmnParser, "get_spec", fail)
    [detail] = refusal(one_task('<bpmn:userTask id="work" />'))
    assert (detail["element_id"], detail["line"]) == ("p", TASK_LINE - 3)


@pytest.mark.parametrize(("task", "says"), [
    ('<bpmn:scriptTask id="work" scriptFormat="groovy"><bpmn:script>x = 1</bpmn:script>'
     '</bpmn:scriptTask>', "scriptFormat 'groovy': scripts run as Python"),
    ('<bpmn:scriptTask id="work" scriptFormat="javascript"><bpmn:script>x = 1</bpmn:script>'
     '</bpmn:scriptTask>', "scriptFormat 'javascript'"),
])
def test_scripts_in_other_languages_are_refused(task, says):
    [detail] = refusal(one_task(task))
    assert (detail["element_id"], detail["line"]) == ("work", TASK_LINE)
    assert says in detail["message"]


def test_python_scripts_and_conditions_in_another_language():
    read(one_task('<bpmn:scriptTask id="work" scriptFormat="python"><bpmn:script>x = 1'
                  '</bpmn:script></bpmn:scriptTask>'))
    xml = gateway("amount > 1").replace(b'xsi:type="bpmn:tFormalExpression"',
                                        b'xsi:type="bpmn:tFormalExpression" language="groovy"')
    [detail] = refusal(xml)
    assert detail["element_id"] == "big"
    assert "conditionExpression language 'groovy'" in detail["message"]


def test_the_copied_spiffworkflow_methods_are_unchanged():
    from engine.bpm import flat_parser
    assert flat_parser.copied_fingerprint() == flat_parser.COPIED_FINGERPRINT, (
        "SpiffWorkflow changed ProcessParser.parse_node, TaskParser.parse_node or "
        "TaskParser._add_boundary_event: copy the change into engine/bpm/flat_parser.py, "
        "then update COPIED_FINGERPRINT")


@pytest.mark.parametrize("task", [
    '<bpmn:userTask id="work" bogus="1"/>',
    '<bpmn:userTask id="work"><bpmn:nonsense/></bpmn:userTask>',
])
def test_schema_errors_name_the_element(task):
    [detail] = refusal(one_task(task))
    assert (detail["element_id"], detail["line"]) == ("work", TASK_LINE)
    assert detail["message"].startswith("not valid BPMN")


def test_delegate_expression_names_a_handler_as_camunda_names_a_bean():
    for delegate in ("notify", "${notify}", "#{ notify }"):
        task = f'<bpmn:serviceTask id="work" camunda:delegateExpression="{delegate}"/>'
        assert read(one_task(task)).meta["tasks"]["work"]["handler"] == "notify"
    [detail] = refusal(one_task('<bpmn:serviceTask id="work" '
                                'camunda:delegateExpression="${beans.notify}"/>'))
    assert "unknown handler '${beans.notify}'" in detail["message"]


def test_python_condition_with_a_dollar_brace_string_stays_python():
    spec = read(gateway("remark == '${x}'")).spec
    [(condition, _target)] = spec.task_specs["route"].cond_task_specs[:1]
    assert condition.args[0].strip() == "remark == '${x}'"
