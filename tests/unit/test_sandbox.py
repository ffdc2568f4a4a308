"""Tests for engine.bpm.sandbox: restricted scripts and expressions for BPMN diagrams."""

import importlib
import json
import sys
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

# The project is not installed into the venv and there is no conftest; make
# `engine` importable however pytest is started.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sandbox = importlib.import_module("engine.bpm.sandbox")
RestrictedCodeError = sandbox.RestrictedCodeError
RestrictedEnvironment = sandbox.RestrictedEnvironment
ScriptProblem = sandbox.ScriptProblem
check_expression = sandbox.check_expression
check_script = sandbox.check_script
ExpressionError = importlib.import_module("engine.bpm.expressions").ExpressionError
make_script_engine = sandbox.make_script_engine


@pytest.fixture
def env() -> RestrictedEnvironment:
    return RestrictedEnvironment()


# --- allowed code runs and gives the right answers ---------------------------------------------

@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("action == 'approve'", True),
        ("n > 3 and not to_approver", True),
        ("'yes' if n > 3 else 'no'", "yes"),
        ("sum(items)", 6),
        ("sorted(items)[1:]", [2, 3]),
        ("d.items()", [("a", 1)]),
        ("len(items) + max(items) - min(items)", 5),
        ("sorted(items)[::-1]", [3, 2, 1]),
        ("f'{action}-{n:03d}'", "approve-005"),
        ("round(n * 5 / 2) + abs(-1)", 13),
        ("any(items) and all(items)", True),
        ("list(zip(items, range(3)))[-1]", (3, 2)),
        ("enumerate(items)[2]", (2, 3)),
        ("d['a'] + d.get('b', 10)", 11),
        ("str(n) + str(float(n)) + str(bool(n))", "55.0True"),
        ("tuple(set(items)) == (1, 2, 3)", True),
        ("sla_duration", "PT2H"),
        ("\n      holder_post\n    ", "post-7"),  # indented the way diagram XML writes it
    ],
)
def test_expressions_evaluate(env, expression, expected):
    context = {"action": "approve", "n": 5, "to_approver": False, "items": [1, 2, 3],
               "d": {"a": 1}, "sla_duration": "PT2H", "holder_post": "post-7"}
    before = json.dumps(context, sort_keys=True)
    assert check_expression(expression) == []
    assert env.evaluate(expression, context) == expected
    assert json.dumps(context, sort_keys=True) == before  # evaluating leaves data alone


def test_expression_sees_external_context(env):
    assert env.evaluate("a + b", {"a": 1}, external_context={"b": 2}) == 3


def test_script_updates_task_data(env):
    script = """
x = a + 1
total = sum(v for v in items)
data_list.append(3)
d['k'] = 5
result = 'yes' if n > 3 else 'no'
squares = [i * i for i in items]
label = f"{result}:{total}"
count = 0
for i, v in enumerate(items):
    count += v
first, rest = items[0], items[1:]
def double(z):
    return z * 2
doubled = double(x)
"""
    context = {"a": 1, "items": [1, 2, 3], "data_list": [1], "d": {}, "n": 5}
    assert check_script(script) == []
    assert env.execute(script, context) is True
    assert context["x"] == 2
    assert context["total"] == 6
    assert context["data_list"] == [1, 3]
    assert context["d"] == {"k": 5}
    assert context["result"] == "yes"
    assert context["squares"] == [1, 4, 9]
    assert context["label"] == "yes:6"
    assert context["count"] == 6
    assert (context["first"], context["rest"]) == (1, [2, 3])
    assert context["doubled"] == 4
    assert "double" not in context  # functions are not left in task data
    json.dumps(context)


def test_script_leaves_no_builtins_guards_modules_or_functions(env):
    context = {"items": [1, 2]}
    env.execute("m = math\nf = len\ng = (i for i in items)\nh = lambda: 1\nprint('hi')\nok = 1",
                context)
    assert context == {"items": [1, 2], "ok": 1}


def test_script_runs_again_on_same_data(env):
    # The cleanup must leave data in a state the next script accepts.
    context = {"n": 1}
    env.execute("n = n + 1", context)
    env.execute("n += 1", context)
    assert context == {"n": 3}


def test_environment_globals_are_usable_but_not_left_behind() -> None:
    env = RestrictedEnvironment({"helper": lambda v: v * 10, "RATE": 3})
    context = {"x": 2}
    env.execute("y = helper(x) + RATE", context)
    assert context == {"x": 2, "y": 23}


def test_task_data_may_not_shadow_provided_names():
    env = RestrictedEnvironment({"helper": len})
    with pytest.raises(ValueError, match="helper"):
        env.execute("y = 1", {"helper": "oops"})


@pytest.mark.parametrize("reserved", ["__builtins__", "_getattr_", "_write_", "_print"])
def test_task_data_may_not_supply_guards(env, reserved):
    # e.g. a crafted form field trying to swap a guard for something permissive.
    with pytest.raises(ValueError, match="reserved"):
        env.execute("y = 1", {reserved: {}})
    with pytest.raises(ValueError, match="reserved"):
        env.evaluate("1", {reserved: {}})


