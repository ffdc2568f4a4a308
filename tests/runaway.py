"""Diagrams a hostile designer could deploy: `dak_receipt` with a script task (or a
condition) in front of its first step, and a process whose timer start event leads to a
script. Used by the integration and end-to-end tests of bounded scripts."""

from __future__ import annotations

from xml.sax.saxutils import escape

from engine.app import PROCESS_DIR

DAK = (PROCESS_DIR / "dak_receipt.bpmn").read_text()

# What the deploy check refuses: provably unbounded as written (the four).
LITERAL = {
    "loop": "while True: pass",
    "power": "x = 10**(10**9)",
    "format": "y = '%0999999999d' % 1",
}
LITERAL_CONDITION = "sum(range(10**13)) > 0"

# The same, written so that no check can prove it: only the limits stop them at run time.
RUNTIME = {
    "loop": "n = 0\nwhile n >= 0:\n    n = n + 1",
    "power": "k = 9\nx = 10**(10**k)",
    "format": "w = 999999999\ny = ('%0' + str(w) + 'd') % 1",
}
RUNTIME_CONDITION = "sum(range(receipt_id * 10**13)) > 0"

_FIRST_FLOW = ('<bpmn:sequenceFlow id="flow_start_act" name="Start" '
               'sourceRef="receipt_registered" targetRef="act_on_receipt" />')


def dak_with_script(script: str) -> bytes:
    """dak_receipt with script task `runaway` between its start and its first step."""
    assert _FIRST_FLOW in DAK
    text = DAK.replace(_FIRST_FLOW, f'''<bpmn:sequenceFlow id="flow_start_act" name="Start"
      sourceRef="receipt_registered" targetRef="runaway" />
    <bpmn:scriptTask id="runaway" name="Runaway check">
      <bpmn:incoming>flow_start_act</bpmn:incoming>
      <bpmn:outgoing>flow_checked</bpmn:outgoing>
      <bpmn:script>{escape(script)}</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:sequenceFlow id="flow_checked" sourceRef="runaway" targetRef="act_on_receipt" />''')
    text = text.replace("<bpmn:incoming>flow_start_act</bpmn:incoming>\n      <bpmn:incoming>"
                        "flow_forward", "<bpmn:incoming>flow_checked</bpmn:incoming>\n      "
                        "<bpmn:incoming>flow_forward", 1)
    return text.encode()


def dak_with_condition(condition: str) -> bytes:
    """dak_receipt with a gateway `runaway_gate` before its first step whose one flow has
    the condition (the other is the default)."""
    text = DAK.replace(_FIRST_FLOW, f'''<bpmn:sequenceFlow id="flow_start_act" name="Start"
      sourceRef="receipt_registered" targetRef="runaway_gate" />
    <bpmn:exclusiveGateway id="runaway_gate" name="Runaway gate" default="flow_plain">
      <bpmn:incoming>flow_start_act</bpmn:incoming>
      <bpmn:outgoing>flow_checked</bpmn:outgoing>
      <bpmn:outgoing>flow_plain</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:sequenceFlow id="flow_checked" sourceRef="runaway_gate" targetRef="act_on_receipt">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression"
        >{escape(condition)}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="flow_plain" sourceRef="runaway_gate" targetRef="act_on_receipt" />''')
    text = text.replace("<bpmn:incoming>flow_start_act</bpmn:incoming>\n      <bpmn:incoming>"
                        "flow_forward", "<bpmn:incoming>flow_checked</bpmn:incoming>\n      "
                        "<bpmn:incoming>flow_plain</bpmn:incoming>\n      "
                        "<bpmn:incoming>flow_forward", 1)
    return text.encode()


def scheduled(script: str, pid: str = "runaway_schedule") -> bytes:
    """A process started by a timer (one second after deployment) that runs the script."""
    return f'''<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
                  id="Definitions_{pid}" targetNamespace="http://sanchika.example/bpmn">
  <bpmn:process id="{pid}" name="Runaway schedule" isExecutable="true">
    <bpmn:startEvent id="every_morning" name="Scheduled start">
      <bpmn:outgoing>flow_start</bpmn:outgoing>
      <bpmn:timerEventDefinition id="every_morning_timer">
        <bpmn:timeDuration xsi:type="bpmn:tFormalExpression">"PT1S"</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:startEvent>
    <bpmn:scriptTask id="runaway" name="Runaway check">
      <bpmn:incoming>flow_start</bpmn:incoming>
      <bpmn:outgoing>flow_end</bpmn:outgoing>
      <bpmn:script>{escape(script)}</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:endEvent id="done" name="Done">
      <bpmn:incoming>flow_end</bpmn:incoming>
    </bpmn:endEvent>
    <bpmn:sequenceFlow id="flow_start" sourceRef="every_morning" targetRef="runaway" />
    <bpmn:sequenceFlow id="flow_end" sourceRef="runaway" targetRef="done" />
  </bpmn:process>
</bpmn:definitions>
'''.encode()


def scheduled_condition(condition: str, pid: str = "runaway_gate_schedule") -> bytes:
    """A process started by a timer whose gateway decides with the condition."""
    return f'''<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
                  id="Definitions_{pid}" targetNamespace="http://sanchika.example/bpmn">
  <bpmn:process id="{pid}" name="Runaway gate schedule" isExecutable="true">
    <bpmn:startEvent id="every_morning" name="Scheduled start">
      <bpmn:outgoing>flow_start</bpmn:outgoing>
      <bpmn:timerEventDefinition id="every_morning_timer">
        <bpmn:timeDuration xsi:type="bpmn:tFormalExpression">"PT1S"</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:startEvent>
    <bpmn:exclusiveGateway id="runaway_gate" name="Runaway gate" default="flow_plain">
      <bpmn:incoming>flow_start</bpmn:incoming>
      <bpmn:outgoing>flow_checked</bpmn:outgoing>
      <bpmn:outgoing>flow_plain</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:endEvent id="done" name="Done">
      <bpmn:incoming>flow_checked</bpmn:incoming>
      <bpmn:incoming>flow_plain</bpmn:incoming>
    </bpmn:endEvent>
    <bpmn:sequenceFlow id="flow_start" sourceRef="every_morning" targetRef="runaway_gate" />
    <bpmn:sequenceFlow id="flow_checked" sourceRef="runaway_gate" targetRef="done">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression"
        >{escape(condition)}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="flow_plain" sourceRef="runaway_gate" targetRef="done" />
  </bpmn:process>
</bpmn:definitions>
'''.encode()
