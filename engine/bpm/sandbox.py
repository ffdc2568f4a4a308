"""Restricted evaluation of BPMN scripts and expressions.

Uploaded diagrams are untrusted, so SpiffWorkflow's default eval/exec must not
run their code. Expressions go to the bounded evaluator (engine/bpm/expressions.py).
Scripts: RestrictedPython compiles the code so that attribute, item and
iteration access go through guard functions we supply, and refuses names
starting with '_'. On top of that a small AST walk refuses a denylist of
builtins and constructs with plain-English messages. The same check runs at
deploy time (check_expression / check_script, with engine/bpm/script_bounds.py for
what is provably unbounded) and before every run; the run itself happens in a worker
process under CPU and memory limits (engine/bpm/script_pool.py).
"""

from __future__ import annotations

import ast
import contextlib
import functools
import logging
import operator
import re
import textwrap
import types
from collections.abc import Callable, Iterator
from typing import Any, Literal, NamedTuple

from RestrictedPython import (
    PrintCollector,
    compile_restricted_eval,
    compile_restricted_exec,
    safe_builtins,
    utility_builtins,
)
from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safer_getattr_raise,
)
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import (
    BasePythonScriptEngineEnvironment,
)

from engine.bpm import expressions, script_bounds, script_pool

log = logging.getLogger(__name__)

Mode = Literal["eval", "exec"]


class ScriptProblem(NamedTuple):
    line: int | None  # 1-based line inside the script/expression, if known
    message: str  # plain English, shown to the diagram author


class RestrictedCodeError(ValueError):
    """Raised at run time for code the deploy-time check would refuse."""

    def __init__(self, problems: tuple[ScriptProblem, ...]):
        self.problems = problems
        super().__init__("; ".join(_describe(p) for p in problems))


def _describe(problem: ScriptProblem) -> str:
    return f"line {problem.line}: {problem.message}" if problem.line else problem.message


# Builtins a script may not name. None of them is in the runtime builtins
# either; refusing them up front gives the author a clear message.
DENIED_NAMES = frozenset({
    "open", "eval", "exec", "compile", "__import__", "getattr", "setattr",
    "delattr", "globals", "locals", "vars", "input", "breakpoint", "help",
    "memoryview", "type", "object", "super", "classmethod", "staticmethod",
    "property", "exit", "quit",
})

# Constructs refused outright. Messages are shared with the translation of
# RestrictedPython's own errors so that duplicates can be dropped.
_NODE_MESSAGES: dict[type[ast.AST], str] = {
    ast.Import: "imports are not allowed",
    ast.ImportFrom: "imports are not allowed",
    ast.Global: "'global' statements are not allowed",
    ast.Nonlocal: "'nonlocal' statements are not allowed",
    ast.ClassDef: "class definitions are not allowed",
    ast.AsyncFunctionDef: "async functions are not allowed",
    ast.AsyncFor: "async/await is not allowed",
    ast.AsyncWith: "async/await is not allowed",
    ast.Await: "async/await is not allowed",
    ast.Yield: "'yield' is not allowed",
    ast.YieldFrom: "'yield' is not allowed",
    ast.TryStar: "'except*' is not allowed",
    ast.Match: "'match' statements are not allowed",
}
_NODE_MESSAGES_BY_NAME = {cls.__name__: msg for cls, msg in _NODE_MESSAGES.items()}


def _is_private(name: str) -> bool:
    return name.startswith("_") and name != "_"  # a bare '_' is a harmless throwaway


_NAMED_NODES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.ExceptHandler)


def _names(node: ast.AST) -> Iterator[tuple[str, str]]:
    """(kind, name) pairs a node binds or reads, kind being 'name' or 'attribute'."""
    if isinstance(node, ast.Name):
        yield "name", node.id
    elif isinstance(node, ast.Attribute):
        yield "attribute", node.attr
    elif isinstance(node, ast.arg):
        yield "name", node.arg
    elif isinstance(node, _NAMED_NODES) and node.name:  # an except clause may have no name
        yield "name", node.name


def _reading_order(node: ast.AST) -> tuple[int, int]:
    # By where a node ends, so 'a.__x.__y' reports __x before __y.
    return getattr(node, "end_lineno", 0) or 0, getattr(node, "end_col_offset", 0) or 0


