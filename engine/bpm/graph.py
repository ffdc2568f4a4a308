"""The shape of a process as a graph: every element reachable from a start, every path
able to end. Pure: it reads the parsed XML and executes nothing.

SpiffWorkflow accepts a loose task nobody can reach, and a loop with no way out; the
first is dead weight the designer did not mean, the second a file that can never close.
Both are refused at validation, each with its element and line.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from lxml import etree

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
# Containers whose children form their own graph (started by their own start event).
SCOPES = {"process", "subProcess", "transaction", "adHocSubProcess"}
# Not flow nodes: they neither take nor pass a token.
NOT_NODES = {"sequenceFlow", "association", "textAnnotation", "group", "dataObject",
             "dataObjectReference", "dataStoreReference", "laneSet", "lane",
             "extensionElements", "documentation", "ioSpecification", "property",
             "dataInputAssociation", "dataOutputAssociation", "incoming", "outgoing",
             "multiInstanceLoopCharacteristics", "standardLoopCharacteristics"}


def local(el: etree._Element) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


@dataclass
class Scope:
    """The flow nodes of one process or sub-process and the sequence flows among them."""

    element: etree._Element
    nodes: dict[str, etree._Element] = field(default_factory=dict)
    edges: dict[str, set[str]] = field(default_factory=dict)

    def add_edge(self, source: str, target: str) -> None:
        self.edges.setdefault(source, set()).add(target)

    def starts(self) -> list[str]:
        return [i for i, el in self.nodes.items()
                if local(el) == "startEvent"
                or (local(el) in SCOPES and el.get("triggeredByEvent") == "true")]

    def ends(self) -> list[str]:
        return [i for i, el in self.nodes.items()
                if local(el) == "endEvent"
                or (local(el) in SCOPES and el.get("triggeredByEvent") == "true")]

    def reverse(self) -> dict[str, set[str]]:
        back: dict[str, set[str]] = {}
        for source, targets in self.edges.items():
            for target in targets:
                back.setdefault(target, set()).add(source)
        return back


def scopes(root: etree._Element) -> list[Scope]:
    """Every executable process and every sub-process inside one, as its own graph."""
    found: list[Scope] = []
    for process in root.iterfind(f"{{{BPMN_NS}}}process"):
        if process.get("isExecutable", "true").lower() == "false":
            continue
        pending = [process]
        while pending:  # no recursion: deep nesting is a loop, not a stack
            container = pending.pop()
            scope = _scope(container)
            found.append(scope)
            pending.extend(el for el in scope.nodes.values() if local(el) in SCOPES)
    return found


def _scope(container: etree._Element) -> Scope:
    scope = Scope(container)
    links: dict[str, list[str]] = {}   # link name -> catching events
    throws: list[tuple[str, str]] = []  # (throwing event, link name)
    for el in container:
        name = local(el)
        if not name or name in NOT_NODES or not el.get("id") or _compensation(el):
            continue
        scope.nodes[el.get("id", "")] = el
        link = el.find(f"{{{BPMN_NS}}}linkEventDefinition")
        if link is not None:
            if name == "intermediateCatchEvent":
                links.setdefault(link.get("name") or "", []).append(el.get("id", ""))
            elif name == "intermediateThrowEvent":
                throws.append((el.get("id", ""), link.get("name") or ""))
    for el in container.iterfind(f"{{{BPMN_NS}}}sequenceFlow"):
        source, target = el.get("sourceRef"), el.get("targetRef")
        if source in scope.nodes and target in scope.nodes:
            scope.add_edge(source, target)
    for node_id, el in scope.nodes.items():
        host = el.get("attachedToRef") if local(el) == "boundaryEvent" else None
        if host in scope.nodes:
            scope.add_edge(host, node_id)  # a boundary event fires while its host waits
    for thrower, name in throws:
        for catcher in links.get(name, []):
            scope.add_edge(thrower, catcher)
    return scope


def _compensation(el: etree._Element) -> bool:
    """A compensation handler and its boundary event are joined by an association, not a
    sequence flow: outside the token's paths, so outside these checks."""
    return el.get("isForCompensation") == "true" or (
        local(el) == "boundaryEvent"
        and el.find(f"{{{BPMN_NS}}}compensateEventDefinition") is not None)


def _walk(starts: list[str], edges: dict[str, set[str]]) -> set[str]:
    seen = set(starts)
    queue = deque(starts)
    while queue:
        for nxt in edges.get(queue.popleft(), ()):
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return seen


@dataclass
class Problem:
    element: etree._Element
    message: str


def shape_problems(root: etree._Element) -> list[Problem]:
    """Unreachable elements, and elements from which no path reaches an end event."""
    found: list[Problem] = []
    for scope in scopes(root):
        starts = scope.starts()
        where = "the process" if local(scope.element) == "process" else \
            f"sub-process {scope.element.get('id')}"
        if not starts:
            if scope.nodes:
                found.append(Problem(scope.element, f"{where} has no start event"))
            continue
        reached = _walk(starts, scope.edges)
        for node_id, el in scope.nodes.items():
            if node_id not in reached:
                found.append(Problem(el, f"'{_label(el)}' cannot be reached from the start: "
                                         "connect it or remove it"))
        ending = _walk(scope.ends(), scope.reverse())
        for node_id, el in scope.nodes.items():
            if node_id in reached and node_id not in ending:
                if not scope.edges.get(node_id):
                    message = (f"'{_label(el)}' leads nowhere: connect it to the next step "
                               "or to an end event")
                else:
                    message = f"from '{_label(el)}' no path ever reaches an end event"
                found.append(Problem(el, message))
    return found


def has_path(scope: Scope, source: str, target: str) -> bool:
    """Whether a token at `source` can get to `target` (through any elements)."""
    return target in _walk(list(scope.edges.get(source, ())), scope.edges)


def reaches_end(scope: Scope, source: str) -> bool:
    return source in _walk(scope.ends(), scope.reverse())


def _label(el: etree._Element) -> str:
    return el.get("name") or el.get("id") or local(el)