# --- deploy-time checks ------------------------------------------------------------------------

def messages(problems: list[ScriptProblem]) -> list[str]:
    return [p.message for p in problems]


@pytest.mark.parametrize(
    ("script", "line", "message"),
    [
        ("x = 1\nimport os", 2, "imports are not allowed"),
        ("from os import path", 1, "imports are not allowed"),
        ("y = __import__('os')", 1, "names starting with '_' are not allowed: __import__"),
        ("_secret = 1", 1, "names starting with '_' are not allowed: _secret"),
        ("y = x._private", 1, "attributes starting with '_' are not allowed: _private"),
        ("y = ().__class__", 1, "attributes starting with '_' are not allowed: __class__"),
        ("def f(_a):\n    return _a", 1, "names starting with '_' are not allowed: _a"),
        ("def _f():\n    pass", 1, "names starting with '_' are not allowed: _f"),
        ("try:\n    pass\nexcept Exception as _e:\n    pass", 3,
         "names starting with '_' are not allowed: _e"),
        ("global g\ng = 1", 1, "'global' statements are not allowed"),
        ("def f():\n    nonlocal g", 2, "'nonlocal' statements are not allowed"),
        ("class A:\n    pass", 1, "class definitions are not allowed"),
        ("async def f():\n    pass", 1, "async functions are not allowed"),
        ("def f():\n    await g()", 2, "async/await is not allowed"),
        ("def f():\n    yield 1", 2, "'yield' is not allowed"),
        ("def f():\n    yield from g", 2, "'yield' is not allowed"),
        ("y = g.gi_frame", 1, "'gi_frame' is not allowed in scripts"),
        ("d['k'] += 1", 1,
         "'+=' and the like only work on plain variables; write d['k'] = d['k'] + 1 instead"),
        ("x = 1\nif x\n    y = 2", 2, "syntax error: expected ':'"),
        ("x = (1,\n", 1, "syntax error: '(' was never closed"),
    ],
)
def test_check_script_refuses(script, line, message):
    assert ScriptProblem(line, message) in check_script(script)


DENIED = ["open", "eval", "exec", "compile", "getattr", "setattr", "delattr", "globals",
          "locals", "vars", "input", "breakpoint", "help", "memoryview", "type", "object",
          "super", "classmethod", "staticmethod", "property", "exit", "quit"]


@pytest.mark.parametrize("name", DENIED)
def test_dangerous_builtins_refused_as_calls_and_names(name):
    message = f"'{name}' is not available in scripts"
    assert ScriptProblem(2, message) in check_script(f"x = 1\ny = {name}(x)")
    assert ScriptProblem(1, message) in check_script(f"f = {name}")
    assert ScriptProblem(1, message) in check_expression(f"{name}(x)")


def test_check_collects_every_problem_in_line_order():
    script = "import os\ny = ().__class__.__bases__\nclass A:\n    pass\nz = open('f')"
    assert check_script(script) == [
        ScriptProblem(1, "imports are not allowed"),
        ScriptProblem(2, "attributes starting with '_' are not allowed: __class__"),
        ScriptProblem(2, "attributes starting with '_' are not allowed: __bases__"),
        ScriptProblem(3, "class definitions are not allowed"),
        ScriptProblem(5, "'open' is not available in scripts"),
    ]


def test_messages_are_plain_english():
    scripts = ["import os", "y = x.__dict__", "eval('1')", "d['k'] += 1", "y = g.gi_code",
               "print = 1", "x = (", "match x:\n    case 1:\n        pass"]
    for script in scripts:
        for problem in check_script(script):
            assert not problem.message[0].isupper(), problem
            assert '"' not in problem.message, problem
            assert "Line " not in problem.message, problem
            assert "ast." not in problem.message, problem
            assert "<" not in problem.message, problem


def test_check_expression_wants_one_expression():
    assert check_expression("x = 1") == [
        ScriptProblem(1, "a single expression is expected here, not statements")]
    assert check_expression("") == [ScriptProblem(None, "the expression is empty")]
    assert messages(check_expression("x ==")) == ["syntax error: invalid syntax"]
    assert check_expression("__import__('os')") == [
        ScriptProblem(1, "names starting with '_' are not allowed: __import__")]


def test_harmless_code_is_not_refused():
    assert check_script("for _ in range(3):\n    pass\nf = lambda v: v + 1\ny = f(2)") == []
    assert check_script("print('debug', x)") == []
    assert check_expression("lambda v: v") == [
        ScriptProblem(1, "lambdas are not allowed in expressions")]


# --- runtime refusal -----------------------------------------------------------------------------