def _walk(tree: ast.AST) -> list[ScriptProblem]:
    problems = []
    for node in sorted(ast.walk(tree), key=_reading_order):
        line = getattr(node, "lineno", None)
        if type(node) in _NODE_MESSAGES:
            problems.append(ScriptProblem(line, _NODE_MESSAGES[type(node)]))
        for kind, name in _names(node):
            if _is_private(name):
                message = f"{kind}s starting with '_' are not allowed: {name}"
            elif kind == "name" and name in DENIED_NAMES:
                message = f"'{name}' is not available in scripts"
            else:
                continue
            problems.append(ScriptProblem(line, message))
    return problems


# RestrictedPython reports 'Line N: <message>'; map its wording onto ours.
_RP_ERROR = re.compile(r"Line (\d+|None): (.*)", re.DOTALL)
_RP_MESSAGES: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = [
    (re.compile(r'"(.+)" is an invalid variable name because it starts with "_"'),
     lambda m: f"names starting with '_' are not allowed: {m[1]}"),
    (re.compile(r'"(.+)" is an invalid attribute name because it starts with "_"'),
     lambda m: f"attributes starting with '_' are not allowed: {m[1]}"),
    (re.compile(r"Augmented assignment of (attributes|object items)"),
     lambda m: "'+=' and the like only work on plain variables; write d['k'] = d['k'] + 1 instead"),
    (re.compile(r"(Exec|Eval) calls are not allowed"),
     lambda m: f"'{m[1].lower()}' is not available in scripts"),
    (re.compile(r'"\*" imports are not allowed'), lambda m: "imports are not allowed"),
    (re.compile(r"(\w+) statements are not allowed"),
     lambda m: _NODE_MESSAGES_BY_NAME.get(m[1], f"{m[1]} statements are not allowed")),
    (re.compile(r'"(.+)" is a restricted name'), lambda m: f"'{m[1]}' is not allowed in scripts"),
    (re.compile(r'"(.+)" is a reserved name'), lambda m: f"'{m[1]}' is a reserved name in scripts"),
]


def _translate(error: str) -> ScriptProblem:
    match = _RP_ERROR.match(error)
    line, text = (None, error) if match is None else (
        int(match[1]) if match[1].isdigit() else None, match[2])
    for pattern, plain in _RP_MESSAGES:
        found = pattern.search(text)
        if found:
            return ScriptProblem(line, plain(found))
    text = text.rstrip(".").replace('"', "'")  # anything unforeseen, made a little plainer
    return ScriptProblem(line, text[:1].lower() + text[1:])


class _Compiled(NamedTuple):
    code: types.CodeType | None  # None whenever there are problems
    problems: tuple[ScriptProblem, ...]


def _syntax_problem(err: SyntaxError, text: str, mode: Mode) -> ScriptProblem:
    if mode == "eval":
        try:
            ast.parse(text, mode="exec")
        except SyntaxError:
            pass
        else:  # valid statements, just not an expression (often '=' for '==')
            return ScriptProblem(err.lineno, "a single expression is expected here, not statements")
    return ScriptProblem(err.lineno, f"syntax error: {err.msg}")


# Cached: gateways, timers and assignees evaluate the same strings repeatedly.
@functools.lru_cache(maxsize=2048)
def _compile(source: str, mode: Mode) -> _Compiled:
    # Diagram XML often indents the code; dedent keeps line numbers intact.
    text = textwrap.dedent(source)
    if mode == "eval" and not text.strip():
        return _Compiled(None, (ScriptProblem(None, "the expression is empty"),))
    try:
        tree = ast.parse(text, mode=mode)
    except SyntaxError as err:
        return _Compiled(None, (_syntax_problem(err, text, mode),))
    except (RecursionError, MemoryError, ValueError):
        return _Compiled(None, (ScriptProblem(None, "the code is nested too deeply to read"),))
    problems = _walk(tree)
    compiler = compile_restricted_eval if mode == "eval" else compile_restricted_exec
    try:
        # '<string>' lets SpiffWorkflow report error lines
        result = compiler(text, "<string>")
    except (RecursionError, MemoryError):  # RestrictedPython's transformer recurses
        return _Compiled(None, (ScriptProblem(None, "the code is nested too deeply to read"),))
    ours = {p.message for p in problems}  # RestrictedPython repeats some of our findings
    for problem in map(_translate, result.errors):
        if problem.message not in ours and problem not in problems:
            problems.append(problem)
    problems.sort(key=lambda p: p.line or 0)
    if not problems and result.code is None:  # not expected; refuse rather than guess
        problems.append(ScriptProblem(None, "the code could not be compiled"))
    if problems:
        return _Compiled(None, tuple(problems))
    return _Compiled(result.code, ())


