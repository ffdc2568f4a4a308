"""Serialize SpiffWorkflow state without its embedded spec.

SpiffWorkflow's JSON repeats the whole process spec in every instance; we keep specs
once per deployed version (parsed and cached) and re-attach them on load. The converter
that leaves the spec out uses SpiffWorkflow internals: it lives in engine/bpm/spiff_private.py.
"""

from __future__ import annotations

import json
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.config import DEFAULT_CONFIG
from SpiffWorkflow.bpmn.serializer.workflow import VERSION
from SpiffWorkflow.bpmn.specs import BpmnProcessSpec

from engine.bpm.spiff_private import SpecFreeWorkflowConverter

_config = dict(DEFAULT_CONFIG)
_config[BpmnWorkflow] = SpecFreeWorkflowConverter
_registry = BpmnWorkflowSerializer.configure(_config)
_serializer = BpmnWorkflowSerializer(_registry)


def dump_state(workflow: BpmnWorkflow) -> str:
    dct = _serializer.to_dict(workflow)
    dct[_serializer.VERSION_KEY] = VERSION
    return json.dumps(dct, separators=(",", ":"))


def load_state(state: str, spec: BpmnProcessSpec, subprocess_specs: dict,
               script_engine: Any) -> BpmnWorkflow:
    dct = json.loads(state)
    _serializer.migrate(dct)
    workflow = _registry.restore(dct, spec=spec, subprocess_specs=subprocess_specs)
    workflow.script_engine = script_engine
    return workflow
