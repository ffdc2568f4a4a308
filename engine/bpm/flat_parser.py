"""SpiffWorkflow's BPMN parser without one Python call level per element.

SpiffWorkflow 3 builds a process's task specs by recursion: parsing an element parses
every element its sequence flows lead to before it returns, so a chain of about 480
tasks exhausted Python's recursion limit and the designer saw `RecursionError(...)`.

This parser does the same work in the same order, but the recursion is replaced by an
explicit stack: each element's parse is a generator that *yields* the element it needs
and receives its task spec back, and a loop (`_trampoline`) runs those generators. The
specs come out identical — the same calls in the same order, the same error wrapping —
(tests/unit/test_flat_parser.py compares them with SpiffWorkflow's own parser on the
shipped processes), only the Python stack stays flat.

The generator bodies copy ProcessParser.parse_node, TaskParser.parse_node and
TaskParser._add_boundary_event of the release pinned in engine/bpm/spiff_private.py
(CHECKED_VERSION); a task parser that overrides parse_node itself is run as it is.
COPIED_FINGERPRINT is the SHA-256 of those three methods' source: a SpiffWorkflow that
changes them fails tests/unit/test_camunda_reader.py until the copy is checked again.
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Generator
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser import BpmnParser
from SpiffWorkflow.bpmn.parser.ProcessParser import AdHocParser, ProcessParser
from SpiffWorkflow.bpmn.parser.TaskParser import TaskParser
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.control import BoundaryEventJoin, BoundaryEventSplit
from SpiffWorkflow.bpmn.specs.event_definitions.simple import CancelEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.exclusive_gateway import ExclusiveGateway
from SpiffWorkflow.bpmn.specs.mixins.inclusive_gateway import InclusiveGateway
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import TransactionSubprocess

COPIED = (ProcessParser.parse_node, TaskParser.parse_node, TaskParser._add_boundary_event)
COPIED_FINGERPRINT = "372f8ef7c41ce66df5d04900b4bd814862f7274efd12751cfdcde58a8cb9e772"


def copied_fingerprint() -> str:
    """SHA-256 of the source of the SpiffWorkflow methods this module copies."""
    return hashlib.sha256("".join(inspect.getsource(f) for f in COPIED).encode()).hexdigest()


# A parse step asks for the spec of an element (yield element) and gets it back (send).
Steps = Generator[etree._Element, Any, Any]


class _FlatMixin:
    """parse_node for ProcessParser and its subclasses, run without recursion."""

    spec: Any
    parser: Any
    nsmap: Any
    lane: Any
    filename: Any

    def parse_node(self, node: etree._Element) -> Any:
        return _trampoline(self, node)

    def _node_steps(self, node: etree._Element) -> Steps:
        # ProcessParser.parse_node
        if node.get("id") in self.spec.task_specs:
            return self.spec.task_specs[node.get("id")]
        node_parser, spec_class = self.parser._get_parser_class(node.tag)
        if not node_parser or not spec_class:
            raise ValidationException("There is no support implemented for this task type.",
                                      node=node, file_name=self.filename)
        np = node_parser(self, spec_class, node, self.nsmap, lane=self.lane)
        if type(np).parse_node is not TaskParser.parse_node:
            return np.parse_node()  # a parser with its own parse_node: not ours to flatten
        return (yield from _task_steps(np))


def _trampoline(process_parser: _FlatMixin, node: etree._Element) -> Any:
    """Run parse steps with an explicit stack: a step that yields an element suspends
    until that element's steps have returned its spec (or raised, which is thrown into
    it, as an exception would unwind the recursive parser)."""
    stack = [process_parser._node_steps(node)]
    sending: Any = None
    throwing: BaseException | None = None
    while True:
        current = stack[-1]
        try:
            if throwing is not None:
                error, throwing = throwing, None
                wanted = current.throw(error)
            else:
                wanted = current.send(sending)
        except StopIteration as done:
            stack.pop()
            if not stack:
                return done.value
            sending = done.value
            continue
        except BaseException as error:
            stack.pop()
            if not stack:
                raise
            throwing = error
            continue
        sending = None
        stack.append(process_parser._node_steps(wanted))


def _task_steps(np: TaskParser) -> Steps:
    # TaskParser.parse_node, with `self.process_parser.parse_node(x)` as `yield x`
    try:
        np.task = np.create_task()
        np.task.extensions = np.parse_extensions()
        io_spec = np.xpath("./bpmn:ioSpecification")
        if len(io_spec) > 0:
            np.task.io_specification = np.parse_io_spec()
        loop_characteristics = np.xpath("./bpmn:standardLoopCharacteristics")
        if len(loop_characteristics) > 0:
            np._add_loop_task(loop_characteristics[0])
        mi_loop_characteristics = np.xpath("./bpmn:multiInstanceLoopCharacteristics")
        if len(mi_loop_characteristics) > 0:
            np._add_multiinstance_task(mi_loop_characteristics[0])
        boundary_event_nodes = np.process_parser.get_boundary_events(np.bpmn_id)
        if boundary_event_nodes:
            parent = yield from _boundary_steps(np, boundary_event_nodes)
        yield from _outgoing_steps(np)
        return parent if boundary_event_nodes else np.task
    except ValidationException:
        raise
    except Exception as ex:
        raise ValidationException(f"{ex!r}", node=np.node, file_name=np.filename) from ex


def _outgoing_steps(np: TaskParser) -> Steps:
    # TaskParser.parse_node, continued: connect the specs the sequence flows lead to
    children = []
    outgoing = np.process_parser.get_outgoing_sequence_flows(np.bpmn_id)
    if len(outgoing) > 1 and not np.handles_multiple_outgoing():
        np.raise_validation_exception(
            "Multiple outgoing flows are not supported for tasks of type")
    for sequence_flow in outgoing:
        target_ref = sequence_flow.get("targetRef")
        target_node = np.process_parser.get_node_by_id(target_ref)
        if target_node is None:
            np.raise_validation_exception(
                "When looking for a task spec, we found two items, "
                f"perhaps a form has the same ID? ({target_ref})")
        split_task = np.spec.task_specs.get(f"{target_ref}.BoundaryEventSplit")
        c = (yield target_node) if split_task is None else split_task
        position = np.get_position(target_node)
        children.append((position, c, sequence_flow))
    if children:
        children = sorted(children, key=lambda tup: float(tup[0]["y"]))
        default_outgoing = np.node.get("default")
        if len(children) == 1 and isinstance(np.task, (ExclusiveGateway, InclusiveGateway)):
            (_position, c, sequence_flow) = children[0]
            if np.parse_condition(sequence_flow) is None:
                default_outgoing = sequence_flow.get("id")
        for (_position, c, sequence_flow) in children:
            np.connect_outgoing(c, sequence_flow, sequence_flow.get("id") == default_outgoing)


def _boundary_steps(np: TaskParser, children: list[etree._Element]) -> Steps:
    # TaskParser._add_boundary_event
    split_task = BoundaryEventSplit(np.spec, f"{np.bpmn_id}.BoundaryEventSplit",
                                    lane=np.task.lane)
    join_task = BoundaryEventJoin(np.spec, f"{np.bpmn_id}.BoundaryEventJoin",
                                  lane=np.task.lane, split_task=split_task.name, cancel=True)
    split_task.connect(np.task)
    np.task.connect(join_task)
    for event in children:
        child = yield event
        if (isinstance(child.event_definition, CancelEventDefinition)
                and not isinstance(np.task, TransactionSubprocess)):
            np.raise_validation_exception("Cancel Events may only be used with transactions")
        split_task.connect(child)
        child.connect(join_task)
    return split_task


class FlatProcessParser(_FlatMixin, ProcessParser):
    pass


class FlatAdHocParser(_FlatMixin, AdHocParser):
    pass


class FlatBpmnParser(BpmnParser):
    """BpmnParser whose process parsers do not recurse per element."""

    PROCESS_PARSER_CLASS = FlatProcessParser
    AD_HOC_PARSER_CLASS = FlatAdHocParser