def check_expression(source: str) -> list[ScriptProblem]:
    """Deploy-time check of a condition / timer / assignee expression: what the bounded
    evaluator refuses, and constant parts past its limits."""
    return [ScriptProblem(p.line, p.message) for p in expressions.check(source)]


def check_script(source: str) -> list[ScriptProblem]:
    """Deploy-time check of a script task body: the restrictions, then what is provably
    unbounded (a loop that cannot end, constants past the limits)."""
    problems = list(_compile(source, "exec").problems)
    if not problems:
        problems += [ScriptProblem(p.line, p.message)
                     for p in script_bounds.unbounded(textwrap.dedent(source))]
    return problems


def _runnable(source: str, mode: Mode) -> types.CodeType:
    compiled = _compile(source, mode)
    if compiled.code is None:
        raise RestrictedCodeError(compiled.problems)
    return compiled.code


_INPLACE_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "+=": operator.iadd, "-=": operator.isub, "*=": operator.imul,
    "/=": operator.itruediv, "//=": operator.ifloordiv, "%=": operator.imod,
    "**=": operator.ipow, "<<=": operator.ilshift, ">>=": operator.irshift,
    "|=": operator.ior, "^=": operator.ixor, "&=": operator.iand,
    "@=": operator.imatmul,
}


def _inplacevar(op: str, target: Any, value: Any) -> Any:
    # RestrictedPython rewrites 'n += 1' to '_inplacevar_("+=", n, 1)' and ships no default.
    return _INPLACE_OPS[op](target, value)


