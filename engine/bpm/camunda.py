"""What the Camunda extensions in an uploaded diagram mean in Sanchika.

Diagrams drawn in Camunda Modeler carry `camunda:` attributes and extension elements.
Each one is either honoured (with the meaning written in docs/bpmn-conventions.md) or
refused with its element and line — never accepted and then ignored:

- `camunda:candidateGroups` names the post (by its code) and `camunda:candidateUsers`
  the user (by username; the step goes to that user's post) that receives a user task;
- `${…}` JUEL expressions are translated to the restricted evaluator (engine/bpm/juel.py),
  and a timer written as a bare ISO-8601 value (`PT5M`, as Camunda writes it) is read
  as that value;
- everything Sanchika cannot do (forms, listeners, Java classes, async continuations,
  input/output mappings, …) is refused, saying what to use instead.
"""

from __future__ import annotations

import re

from lxml import etree

from engine.bpm.juel import JuelError, is_juel, translate

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
ZEEBE_NS = "http://camunda.org/schema/zeebe/1.0"
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"

# Elements whose text is an expression the engine evaluates.
EXPRESSION_TAGS = {
    "conditionExpression", "timeDuration", "timeDate", "timeCycle",
    "loopCardinality", "completionCondition",
}
TIMER_TAGS = {"timeDuration", "timeDate", "timeCycle"}

# Attributes with a meaning in Sanchika, by the element they are on.
_SERVICE = {"type", "topic", "delegateExpression"}
HONOURED: dict[str, set[str]] = {
    "userTask": {"assignee", "candidateGroups", "candidateUsers"},
    "serviceTask": _SERVICE,
    "sendTask": _SERVICE,
}
# Written by Camunda Modeler on every new diagram or by its templates: they describe the
# diagram, not its execution (see docs/bpmn-conventions.md for why each is harmless).
BOOKKEEPING = {"modelerTemplate", "modelerTemplateVersion", "modelerTemplateIcon"}
PROCESS_BOOKKEEPING = {"versionTag", "historyTimeToLive", "isStartableInTasklist"}
# Accepted when they say what Sanchika does anyway.
_ASYNC = {"asyncBefore", "asyncAfter", "async"}

_ASYNC_MESSAGE = ("asynchronous continuations are not supported: every step runs inside "
                  "the officer's action, in one transaction; remove camunda:{name} or set "
                  "it to false")
_FORM_MESSAGE = ("forms are not supported: Sanchika shows its own screen for each step, "
                 "with the actions in the step's 'actions' property; remove camunda:{name}")
_JAVA_MESSAGE = ("Java classes and expressions cannot run in Sanchika: use "
                 "camunda:type=\"external\" with camunda:topic naming a handler")
REFUSALS: dict[str, str] = {
    **{name: _ASYNC_MESSAGE for name in _ASYNC},
    **{name: _FORM_MESSAGE for name in ("formKey", "formRef", "formRefBinding",
                                        "formRefVersion", "formHandlerClass")},
    "class": _JAVA_MESSAGE, "expression": _JAVA_MESSAGE,
    "resultVariable": "result variables are not supported: a handler or script sets "
                      "process data itself",
    "dueDate": "step due times come from the SLA rules (a boundary timer with "
               "'sla_duration'); camunda:dueDate is not supported",
    "followUpDate": "follow-up dates are not supported; use a boundary timer",
    "priority": "a step's priority is its file's or receipt's priority; "
                "camunda:priority is not supported",
    "candidateStarterGroups": "who may start a process is decided by Sanchika's roles "
                              "and posts; camunda:candidateStarterGroups is not supported",
    "candidateStarterUsers": "who may start a process is decided by Sanchika's roles "
                             "and posts; camunda:candidateStarterUsers is not supported",
    "initiator": "camunda:initiator is not supported: the history records who acted "
                 "at every step",
    "jobPriority": "job priorities are not supported (there is no job executor)",
    "taskPriority": "task priorities are not supported",
}
_EXTENSION_REFUSALS = {
    "executionListener": "listeners are not supported: they run Java or scripts outside "
                         "the diagram's flow; model the work as a task",
    "taskListener": "listeners are not supported: they run Java or scripts outside the "
                    "diagram's flow; model the work as a task",
    "formData": "forms are not supported: Sanchika shows its own screen for each step",
    "formField": "forms are not supported: Sanchika shows its own screen for each step",
    "inputOutput": "input/output mappings are not supported: tasks read and write the "
                   "process data directly",
    "connector": "connectors are not supported: use camunda:type=\"external\" with "
                 "camunda:topic naming a handler",
}
# Extension elements with a meaning (`actions` in camunda:properties, read by the reader).
_EXTENSIONS_HONOURED = {"properties", "property"}

