"""Diagrams drawn in Camunda Modeler run as they say: candidate groups and users route a
step to a post's inbox, `${…}` conditions route a gateway, unknown posts and unhonoured
attributes are refused at deploy with element and line, and a chain as long as the
engine allows runs to its end."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from sqlalchemy import func, select

from engine.bpm.shape import MAX_PATH_STEPS
from engine.errors import InvalidBpmn, InvalidInput
from engine.store.models import Instance, OpenTask, ProcessDefinition

HEADER = '''<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  id="defs" targetNamespace="http://bpmn.io/schema/bpmn" exporter="Camunda Modeler">
'''


def one_step(pid: str, task: str) -> bytes:
    return (HEADER + f'''  <bpmn:process id="{pid}" isExecutable="true"
    camunda:historyTimeToLive="180">
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work" />
{task}
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end" />
    <bpmn:endEvent id="end" />
  </bpmn:process>
</bpmn:definitions>
''').encode()


AMOUNT_ROUTE = (HEADER + '''  <bpmn:process id="expense" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="route" />
    <bpmn:exclusiveGateway id="route" default="to_so" />
    <bpmn:sequenceFlow id="to_us" sourceRef="route" targetRef="us_review">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">
        ${amount &gt; 1000 &amp;&amp; !waived}
      </bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="to_so" sourceRef="route" targetRef="so_review" />
    <bpmn:userTask id="us_review" name="Review (large)" camunda:candidateGroups="GAD-EST-US" />
    <bpmn:userTask id="so_review" name="Review" camunda:candidateUsers="so" />
    <bpmn:sequenceFlow id="f3" sourceRef="us_review" targetRef="end" />
    <bpmn:sequenceFlow id="f4" sourceRef="so_review" targetRef="end" />
    <bpmn:endEvent id="end" />
  </bpmn:process>
</bpmn:definitions>
''').encode()


def start(service, process_id: str, data: dict[str, Any]) -> tuple[int, list[OpenTask]]:
    with service.command() as s:
        instance, result = service.runtime.start(s, process_id, data, actor=None,
                                                 subject_kind=None, subject_id=None)
        return instance.id, list(result.opened)


def open_tasks(service, instance_id: int) -> list[OpenTask]:
    with service.db.reader() as s:
        return list(s.scalars(select(OpenTask).where(OpenTask.instance_id == instance_id,
                                                     OpenTask.closed_at.is_(None))))


def definitions(service) -> int:
    with service.db.reader() as s:
        return s.scalar(select(func.count(ProcessDefinition.id)))


def test_candidate_group_routes_the_step_to_that_posts_inbox(service, users):
    service.deploy(one_step("group_step", '    <bpmn:userTask id="work" name="Check" '
                            'camunda:candidateGroups="GAD-EST-SO" />'), None)
    instance_id, _ = start(service, "group_step", {})
    [task] = open_tasks(service, instance_id)
    assert task.post_id == users["so"].post_id
    assert any(t["id"] == task.id for t in service.inbox(users["so"]))
    assert not any(t["id"] == task.id for t in service.inbox(users["clerk"]))


def test_candidate_user_routes_the_step_to_that_users_post(service, users):
    service.deploy(one_step("user_step", '    <bpmn:userTask id="work" '
                            'camunda:candidateUsers="us" />'), None)
    instance_id, _ = start(service, "user_step", {})
    [task] = open_tasks(service, instance_id)
    assert task.post_id == users["us"].post_id


def test_juel_amount_condition_routes_the_gateway(service, users):
    service.deploy(AMOUNT_ROUTE, None)
    big, _ = start(service, "expense", {"amount": 5000, "waived": False})
    small, _ = start(service, "expense", {"amount": 500, "waived": False})
    waived, _ = start(service, "expense", {"amount": 5000, "waived": True})
    [big_task] = open_tasks(service, big)
    [small_task] = open_tasks(service, small)
    [waived_task] = open_tasks(service, waived)
    assert (big_task.task_spec, big_task.post_id) == ("us_review", users["us"].post_id)
    assert (small_task.task_spec, small_task.post_id) == ("so_review", users["so"].post_id)
    assert waived_task.task_spec == "so_review"
    # the routed step is acted on like any other, and the process ends
    with service.command(users["us"]) as s:
        row = s.get(OpenTask, big_task.id)
        service.runtime.complete(s, row, {"action": "complete"}, actor=users["us"])
    with service.db.reader() as s:
        assert s.get(Instance, big).status == "completed"


def test_assignee_expression_giving_a_username_routes_to_that_users_post(service, users):
    service.deploy(one_step("juel_assignee", '    <bpmn:userTask id="work" '
                            'camunda:assignee="${approver}" />'), None)
    instance_id, _ = start(service, "juel_assignee", {"approver": "us"})
    [task] = open_tasks(service, instance_id)
    assert task.post_id == users["us"].post_id
    with pytest.raises(InvalidInput, match="'nobody', who does not exist"):
        start(service, "juel_assignee", {"approver": "nobody"})


@pytest.mark.parametrize(("attrs", "says"), [
    ('camunda:candidateGroups="NO-SUCH-POST"', "no post has the code 'NO-SUCH-POST'"),
    ('camunda:candidateUsers="ghost"', "no active user 'ghost'"),
])
def test_unknown_post_or_user_is_refused_at_deploy_and_validate(service, users, attrs, says):
    xml = one_step("unknown_names", f'    <bpmn:userTask id="work" {attrs} />')
    before = definitions(service)
    with pytest.raises(InvalidBpmn) as info:
        service.deploy(xml, None)
    assert definitions(service) == before
    [detail] = info.value.details
    assert (detail["element_id"], detail["line"]) == ("work", 10)
    assert says in detail["message"]
    assert says in info.value.message
    assert service.validate_bpmn(users["admin"], xml) == [detail]


def test_form_key_is_refused_at_deploy_with_element_and_line(service):
    xml = one_step("form_step", '    <bpmn:userTask id="work" '
                   'camunda:formKey="camunda-forms:deployment:form.form" />')
    with pytest.raises(InvalidBpmn) as info:
        service.deploy(xml, None)
    [detail] = info.value.details
    assert (detail["element_id"], detail["line"]) == ("work", 10)
    assert "camunda:formKey: forms are not supported" in detail["message"]


def test_a_chain_as_long_as_allowed_runs_to_its_end(service, users):
    """The longest chain the deploy check lets through runs through the real runtime:
    engine steps all the way, a step routed by post code, then the end."""
    n = MAX_PATH_STEPS - 3  # start, the user task and the end make up the rest
    steps = "".join(
        f'<bpmn:intermediateThrowEvent id="t{i}" />\n<bpmn:sequenceFlow id="f{i}" '
        f'sourceRef="{"s" if i == 0 else f"t{i - 1}"}" targetRef="t{i}" />\n'
        for i in range(n))
    xml = (HEADER + '<bpmn:process id="long_chain" isExecutable="true">\n'
           '<bpmn:startEvent id="s" />\n' + steps
           + f'<bpmn:sequenceFlow id="fu" sourceRef="t{n - 1}" targetRef="last" />\n'
           '<bpmn:userTask id="last" camunda:candidateGroups="GAD-EST-SO" />\n'
           '<bpmn:sequenceFlow id="fe" sourceRef="last" targetRef="e" />\n'
           '<bpmn:endEvent id="e" />\n</bpmn:process>\n</bpmn:definitions>\n').encode()
    service.deploy(xml, None)
    instance_id, _ = start(service, "long_chain", {})
    [task] = open_tasks(service, instance_id)
    assert (task.task_spec, task.post_id) == ("last", users["so"].post_id)
    with service.command(users["so"]) as s:
        service.runtime.complete(s, s.get(OpenTask, task.id), {}, actor=users["so"])
    with service.db.reader() as s:
        assert s.get(Instance, instance_id).status == "completed"


def test_versions_deployed_before_these_checks_still_run(service, users):
    """A version stored when camunda:formKey and candidate lists were accepted (and
    ignored) keeps running as it did: the new checks refuse new deployments only."""
    xml = one_step("earlier", '    <bpmn:userTask id="work" camunda:formKey="form.html" '
                   'camunda:candidateGroups="A,B" />')
    with pytest.raises(InvalidBpmn):
        service.deploy(xml, None)
    meta = {"process_id": "earlier", "timers": [], "tasks": {"work": {
        "kind": "user", "name": "work", "assignee": "holder_post", "actions": ["complete"]}}}
    with service.command() as s:
        s.add(ProcessDefinition(process_id="earlier", version=1,
                                content_hash=hashlib.sha256(xml).hexdigest(),
                                bpmn_xml=xml.decode(), meta=meta, deployed_by="earlier"))
    instance_id, _ = start(service, "earlier", {"holder_post": users["so"].post_id})
    [task] = open_tasks(service, instance_id)
    assert task.post_id == users["so"].post_id


def test_a_chain_past_the_limit_runs_when_split_into_sub_processes(service, users):
    """The refusal's advice works: 2 sub-processes of 250 steps (500 in all)."""
    def sub(k: int, n: int) -> str:
        steps = "".join(
            f'<bpmn:intermediateThrowEvent id="t{k}_{i}" /><bpmn:sequenceFlow id="f{k}_{i}" '
            f'sourceRef="{f"s{k}" if i == 0 else f"t{k}_{i - 1}"}" targetRef="t{k}_{i}" />\n'
            for i in range(n))
        return (f'<bpmn:subProcess id="sp{k}"><bpmn:startEvent id="s{k}" />\n{steps}'
                f'<bpmn:endEvent id="e{k}" /><bpmn:sequenceFlow id="fe{k}" '
                f'sourceRef="t{k}_{n - 1}" targetRef="e{k}" /></bpmn:subProcess>\n')
    n = 250
    assert 2 * n > MAX_PATH_STEPS
    xml = (HEADER + '<bpmn:process id="split_chain" isExecutable="true">\n'
           '<bpmn:startEvent id="s" />\n' + sub(0, n) + sub(1, n)
           + '<bpmn:sequenceFlow id="c0" sourceRef="s" targetRef="sp0" />\n'
           '<bpmn:sequenceFlow id="c1" sourceRef="sp0" targetRef="sp1" />\n'
           '<bpmn:sequenceFlow id="c2" sourceRef="sp1" targetRef="last" />\n'
           '<bpmn:userTask id="last" camunda:candidateUsers="so" />\n'
           '<bpmn:sequenceFlow id="c3" sourceRef="last" targetRef="e" />\n'
           '<bpmn:endEvent id="e" />\n</bpmn:process>\n</bpmn:definitions>\n').encode()
    service.deploy(xml, None)
    instance_id, _ = start(service, "split_chain", {})
    [task] = open_tasks(service, instance_id)
    assert (task.task_spec, task.post_id) == ("last", users["so"].post_id)
