"""The runtime's one walk of the task tree (engine/bpm/runtime.py `TaskScan`) must find
exactly what SpiffWorkflow's `get_tasks` finds, in the same order: the open-task rows, the
timer rows and the history events are written in that order."""

from __future__ import annotations

from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.parser import BpmnParser
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.util.task import TaskState

from engine.bpm.runtime import TaskScan
from tests.unit.test_golden_state import _load


def _same(workflow: Any) -> None:
    scan = TaskScan.of(workflow)
    assert scan.ready_manual == workflow.get_tasks(state=TaskState.READY, manual=True)
    assert scan.started == workflow.get_tasks(state=TaskState.STARTED)
    assert scan.timers == [
        t for t in workflow.get_tasks(state=TaskState.WAITING)
        if isinstance(getattr(t.task_spec, "event_definition", None), TimerEventDefinition)]


def test_scan_matches_get_tasks_at_every_step() -> None:
    read, workflow = _load()
    meta = read.meta["tasks"]
    _same(workflow)
    assert [t.task_spec.name for t in TaskScan.of(workflow).timers] == ["noting_sla_timer"]
    seen_started = False
    for spec, data in (("noting", {"action": "forward", "holder_post": 6,
                                   "to_approver": True}),
                       ("approval", {"action": "approve"}),
                       ("closure", {"action": "close", "record_category": "C"})):
        [task] = TaskScan.of(workflow).ready_manual
        assert task.task_spec.name == spec
        task.data.update(data)
        task.run()
        while True:
            workflow.do_engine_steps()
            _same(workflow)
            started = [t for t in TaskScan.of(workflow).started
                       if meta.get(t.task_spec.name, {}).get("kind") == "service"]
            if not started:
                break
            seen_started = True
            for t in started:
                t.complete()
    assert seen_started  # the walk was checked with service tasks waiting too
    assert workflow.is_completed()
    _same(workflow)


NESTED = b'''<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  id="defs" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="nested" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="split" />
    <bpmn:parallelGateway id="split" />
    <bpmn:sequenceFlow id="f1" sourceRef="split" targetRef="sub" />
    <bpmn:sequenceFlow id="f2" sourceRef="split" targetRef="outer" />
    <bpmn:subProcess id="sub">
      <bpmn:startEvent id="s_start" />
      <bpmn:sequenceFlow id="s1" sourceRef="s_start" targetRef="inner" />
      <bpmn:userTask id="inner" name="Inner" />
      <bpmn:boundaryEvent id="inner_timer" attachedToRef="inner" cancelActivity="false">
        <bpmn:timerEventDefinition>
          <bpmn:timeDuration>"PT1H"</bpmn:timeDuration>
        </bpmn:timerEventDefinition>
      </bpmn:boundaryEvent>
      <bpmn:sequenceFlow id="s2" sourceRef="inner" targetRef="s_end" />
      <bpmn:endEvent id="s_end" />
    </bpmn:subProcess>
    <bpmn:userTask id="outer" name="Outer" />
    <bpmn:sequenceFlow id="f3" sourceRef="sub" targetRef="join" />
    <bpmn:sequenceFlow id="f4" sourceRef="outer" targetRef="join" />
    <bpmn:parallelGateway id="join" />
    <bpmn:sequenceFlow id="f5" sourceRef="join" targetRef="end" />
    <bpmn:endEvent id="end" />
  </bpmn:process>
</bpmn:definitions>
'''


def test_scan_descends_into_sub_processes_as_get_tasks_does() -> None:
    parser = BpmnParser()
    parser.add_bpmn_xml(etree.fromstring(NESTED))
    workflow = BpmnWorkflow(parser.get_spec("nested"), parser.get_subprocess_specs("nested"))
    workflow.do_engine_steps()
    _same(workflow)
    scan = TaskScan.of(workflow)
    assert sorted(t.task_spec.name for t in scan.ready_manual) == ["inner", "outer"]
    assert [t.task_spec.name for t in scan.timers] == ["inner_timer"]
    assert scan.started  # the sub-process task waits STARTED while its tree runs
    for name in ("inner", "outer"):
        [task] = [t for t in TaskScan.of(workflow).ready_manual if t.task_spec.name == name]
        task.run()
        workflow.do_engine_steps()
        _same(workflow)
    assert workflow.is_completed()