# A timer value as Camunda writes it, without quotes: a duration, a date-time, a cycle.
_ISO_TIMER = re.compile(
    r"\A(R\d*/)?(P(?=[\dT])[\dYMWDTHS.,]*"
    r"|\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2})?)?)"
    r"(/(P(?=[\dT])[\dYMWDTHS.,]*|\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2})?)?))?\Z")


def problem(element: etree._Element, message: str, line: int | None = None) -> dict:
    return {"element_id": element.get("id"), "line": line or element.sourceline,
            "message": message}


def _local(el: etree._Element) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def _namespace(el: etree._Element) -> str:
    return etree.QName(el).namespace or "" if isinstance(el.tag, str) else ""


def _owner(el: etree._Element) -> etree._Element:
    """The nearest enclosing element with an id (what the designer clicks on)."""
    current: etree._Element | None = el
    while current is not None and not current.get("id"):
        current = current.getparent()
    return current if current is not None else el


# ------------------------------------------------------------------ attributes


def extension_problems(root: etree._Element) -> list[dict]:
    """Every camunda: (and Camunda 8 zeebe:) attribute and extension element that
    Sanchika does not honour, with its element and line."""
    found: list[dict] = []
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        namespace = _namespace(el)
        if namespace == CAMUNDA_NS and _local(el) not in _EXTENSIONS_HONOURED:
            name = _local(el)
            message = _EXTENSION_REFUSALS.get(
                name, f"the extension camunda:{name} is not supported by Sanchika")
            found.append(problem(_owner(el), f"camunda:{name}: {message}", el.sourceline))
        elif namespace == ZEEBE_NS:
            found.append(problem(_owner(el), f"zeebe:{_local(el)}: Camunda 8 (Zeebe) "
                                 "extensions are not supported; use the Camunda 7 ones",
                                 el.sourceline))
        for key, value in el.attrib.items():
            attr = etree.QName(key)
            if attr.namespace == CAMUNDA_NS:
                why = _attribute_problem(_local(el), attr.localname, value)
                if why:
                    found.append(problem(_owner(el), f"camunda:{attr.localname}: {why}",
                                         el.sourceline))
            elif attr.namespace == ZEEBE_NS:
                found.append(problem(_owner(el), f"zeebe:{attr.localname}: Camunda 8 "
                                     "(Zeebe) extensions are not supported", el.sourceline))
    return found


def _attribute_problem(element: str, name: str, value: str) -> str | None:
    """Why this camunda: attribute is refused here, or None when it is honoured."""
    if name in HONOURED.get(element, set()):
        if name == "type" and value != "external":
            return (f"camunda:type=\"{value}\" is not supported; service tasks are "
                    "camunda:type=\"external\" with camunda:topic naming a handler")
        return None
    if name in BOOKKEEPING or (element == "process" and name in PROCESS_BOOKKEEPING):
        return None
    if name in _ASYNC and value.strip().lower() == "false":
        return None  # what Sanchika does anyway
    if name == "exclusive":
        return None  # only qualifies an async continuation, refused above when set
    if name in REFUSALS:
        return REFUSALS[name].format(name=name)
    return f"camunda:{name} is not supported by Sanchika on a {element}; remove it"


# ------------------------------------------------------------------ user tasks


def candidates(el: etree._Element) -> tuple[dict[str, str], list[dict]]:
    """The post (by code) or user (by username) a user task's candidates name:
    ({'post_code': …} or {'username': …} or {}, problems). Sanchika gives each step to
    exactly one post, so exactly one group or one user may be named."""
    groups = (el.get(f"{{{CAMUNDA_NS}}}candidateGroups") or "").strip()
    users = (el.get(f"{{{CAMUNDA_NS}}}candidateUsers") or "").strip()
    if not groups and not users:
        return {}, []
    if groups and users:
        return {}, [problem(el, "give camunda:candidateGroups or camunda:candidateUsers, "
                            "not both: a step goes to one post")]
    if el.get(f"{{{CAMUNDA_NS}}}assignee"):
        return {}, [problem(el, "give camunda:assignee or candidates, not both: a step "
                            "goes to one post")]
    attribute, value, key = ("candidateGroups", groups, "post_code")
    if not groups:
        attribute, value, key = "candidateUsers", users, "username"
    if is_juel(value):
        return {}, [problem(el, f"camunda:{attribute}: expressions are not supported here; "
                            "name the post, or use camunda:assignee for a post worked out "
                            "from the process data")]
    names = [v.strip() for v in value.split(",") if v.strip()]
    if len(names) != 1:
        what = "post code" if groups else "username"
        return {}, [problem(el, f"camunda:{attribute} names {len(names)} "
                            f"{what}s ({', '.join(names)}); Sanchika gives a step to exactly "
                            f"one post, so name one {what}")]
    return {key: names[0]}, []