@pytest.mark.parametrize(
    "script",
    [
        "__import__('os').system('touch {marker}')",
        "import os\nos.system('touch {marker}')",
        "from os import system\nsystem('touch {marker}')",
        "open('{marker}', 'w').write('x')",
        "[c for c in ().__class__.__bases__[0].__subclasses__()]\nopen('{marker}', 'w')",
        "getattr(x, '__class__')\nopen('{marker}', 'w')",
        "eval(\"open('{marker}', 'w')\")",
        "exec(\"open('{marker}', 'w')\")",
    ],
)
def test_runtime_refuses_before_running_anything(env, tmp_path, script):
    marker = tmp_path / "marker"
    context = {"x": 1}
    with pytest.raises(RestrictedCodeError):
        env.execute(f"ran = True\n{script.format(marker=marker)}", context)
    assert not marker.exists()
    assert context == {"x": 1}  # not even the first line ran


@pytest.mark.parametrize(
    "expression",
    [
        "__import__('os').system('true')",
        "open('/etc/passwd').read()",
        "().__class__.__bases__[0].__subclasses__()",
        "getattr(x, '__class__')",
    ],
)
def test_runtime_refuses_expressions(env, expression):
    with pytest.raises(ExpressionError) as err:
        env.evaluate(expression, {"x": 1})
    assert "line 1: " in str(err.value)


def test_guards_hold_at_runtime(env):
    # These pass the script check; the guards stop them while running.
    with pytest.raises(NotImplementedError):  # str.format can reach attributes
        env.execute("y = '{0.__class__}'.format(x)", {"x": 1})
    with pytest.raises(TypeError):  # writes only to plain dicts and lists
        env.execute("s[0] = 'x'", {"s": "abc"})
    with pytest.raises(AttributeError):  # missing attributes raise, not None
        env.execute("y = x.missing", {"x": 1})
    with pytest.raises(NameError):
        env.execute("y = SystemExit", {})
    # expressions have no attributes but a few methods, and no such names at all
    for expression in ("'{0.__class__}'.format(x)", "x.missing", "SystemExit"):
        with pytest.raises(ExpressionError):
            env.evaluate(expression, {"x": 1})


def test_script_cannot_raise_past_except_exception(env):
    # Exception.mro() reaches BaseException, which SpiffWorkflow would not catch.
    with pytest.raises(RuntimeError, match="BaseException"):
        env.execute("raise Exception.mro()[1]()", {})


# --- end to end with SpiffWorkflow ------------------------------------------------------------

BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
    id="defs" targetNamespace="http://sanchika.test">
  <bpmn:process id="proc" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="calc" scriptFormat="python">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>{script}</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:exclusiveGateway id="gw" default="f_small">
      <bpmn:incoming>f2</bpmn:incoming>
      <bpmn:outgoing>f_big</bpmn:outgoing><bpmn:outgoing>f_small</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="calc"/>
    <bpmn:sequenceFlow id="f2" sourceRef="calc" targetRef="gw"/>
    <bpmn:sequenceFlow id="f_big" sourceRef="gw" targetRef="big">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">
        y &gt; 10
      </bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_small" sourceRef="gw" targetRef="small"/>
    <bpmn:scriptTask id="big" scriptFormat="python">
      <bpmn:incoming>f_big</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:script>size = 'big'</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:scriptTask id="small" scriptFormat="python">
      <bpmn:incoming>f_small</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>
      <bpmn:script>size = 'small'</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:sequenceFlow id="f3" sourceRef="big" targetRef="end"/>
    <bpmn:sequenceFlow id="f4" sourceRef="small" targetRef="end"/>
    <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming><bpmn:incoming>f4</bpmn:incoming>
    </bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>
"""


def start_workflow(script: str, x: int) -> BpmnWorkflow:
    parser = BpmnParser()
    parser.add_bpmn_str(BPMN.format(script=escape(script)).encode())
    workflow = BpmnWorkflow(parser.get_spec("proc"), script_engine=make_script_engine())
    workflow.get_next_task(state=TaskState.READY).data["x"] = x
    return workflow


@pytest.mark.parametrize(("x", "y", "size"), [(7, 14, "big"), (3, 6, "small")])
def test_workflow_runs_script_and_gateway(x, y, size):
    workflow = start_workflow("y = x * 2", x)
    workflow.do_engine_steps()
    assert workflow.is_completed()
    assert workflow.data == {"x": x, "y": y, "size": size}
    json.dumps(workflow.data)


def test_workflow_refuses_import_at_runtime(tmp_path):
    marker = tmp_path / "marker"
    workflow = start_workflow(f"import os\nos.system('touch {marker}')\ny = x * 2", 7)
    with pytest.raises(WorkflowTaskException) as err:
        workflow.do_engine_steps()
    assert "imports are not allowed" in str(err.value)
    assert not marker.exists()
    assert not workflow.is_completed()
    calc = workflow.get_next_task(spec_name="calc")
    assert calc.state == TaskState.ERROR
    assert "y" not in calc.data
