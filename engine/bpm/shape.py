"""Deploy-time checks on the shape of a diagram that SpiffWorkflow would otherwise fail on
late or without saying where: data stores, and paths longer than the engine can follow.

Both walk the document with loops and explicit stacks (no recursion per element), so a
diagram of thousands of elements is measured, not crashed on.
"""

from __future__ import annotations

from collections import defaultdict

from lxml import etree

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"

# The longest chain of steps one after another inside one process (or sub-process).
# SpiffWorkflow keeps an instance as a tree with a level per step taken, predicts the
# steps ahead by recursion and lists tasks only down to 1000 levels: a chain longer than
# this fails at run time (Python's recursion limit, or tasks the engine no longer sees),
# so it is refused at deploy with the element where it crosses the limit. A sub-process
# or call activity counts as one step of its parent and has its own limit.
MAX_PATH_STEPS = 400

CONTAINERS = {"process", "subProcess", "transaction", "adHocSubProcess"}
NOT_FLOW_NODES = {
    "sequenceFlow", "laneSet", "textAnnotation", "association", "group", "dataObject",
    "dataObjectReference", "dataStoreReference", "extensionElements", "ioSpecification",
    "documentation", "property", "dataInputAssociation", "dataOutputAssociation",
    "multiInstanceLoopCharacteristics", "standardLoopCharacteristics", "incoming",
    "outgoing", "ioBinding", "auditing", "monitoring", "category",
}


def _local(el: etree._Element) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def _problem(el: etree._Element, message: str) -> dict:
    return {"element_id": el.get("id"), "line": el.sourceline, "message": message}


def data_store_problems(root: etree._Element) -> list[dict]:
    """Data stores have no implementation in Sanchika: refused where they are drawn."""
    return [
        _problem(el, f"{_local(el)}: data stores are not supported; a process keeps its "
                 "data with its file or receipt — remove the data store")
        for el in root.iter(f"{{{BPMN_NS}}}dataStore", f"{{{BPMN_NS}}}dataStoreReference")
    ]


def path_problems(root: etree._Element) -> list[dict]:
    """The first element, in each process and sub-process, at which a chain of steps
    grows past MAX_PATH_STEPS."""
    found = []
    for container in root.iter(*(f"{{{BPMN_NS}}}{name}" for name in CONTAINERS)):
        over = _longest_path_over_limit(container)
        if over is not None:
            found.append(over)
    return found


def _graph(container: etree._Element) -> tuple[dict[str, etree._Element],
                                               dict[str, list[str]], dict[str, int]]:
    """The container's flow nodes by id, where each leads, and the levels each takes."""
    nodes: dict[str, etree._Element] = {}
    for child in container:
        if isinstance(child.tag, str) and _local(child) not in NOT_FLOW_NODES and child.get("id"):
            nodes[child.get("id", "")] = child
    successors: dict[str, list[str]] = defaultdict(list)
    weight = dict.fromkeys(nodes, 1)
    for el in nodes.values():
        attached = el.get("attachedToRef")
        if _local(el) == "boundaryEvent" and attached in nodes:
            successors[attached].append(el.get("id", ""))
            weight[attached] = 3  # SpiffWorkflow wraps the task in a split and a join
    for flow in container.iterfind(f"{{{BPMN_NS}}}sequenceFlow"):
        source, target = flow.get("sourceRef"), flow.get("targetRef")
        if source is not None and target is not None and source in nodes and target in nodes:
            successors[source].append(target)
    return nodes, successors, weight


def _longest_path_over_limit(container: etree._Element) -> dict | None:
    nodes, successors, weight = _graph(container)
    order, back_edges = _depth_first(nodes, successors)
    distance = {n: weight[n] for n in nodes}
    came_from: dict[str, str] = {}
    for node in reversed(order):  # topological order of the graph without back edges
        for nxt in successors[node]:
            if (node, nxt) not in back_edges and distance[node] + weight[nxt] > distance[nxt]:
                distance[nxt] = distance[node] + weight[nxt]
                came_from[nxt] = node
    if not distance:
        return None
    end = max(distance, key=lambda n: distance[n])
    total = distance[end]
    if total <= MAX_PATH_STEPS:
        return None
    path = [end]
    while path[-1] in came_from:
        path.append(came_from[path[-1]])
    path.reverse()
    first_over = next(n for n in path if distance[n] > MAX_PATH_STEPS)
    return _problem(nodes[first_over],
                    f"this element is step {distance[first_over]} of a chain of {total} "
                    f"steps one after another from '{path[0]}'; a process may have at most "
                    f"{MAX_PATH_STEPS} in a row (the engine keeps a level per step taken): "
                    "split the chain into sub-processes or call activities")


def _depth_first(nodes: dict[str, etree._Element], successors: dict[str, list[str]]
                 ) -> tuple[list[str], set[tuple[str, str]]]:
    """Post-order of an iterative depth-first walk, starting from the elements nothing
    leads to (then any left, e.g. a loop with no way in), and the edges that close a loop."""
    has_incoming = {t for targets in successors.values() for t in targets}
    starts = [n for n in nodes if n not in has_incoming] + list(nodes)
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    order: list[str] = []
    back_edges: set[tuple[str, str]] = set()
    for start in starts:
        if start in state:
            continue
        state[start] = 1
        stack = [(start, iter(successors[start]))]
        while stack:
            node, pending = stack[-1]
            nxt = next(pending, None)
            if nxt is None:
                stack.pop()
                state[node] = 2
                order.append(node)
            elif state.get(nxt) == 1:
                back_edges.add((node, nxt))
            elif nxt not in state:
                state[nxt] = 1
                stack.append((nxt, iter(successors[nxt])))
    return order, back_edges


def call_problems(root: etree._Element) -> list[dict]:
    """A call activity must call a process of the same document (SpiffWorkflow would
    otherwise refuse without naming the call activity)."""
    processes = {p.get("id") for p in root.iterfind(f"{{{BPMN_NS}}}process")}
    return [
        _problem(el, f"calls the process '{el.get('calledElement')}', which is not in this "
                 "document; a call activity calls a process drawn in the same document")
        for el in root.iter(f"{{{BPMN_NS}}}callActivity")
        if el.get("calledElement") not in processes
    ]