# Script and expression languages Sanchika runs: Python (its restricted evaluator).
PYTHON_LANGUAGES = {"python", "py", "text/x-python", "text/python", "application/x-python"}


def language_problems(root: etree._Element) -> list[dict]:
    """A script or expression in another language (Camunda Modeler offers Groovy and
    JavaScript) would be run as Python and could mean something else: refused."""
    found = []
    for el in root.iter(f"{{{BPMN_NS}}}scriptTask"):
        language = (el.get("scriptFormat") or "").strip()
        if language and language.lower() not in PYTHON_LANGUAGES:
            found.append(problem(el, f"scriptFormat '{language}': scripts run as Python in "
                                 "Sanchika's restricted evaluator; rewrite the script in "
                                 "Python and set scriptFormat=\"python\" (or leave it out)"))
    for el in root.iter():
        language = (el.get("language") or "").strip() if isinstance(el.tag, str) else ""
        if (language and _local(el) in EXPRESSION_TAGS
                and language.lower() not in PYTHON_LANGUAGES | {"juel"}):
            found.append(problem(_expression_owner(el), f"{_local(el)} language '{language}': "
                                 "expressions are Python (or ${…} JUEL) in Sanchika",
                                 el.sourceline))
    return found


_BEAN = re.compile(r"\A\s*[$#]\{\s*([A-Za-z][A-Za-z0-9_]*)\s*\}\s*\Z")


def handler_name(el: etree._Element) -> str | None:
    """The handler a service or send task names: camunda:topic, or
    camunda:delegateExpression — a plain name, or `${name}` as Camunda writes a
    delegate (the bean's name is the handler's)."""
    topic = el.get(f"{{{CAMUNDA_NS}}}topic")
    if topic:
        return topic
    delegate = el.get(f"{{{CAMUNDA_NS}}}delegateExpression")
    if delegate:
        bean = _BEAN.match(delegate)
        return bean.group(1) if bean else delegate
    return None


def candidate_problems(root: etree._Element) -> list[dict]:
    """The user tasks whose candidates Sanchika cannot honour."""
    return [p for el in root.iter(f"{{{BPMN_NS}}}userTask") for p in candidates(el)[1]]


# ------------------------------------------------------------------ expressions


def translate_expressions(root: etree._Element) -> list[dict]:
    """Rewrite, in the parsed tree, what Camunda writes in its own expression language
    into the restricted evaluator's: `${…}` JUEL in expressions and assignees, and bare
    ISO-8601 timer values. The stored document is unchanged; this runs on every read."""
    found: list[dict] = []
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        name = _local(el)
        if name in EXPRESSION_TAGS or (el.get(XSI_TYPE) or "").endswith("tFormalExpression"):
            text = (el.text or "").strip()
            if name in TIMER_TAGS and _ISO_TIMER.match(text):
                el.text = repr(text)
            elif is_juel(text):
                try:
                    el.text = translate(text)
                except JuelError as exc:
                    found.append(problem(_expression_owner(el),
                                         f"{name}: {text!r} cannot be used: {exc}",
                                         el.sourceline))
        if name == "userTask":
            key = f"{{{CAMUNDA_NS}}}assignee"
            assignee = el.get(key) or ""
            if is_juel(assignee):
                try:
                    el.set(key, translate(assignee))
                except JuelError as exc:
                    found.append(problem(el, f"camunda:assignee {assignee!r} cannot be used: "
                                         f"{exc}"))
    return found


def _expression_owner(el: etree._Element) -> etree._Element:
    """The element an expression belongs to: a timer's event, else its parent."""
    owner = el.getparent()
    if owner is None:
        return el
    grandparent = owner.getparent()
    if _local(el) in TIMER_TAGS and grandparent is not None:
        owner = grandparent
    return _owner(owner)
