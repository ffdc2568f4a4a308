"""Read an uploaded BPMN document safely and say everything that is wrong with it.

Every problem is reported as {"element_id", "line", "message"}; nothing here executes a
script. The document is parsed with lxml with DTDs, entities and network access off.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import XSD_PATH
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs import BpmnProcessSpec

from engine.bpm.camunda import (
    candidate_problems,
    candidates,
    extension_problems,
    handler_name,
    language_problems,
    translate_expressions,
)
from engine.bpm.flat_parser import FlatBpmnParser
from engine.bpm.juel import is_juel
from engine.bpm.sandbox import check_expression, check_script
from engine.bpm.shape import call_problems, data_store_problems, path_problems
from engine.errors import InvalidBpmn

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
NS = {"bpmn": BPMN_NS, "camunda": CAMUNDA_NS}

DEFAULT_ASSIGNEE = "holder_post"
DEFAULT_ACTIONS = ["complete"]
# Elements whose text is an expression the engine evaluates.
EXPRESSION_TAGS = {
    "conditionExpression", "timeDuration", "timeDate", "timeCycle",
    "loopCardinality", "completionCondition",
}


@dataclass
class ReadBpmn:
    """A validated document: the specs SpiffWorkflow built and what Sanchika reads."""

    process_id: str
    spec: BpmnProcessSpec
    subprocess_specs: dict[str, BpmnProcessSpec]
    meta: dict[str, Any] = field(default_factory=dict)
    # user tasks given to a named post or user ({element_id, line, post_code | username}):
    # checked against the organisation at deploy (engine/bpm/routing.py)
    routed: list[dict[str, Any]] = field(default_factory=list)


def problem(element: etree._Element | None, message: str, line: int | None = None) -> dict:
    return {
        "element_id": element.get("id") if element is not None else None,
        "line": line if line is not None else (element.sourceline if element is not None else None),
        "message": message,
    }


def _secure_parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
        huge_tree=False, remove_blank_text=False,
    )


@lru_cache(maxsize=1)
def _bpmn_schema() -> etree.XMLSchema:
    with open(XSD_PATH, "rb") as fh:
        return etree.XMLSchema(etree.parse(fh))


def parse_document(xml: bytes, max_bytes: int) -> etree._Element:
    """Well-formedness, size and DTD checks; raises InvalidBpmn with line numbers."""
    if len(xml) > max_bytes:
        raise InvalidBpmn(
            f"BPMN document is {len(xml)} bytes; the limit is {max_bytes}",
            [problem(None, f"document larger than {max_bytes} bytes")],
        )
    if not xml.strip():
        raise InvalidBpmn("BPMN document is empty", [problem(None, "empty document", 1)])
    try:
        root = etree.fromstring(xml, _secure_parser())
    except etree.XMLSyntaxError as exc:
        line = exc.lineno or None
        raise InvalidBpmn(
            f"malformed XML at line {line}: {exc.msg}",
            [problem(None, f"malformed XML: {exc.msg}", line)],
        ) from None
    doctype = root.getroottree().docinfo
    if doctype.doctype or doctype.internalDTD is not None:
        raise InvalidBpmn(
            "DOCTYPE declarations and entities are not allowed in BPMN documents",
            [problem(None, "DOCTYPE/entity declarations are not allowed", 1)],
        )
    if root.tag != f"{{{BPMN_NS}}}definitions":
        raise InvalidBpmn(
            "the document is not BPMN 2.0 (root must be bpmn:definitions)",
            [problem(root, f"root element is {etree.QName(root).localname}, expected definitions")],
        )
    return root


def _schema_problems(root: etree._Element) -> list[dict]:
    schema = _bpmn_schema()
    if schema.validate(root):
        return []
    found = []
    for entry in schema.error_log:
        element = None
        path = getattr(entry, "path", None)
        if path:
            try:
                hits = root.getroottree().xpath(path, namespaces=_prefixes(root))
                element = hits[0] if hits else None
            except etree.XPathError:
                element = None
        if element is None:
            element = _element_on_line(root, entry.line)
        message = entry.message.replace(f"{{{BPMN_NS}}}", "bpmn:")
        found.append(problem(element_with_id(element), f"not valid BPMN: {message}",
                             entry.line))
    return found


def _prefixes(root: etree._Element) -> dict[str, str]:
    # the error paths use the document's own prefixes (bpmn:process…)
    return {prefix: uri for prefix, uri in root.nsmap.items() if prefix}


def _element_on_line(root: etree._Element, line: int | None) -> etree._Element | None:
    return next((el for el in root.iter() if isinstance(el.tag, str)
                 and el.sourceline == line), None) if line else None


def element_with_id(element: etree._Element | None) -> etree._Element | None:
    """The element itself, or the nearest enclosing one with an id: what a designer can
    find on the diagram."""
    current = element
    while current is not None and not current.get("id"):
        current = current.getparent()
    return current if current is not None else element


def _local(el: etree._Element) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def _task_meta(root: etree._Element, handlers: set[str]) -> tuple[dict[str, dict], list[dict]]:
    tasks: dict[str, dict] = {}
    found: list[dict] = []
    for el in root.iter(f"{{{BPMN_NS}}}userTask"):
        assignee = el.get(f"{{{CAMUNDA_NS}}}assignee") or DEFAULT_ASSIGNEE
        actions_attr = el.xpath(
            "bpmn:extensionElements/camunda:properties/camunda:property[@name='actions']/@value",
            namespaces=NS,
        )
        listed = actions_attr[0] if actions_attr else ""
        actions = [a.strip() for a in listed.split(",") if a.strip()]
        for p in check_expression(assignee):
            found.append(problem(el, f"assignee expression: {p.message}"))
        routed = candidates(el)[0]  # what it cannot honour: candidate_problems()
        tasks[el.get("id", "")] = {
            "kind": "user",
            "name": el.get("name") or el.get("id"),
            "assignee": assignee,
            "actions": actions or DEFAULT_ACTIONS,
            **routed,
        }
    for el in root.iter(f"{{{BPMN_NS}}}serviceTask", f"{{{BPMN_NS}}}sendTask"):
        handler = handler_name(el)
        if not handler:
            found.append(problem(el, "service task names no handler (set camunda:topic)"))
        elif handler not in handlers:
            known = ", ".join(sorted(handlers)) or "none"
            found.append(problem(el, f"unknown handler '{handler}' (known: {known})"))
        tasks[el.get("id", "")] = {"kind": "service", "name": el.get("name") or el.get("id"),
                               "handler": handler}
    return tasks, found


def _code_problems(root: etree._Element) -> list[dict]:
    found = []
    for el in root.iter():
        name = _local(el)
        parent = el.getparent()
        if name == "script" and parent is not None and _local(parent) == "scriptTask":
            owner = parent
            for p in check_script(el.text or ""):
                line = (el.sourceline or 0) + (p.line - 1 if p.line else 0) or None
                found.append(problem(owner, f"script: {p.message}", line))
        elif name in EXPRESSION_TAGS or (el.get(XSI_TYPE) or "").endswith("tFormalExpression"):
            owner = parent if parent is not None else el
            if name in {"timeDuration", "timeDate", "timeCycle"}:
                grandparent = owner.getparent()
                owner = grandparent if grandparent is not None else owner
            text = (el.text or "").strip()
            if not text:
                found.append(problem(owner, f"{name} is empty", el.sourceline))
                continue
            if is_juel(text):  # not translatable: reported by translate_expressions
                continue
            for p in check_expression(text):
                found.append(problem(owner, f"{name}: {p.message}", el.sourceline))
    return found


def _spiff_specs(root: etree._Element
                 ) -> tuple[str, BpmnProcessSpec | None, dict, list[dict]]:
    parser = FlatBpmnParser(validator=None)
    by_id = {el.get("id"): el for el in root.iter() if isinstance(el.tag, str) and el.get("id")}
    try:
        parser.add_bpmn_xml(root, filename="upload.bpmn")
        executable = [
            p.get("id", "") for p in root.iterfind(f"{{{BPMN_NS}}}process")
            if p.get("isExecutable", "true").lower() != "false"
        ]
        if not executable:
            return "", None, {}, [problem(root, "the document has no executable process")]
        process_id = executable[0]
        spec = parser.get_spec(process_id)
        subprocess_specs = parser.get_subprocess_specs(process_id)
    except ValidationException as exc:
        element = by_id.get(getattr(exc, "id", None))
        line = element.sourceline if element is not None else (exc.line_number or None)
        if element is None:  # SpiffWorkflow named no element: point at the process
            element = next(root.iterfind(f"{{{BPMN_NS}}}process"), root)
            line = line or element.sourceline
        message = str(exc).split("\n")[0]
        return "", None, {}, [problem(element, message, line)]
    return process_id, spec, subprocess_specs, []


def read_bpmn(xml: bytes, handlers: set[str], max_bytes: int, *, stored: bool = False
              ) -> ReadBpmn:
    """Validate everything; raise InvalidBpmn listing every problem found.

    `stored`: the document is a version deployed earlier, read again to run it. The
    checks added since (Camunda settings, candidates, chain length) must not stop the
    instances it already has, so they apply to new deployments only."""
    root = parse_document(xml, max_bytes)
    found = _schema_problems(root)
    if not stored:
        found += (extension_problems(root) + candidate_problems(root)
                  + language_problems(root))
    found += translate_expressions(root)  # Camunda's ${…} and bare timer values, in place
    tasks, task_problems = _task_meta(root, handlers)
    found += task_problems
    found += _code_problems(root)
    found += data_store_problems(root)
    found += call_problems(root)
    if not found and not stored:  # a long chain is measured in an otherwise sound document
        found += path_problems(root)
    if found:
        raise InvalidBpmn(_summary(found), found)
    process_id, spec, subprocess_specs, spiff_problems = _spiff_specs(root)
    if spiff_problems:
        raise InvalidBpmn(_summary(spiff_problems), spiff_problems)
    timers = [
        parent.get("id")
        for el in root.iter(f"{{{BPMN_NS}}}timerEventDefinition")
        if (parent := el.getparent()) is not None
    ]
    meta = {"process_id": process_id, "tasks": tasks, "timers": timers}
    routed = [{"element_id": el.get("id"), "line": el.sourceline, **named}
              for el in root.iter(f"{{{BPMN_NS}}}userTask") if (named := candidates(el)[0])]
    return ReadBpmn(process_id, spec, subprocess_specs, meta, routed)


def _summary(found: list[dict]) -> str:
    first = found[0]
    where = f" (element {first['element_id']}" if first["element_id"] else " ("
    where += f", line {first['line']})" if first["element_id"] else f"line {first['line']})"
    more = f"; and {len(found) - 1} more" if len(found) > 1 else ""
    return f"BPMN rejected: {first['message']}{where}{more}"
