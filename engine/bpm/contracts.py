"""Process contracts: what the application's code relies on in a shipped process.

A contract sits beside its diagram (processes/<process id>.contract.toml) and names
steps by element id: their kind (user or service task), the actions a user task must
offer, the handler a service task must call, and the steps each must lead to. A new
version that drops or disconnects any of them is refused, naming the step; a process
without a contract (one a designer made up) is held only to the shape checks.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lxml import etree

from engine.bpm import graph

KINDS = {"user": ("userTask",), "service": ("serviceTask", "sendTask")}


@dataclass(frozen=True)
class Step:
    id: str
    kind: str
    actions: tuple[str, ...] = ()
    handler: str | None = None
    leads_to: tuple[str, ...] = ()


@dataclass(frozen=True)
class Contract:
    process_id: str
    steps: tuple[Step, ...] = field(default_factory=tuple)


def parse(process_id: str, text: str) -> Contract:
    """A contract from its TOML text; a malformed one is a programming error (ValueError)."""
    data = tomllib.loads(text)
    steps = []
    for step_id, raw in (data.get("steps") or {}).items():
        kind = raw.get("kind")
        if kind not in KINDS:
            raise ValueError(f"contract {process_id}: step {step_id}: kind must be one of "
                             f"{sorted(KINDS)}")
        steps.append(Step(step_id, kind, tuple(raw.get("actions") or ()),
                          raw.get("handler"), tuple(raw.get("leads_to") or ())))
    return Contract(process_id, tuple(steps))


def load(directory: Path, process_id: str) -> Contract | None:
    path = directory / f"{process_id}.contract.toml"
    if not path.is_file():
        return None
    return parse(process_id, path.read_text(encoding="utf-8"))


def problems(contract: Contract, root: etree._Element, meta: dict[str, Any]
             ) -> list[graph.Problem]:
    """Every way the document breaks the contract, each naming the step."""
    process = _process(root, contract.process_id)
    if process is None:
        return []
    scope = next((s for s in graph.scopes(root) if s.element is process), None)
    nodes = scope.nodes if scope is not None else {}
    tasks = meta.get("tasks", {})
    found: list[graph.Problem] = []
    for step in contract.steps:
        el = nodes.get(step.id)
        wanted = " or ".join(KINDS[step.kind])
        if el is None:
            found.append(graph.Problem(process, (
                f"the application relies on step '{step.id}' ({step.kind} task), which this "
                f"version does not have at the top level of the process; keep a {wanted} "
                f"with id '{step.id}'")))
            continue
        if graph.local(el) not in KINDS[step.kind]:
            found.append(graph.Problem(el, f"step '{step.id}' must be a {wanted}, "
                                           f"not a {graph.local(el)}"))
            continue
        info = tasks.get(step.id, {})
        missing = [a for a in step.actions if a not in info.get("actions", [])]
        if missing:
            found.append(graph.Problem(el, (
                f"step '{step.id}' must offer the action(s) {', '.join(missing)} "
                "(the 'actions' property)")))
        if step.handler and info.get("handler") != step.handler:
            found.append(graph.Problem(el, (
                f"step '{step.id}' must call handler '{step.handler}', not "
                f"'{info.get('handler')}'")))
        for target in step.leads_to:
            if target in nodes and scope is not None and not graph.has_path(
                    scope, step.id, target):
                found.append(graph.Problem(el, (
                    f"step '{step.id}' must lead on to step '{target}', but no path "
                    "connects them")))
    return found


def _process(root: etree._Element, process_id: str) -> etree._Element | None:
    for process in root.iterfind(f"{{{graph.BPMN_NS}}}process"):
        if process.get("id") == process_id:
            return process
    return None