def _apply(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    # Target of the rewrite for calls using *args / **kwargs.
    return func(*args, **kwargs)


def _build_builtins() -> dict[str, Any]:
    allowed = dict(safe_builtins)
    # No classes, no attribute writes on arbitrary objects, the guard is a global,
    # and nothing that slips past 'except Exception' (SystemExit would stop a worker).
    for name in ("__build_class__", "setattr", "delattr", "_getattr_", "BaseException",
                 "SystemExit", "KeyboardInterrupt", "GeneratorExit"):
        allowed.pop(name, None)
    allowed.update({name: utility_builtins[name] for name in ("math", "set", "frozenset")})
    # safe_builtins leaves these out only because they iterate in C past
    # _getiter_; our _getiter_ is plain iter(), so nothing is bypassed.
    allowed.update({
        "all": all, "any": any, "dict": dict, "enumerate": enumerate,
        "filter": filter, "list": list, "map": map, "max": max, "min": min,
        "reversed": reversed, "sorted": sorted, "sum": sum, "tuple": tuple,
        "zip": zip,
    })
    return allowed


# Names the restricted code refers to; RestrictedPython's rewrites call these.
_GUARDS: dict[str, Any] = {
    "__builtins__": _build_builtins(),
    "_getattr_": safer_getattr_raise,  # refuses '_' attributes and str.format; raises if missing
    "_getitem_": operator.getitem,
    "_getiter_": iter,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_unpack_sequence_": guarded_unpack_sequence,
    "_write_": full_write_guard,  # item/attribute writes only on plain dicts and lists
    "_inplacevar_": _inplacevar,
    "_apply_": _apply,
    "_print_": PrintCollector,  # print() output is collected and logged, not written
}
_PRINT = "_print"  # where the compiled code keeps its PrintCollector
_RESERVED = frozenset(_GUARDS) | {_PRINT}


def _is_transient(value: Any) -> bool:
    # Functions, classes, modules and iterators can't be serialized with the task data.
    return callable(value) or isinstance(value, (types.ModuleType, Iterator))


@contextlib.contextmanager
def _contained() -> Iterator[None]:
    # BaseException is still reachable (Exception.mro()); raising it would pass
    # through SpiffWorkflow's 'except Exception' and could stop the worker.
    try:
        yield
    except (Exception, KeyboardInterrupt):
        raise
    except BaseException as err:  # converting it is the point
        raise RuntimeError(f"scripts may not raise {type(err).__name__}") from None


class RestrictedEnvironment(BasePythonScriptEngineEnvironment):
    """Drop-in for SpiffWorkflow's TaskDataEnvironment that runs restricted code.

    Expressions go through the bounded evaluator (engine/bpm/expressions.py). Scripts run
    in this process only where `workers` is False (inside a script worker, and in unit
    tests of the restrictions); otherwise in a worker process of the script pool
    (engine/bpm/script_pool.py) — and never while a write transaction is open: there
    `ScriptPending` asks the caller to run it first and try again."""

    def __init__(self, environment_globals: dict[str, Any] | None = None,
                 workers: bool = False):
        super().__init__(environment_globals or {})
        self.workers = workers

    def evaluate(self, expression: str, context: dict[str, Any],
                 external_context: dict[str, Any] | None = None) -> Any:
        self._check_reserved(context)
        scope = {**self.globals, **(external_context or {}), **context}
        return expressions.evaluate(expression, scope)

    def execute(self, script: str, context: dict[str, Any],
                external_context: dict[str, Any] | None = None) -> bool:
        if self.workers:
            return self._execute_in_worker(script, context, external_context or {})
        return self._execute_here(script, context, external_context)

    def _execute_in_worker(self, script: str, context: dict[str, Any],
                           external: dict[str, Any]) -> bool:
        _runnable(script, "exec")  # refused code fails here, as it always did
        self._check_reserved(context)
        self._check_overwrite(context, external)
        if external or self.globals:
            raise ValueError("scripts run in a worker process and cannot use helpers")
        pool = script_pool.default_pool()
        result = pool.known(script, context)
        if result is None:
            if script_pool.must_defer():
                raise script_pool.ScriptPending(script, dict(context))
            result = pool.run(script, context)
        context.clear()
        context.update(result)
        return True

    def _execute_here(self, script: str, context: dict[str, Any],
                      external_context: dict[str, Any] | None) -> bool:
        code = _runnable(script, "exec")
        external = external_context or {}
        self._check_reserved(context)
        self._check_overwrite(context, external)
        # Like TaskDataEnvironment, run in the task data itself so assignments land there.
        context.update(self.globals)
        context.update(external)
        context.update(_GUARDS)
        try:
            with _contained():
                exec(code, context)  # noqa: S102 - restricted code, guarded globals
        finally:
            self._clean(context, external)
        return True

    @staticmethod
    def _check_reserved(context: dict[str, Any]) -> None:
        # Task data naming a guard (e.g. from a crafted form) must not reach the sandbox.
        clash = _RESERVED.intersection(context)
        if clash:
            names = ", ".join(sorted(clash))
            raise ValueError(f"task data uses names reserved by the script sandbox: {names}")

    def _check_overwrite(self, context: dict[str, Any], external: dict[str, Any]) -> None:
        # A data field shadowing a provided function makes it uncallable; fail clearly.
        clash = (set(self.globals) | set(external)).intersection(context)
        if clash:
            names = ", ".join(sorted(clash))
            raise ValueError(f"task data overwrites predefined name(s), please rename: {names}")

    def _clean(self, context: dict[str, Any], external: dict[str, Any]) -> None:
        printed = context.get(_PRINT)
        if isinstance(printed, PrintCollector):
            log.debug("script printed: %s", printed())
        provided = _RESERVED | self.globals.keys() | external.keys()
        for key in list(context):
            if key in provided or _is_transient(context[key]):
                del context[key]


def make_script_engine(environment_globals: dict[str, Any] | None = None, *,
                       workers: bool = True) -> PythonScriptEngine:
    """A SpiffWorkflow script engine whose scripts and expressions are restricted and
    bounded: expressions by the evaluator, scripts by a worker's limits.

    environment_globals: trusted helper functions/values to expose to expressions (and
    to scripts, only where workers is False).
    """
    return PythonScriptEngine(environment=RestrictedEnvironment(environment_globals, workers))
