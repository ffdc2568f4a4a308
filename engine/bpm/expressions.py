"""A safe evaluator for BPMN conditions, timer and assignee expressions, whose cost is
bounded.

Expressions run inside the web and scheduler processes (a gateway is decided while its
command holds the database write lock), so an expression must not be able to hold the CPU
or grow the process: `10**(10**9)`, `sum(range(10**13))` or `'%0999999999d' % 1` would
each stop every request. This evaluator walks the parsed expression itself over a small
whitelist of node types — no loops, comprehensions, lambdas or attribute access other
than a few named methods — and checks every intermediate result against `Limits`: the
size of integers (in bits), of strings, bytes and collections, exponents, shifts and
formatting widths. Each step is then cheap, and the number of steps is the size of the
expression, so its cost is bounded.

The same walk runs at deploy time (`check`): node types and names, and every sub-expression
made only of constants is worked out once, so a diagram whose expression is provably too
costly is refused with its line.
"""

from __future__ import annotations

import ast
import functools
import re
import textwrap
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple


@dataclass(frozen=True)
class Limits:
    int_bits: int = 4096  # about 1,233 decimal digits
    text: int = 100_000  # characters of a string, bytes of a bytes value
    items: int = 10_000  # elements of a list, tuple, set, dict or range
    format_width: int = 1_000  # width and precision in % formatting and f-strings
    depth: int = 64  # nesting of the expression


LIMITS = Limits()


class Problem(NamedTuple):
    line: int | None
    message: str


class ExpressionError(ValueError):
    """The expression is not allowed, or went past a limit while it was worked out."""


class TooCostly(ExpressionError):
    """A step would go past one of the limits."""


# --- what an expression may use ---------------------------------------------------------------

def _bounded_range(*args: int) -> list[int]:
    if not all(isinstance(a, int) for a in args):
        raise TooCostly("range() takes whole numbers")
    span = range(*args)
    if len(span) > LIMITS.items:
        raise TooCostly(f"range() of more than {LIMITS.items} items is not allowed")
    return list(span)


def _listed(make: Callable[..., Iterable[Any]]) -> Callable[..., list[Any]]:
    # Iterators would be lazy and could not be stored in task data; lists are sized.
    return lambda *args: list(make(*args))


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "abs": abs, "all": all, "any": any, "bool": bool, "float": float, "int": int,
    "len": len, "max": max, "min": min, "round": round, "sorted": sorted, "str": str,
    "sum": sum, "list": list, "tuple": tuple, "set": set, "dict": dict,
    "range": _bounded_range, "enumerate": _listed(enumerate), "zip": _listed(zip),
    "reversed": _listed(reversed),
}
CONSTANTS: dict[str, Any] = {"True": True, "False": False, "None": None}

# Methods by the type they belong to; none can build a result larger than its inputs
# except those padding to a width, which is checked.
_WIDTH_METHODS = {"zfill", "ljust", "rjust", "center"}
METHODS: dict[type, frozenset[str]] = {
    str: frozenset({
        "lower", "upper", "strip", "lstrip", "rstrip", "startswith", "endswith", "split",
        "title", "capitalize", "isdigit", "isalpha", "isalnum", "count", "find", "join",
        "casefold", "removeprefix", "removesuffix", "replace", *_WIDTH_METHODS}),
    dict: frozenset({"get", "keys", "values", "items"}),
    list: frozenset({"index", "count"}),
    tuple: frozenset({"index", "count"}),
}

_BIN_OPS: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b, ast.Div: lambda a, b: a / b,
    ast.FloorDiv: lambda a, b: a // b, ast.Mod: lambda a, b: a % b,
    ast.Pow: lambda a, b: a ** b, ast.LShift: lambda a, b: a << b,
    ast.RShift: lambda a, b: a >> b, ast.BitAnd: lambda a, b: a & b,
    ast.BitOr: lambda a, b: a | b, ast.BitXor: lambda a, b: a ^ b,
}
_UNARY_OPS: dict[type[ast.unaryop], Callable[[Any], Any]] = {
    ast.Not: lambda a: not a, ast.USub: lambda a: -a, ast.UAdd: lambda a: +a,
    ast.Invert: lambda a: ~a,
}
_COMPARE_OPS: dict[type[ast.cmpop], Callable[[Any, Any], bool]] = {
    ast.Eq: lambda a, b: a == b, ast.NotEq: lambda a, b: a != b,
    ast.Lt: lambda a, b: a < b, ast.LtE: lambda a, b: a <= b,
    ast.Gt: lambda a, b: a > b, ast.GtE: lambda a, b: a >= b,
    ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b,
    ast.Is: lambda a, b: a is b, ast.IsNot: lambda a, b: a is not b,
}
_REFUSED: dict[type[ast.AST], str] = {
    ast.Lambda: "lambdas are not allowed in expressions",
    ast.ListComp: "comprehensions are not allowed in expressions",
    ast.SetComp: "comprehensions are not allowed in expressions",
    ast.DictComp: "comprehensions are not allowed in expressions",
    ast.GeneratorExp: "comprehensions are not allowed in expressions",
    ast.NamedExpr: "':=' is not allowed in expressions",
    ast.Await: "async/await is not allowed",
    ast.Yield: "'yield' is not allowed",
    ast.YieldFrom: "'yield' is not allowed",
    ast.Starred: "'*' unpacking is not allowed in expressions",
}


# --- bounds --------------------------------------------------------------------------------

def weight(value: Any, budget: int | None = None) -> int:
    """How big a value is, in characters: the length of a text, a number's bytes, one per
    element of a collection plus the elements' own weight. A list repeating one big element
    weighs what printing it would cost. The walk stops once past the budget, so working it
    out is itself bounded."""
    limit = LIMITS.text if budget is None else budget
    total = 0
    stack = [value]
    while stack and total <= limit:
        item = stack.pop()
        if isinstance(item, (str, bytes)):
            total += len(item)
        elif isinstance(item, bool) or item is None:
            total += 1
        elif isinstance(item, int):
            total += 1 + item.bit_length() // 8
        elif isinstance(item, dict):
            total += 1
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple, set, frozenset)):
            total += 1
            stack.extend(item)
        else:
            total += 1
    return total


def _check_size(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        if value.bit_length() > LIMITS.int_bits:
            raise TooCostly(f"a number larger than {LIMITS.int_bits} bits is not allowed")
    elif isinstance(value, (list, tuple, set, frozenset, dict)) and len(value) > LIMITS.items:
        raise TooCostly(f"a collection of more than {LIMITS.items} items is not allowed")
    elif isinstance(value, (str, bytes, list, tuple, set, frozenset, dict)) \
            and weight(value) > LIMITS.text:
        raise TooCostly(f"a value larger than {LIMITS.text} characters is not allowed")
    return value


def _is_seq(value: Any) -> bool:
    return isinstance(value, (str, bytes, list, tuple))


def _guard_binop(op: type[ast.operator], a: Any, b: Any) -> None:
    """Refuse, before computing it, a result that would be too large or too slow."""
    ints = isinstance(a, int) and isinstance(b, int)
    if op is ast.Pow and ints and b > 0 and abs(a) > 1:
        if (a.bit_length() - 1) * b > LIMITS.int_bits:  # a lower bound; the result is checked
            raise TooCostly(f"{a} ** {b} is too large (limit {LIMITS.int_bits} bits)")
    elif op is ast.Pow and isinstance(a, (int, float)) and isinstance(b, int) and b > 10_000:
        raise TooCostly(f"an exponent above 10000 is not allowed ({b})")
    elif op is ast.LShift and ints and b > 0 and a and a.bit_length() + b > LIMITS.int_bits:
        raise TooCostly(f"{a} << {b} is too large (limit {LIMITS.int_bits} bits)")
    elif op is ast.Mult:
        if ints and a.bit_length() + b.bit_length() > LIMITS.int_bits:
            raise TooCostly(f"a product larger than {LIMITS.int_bits} bits is not allowed")
        for seq, count in ((a, b), (b, a)):
            if _is_seq(seq) and isinstance(count, int) and count > 0 \
                    and weight(seq) * count > LIMITS.text:
                raise TooCostly(
                    f"repeating a {type(seq).__name__} {count} times is too large "
                    f"(limit {LIMITS.text} characters)")
    elif op is ast.Add and _is_seq(a) and weight(a) + weight(b) > LIMITS.text:
        raise TooCostly("joining these would be too large")
    elif op is ast.Mod and isinstance(a, (str, bytes)):
        _check_format(a if isinstance(a, str) else a.decode("latin-1"))


# %[(key)][flags][width][.precision][length]type
_PERCENT = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?[a-zA-Z%]")


def _check_format(text: str) -> None:
    for match in _PERCENT.finditer(text):
        for part in match.groups():
            if part == "*":
                raise TooCostly("'*' widths are not allowed in % formatting")
            if part is not None and int(part) > LIMITS.format_width:
                raise TooCostly(
                    f"a formatting width of {int(part)} is too large "
                    f"(limit {LIMITS.format_width})")


_SPEC_NUMBERS = re.compile(r"\d+")


def _check_spec(spec: str) -> None:
    # A format spec such as '0999999999d' or '.5000f': every number in it is a width or
    # a precision.
    for number in _SPEC_NUMBERS.findall(spec):
        if int(number) > LIMITS.format_width:
            raise TooCostly(
                f"a formatting width of {int(number)} is too large (limit {LIMITS.format_width})")


def _guard_call(name: str, args: list[Any]) -> None:
    if name == "round" and len(args) > 1 and isinstance(args[1], int) \
            and abs(args[1]) > LIMITS.format_width:
        raise TooCostly(f"round() to {args[1]} digits is not allowed")
    if name == "sum" and args and not all(
            isinstance(v, (int, float)) for v in (args[0] if _is_iterable(args[0]) else [])):
        raise TooCostly("sum() adds numbers only in expressions")
    if name in _WIDTH_METHODS and args and isinstance(args[0], int) \
            and args[0] > LIMITS.text:
        raise TooCostly(f"{name}() to a width of {args[0]} is too large")
    if name == "join" and len(args) == 2 and isinstance(args[-1], str) \
            and isinstance(args[0], (str, list, tuple)):
        # the separator goes between every two parts: check before building it
        parts, separator = args[0], args[-1]
        if len(separator) * max(len(parts) - 1, 0) + weight(parts) > LIMITS.text:
            raise TooCostly("join() would make a text too long")
    if name == "replace" and len(args) >= 2:
        # the worst case: every character replaced by the new text
        owner, new = args[-1], args[1]
        if isinstance(owner, str) and isinstance(new, str) \
                and (len(owner) + 1) * max(len(new), 1) > LIMITS.text:
            raise TooCostly("replace() could make a text too long")


def _is_iterable(value: Any) -> bool:
    return isinstance(value, (list, tuple, set, frozenset, dict))


# --- the evaluator -------------------------------------------------------------------------

class _Evaluator:
    def __init__(self, names: dict[str, Any]):
        self.names = names

    def run(self, node: ast.AST, depth: int = 0) -> Any:
        if depth > LIMITS.depth:
            raise TooCostly(f"the expression is nested more than {LIMITS.depth} deep")
        method = getattr(self, f"_{type(node).__name__}", None)
        if method is None:
            raise ExpressionError(_refusal(node))
        value = method(node, depth + 1)
        if isinstance(node, (ast.Name, ast.Constant)):
            return value  # given, not made here: task data is as large as its form allows
        return _check_size(value)

    def _Expression(self, node: ast.Expression, d: int) -> Any:
        return self.run(node.body, d)

    def _Constant(self, node: ast.Constant, _d: int) -> Any:
        if isinstance(node.value, complex) or node.value is Ellipsis:
            raise ExpressionError("complex numbers and '...' are not allowed")
        return node.value

    def _Name(self, node: ast.Name, _d: int) -> Any:
        if node.id in self.names:
            return self.names[node.id]
        if node.id in CONSTANTS:
            return CONSTANTS[node.id]
        if node.id in FUNCTIONS:
            raise ExpressionError(f"'{node.id}' can only be called")
        raise ExpressionError(f"name '{node.id}' is not defined")

    def _BoolOp(self, node: ast.BoolOp, d: int) -> Any:
        value: Any = None
        for operand in node.values:
            value = self.run(operand, d)
            if isinstance(node.op, ast.And) and not value:
                return value
            if isinstance(node.op, ast.Or) and value:
                return value
        return value

    def _BinOp(self, node: ast.BinOp, d: int) -> Any:
        a, b = self.run(node.left, d), self.run(node.right, d)
        _guard_binop(type(node.op), a, b)
        return _BIN_OPS[type(node.op)](a, b)

    def _UnaryOp(self, node: ast.UnaryOp, d: int) -> Any:
        return _UNARY_OPS[type(node.op)](self.run(node.operand, d))

    def _Compare(self, node: ast.Compare, d: int) -> Any:
        left = self.run(node.left, d)
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            right = self.run(right_node, d)
            if not _COMPARE_OPS[type(op)](left, right):
                return False
            left = right
        return True

    def _IfExp(self, node: ast.IfExp, d: int) -> Any:
        return self.run(node.body if self.run(node.test, d) else node.orelse, d)

    def _Subscript(self, node: ast.Subscript, d: int) -> Any:
        return self.run(node.value, d)[self.run(node.slice, d)]

    def _Slice(self, node: ast.Slice, d: int) -> slice:
        parts = [None if p is None else self.run(p, d) for p in (node.lower, node.upper, node.step)]
        return slice(*parts)

    def _List(self, node: ast.List, d: int) -> list[Any]:
        return [self.run(e, d) for e in node.elts]

    def _Tuple(self, node: ast.Tuple, d: int) -> tuple[Any, ...]:
        return tuple(self.run(e, d) for e in node.elts)

    def _Set(self, node: ast.Set, d: int) -> set[Any]:
        return {self.run(e, d) for e in node.elts}

    def _Dict(self, node: ast.Dict, d: int) -> dict[Any, Any]:
        if any(k is None for k in node.keys):
            raise ExpressionError("'**' unpacking is not allowed in expressions")
        return {self.run(k, d): self.run(v, d)  # type: ignore[arg-type] # None refused above
                for k, v in zip(node.keys, node.values, strict=True)}

    def _JoinedStr(self, node: ast.JoinedStr, d: int) -> str:
        return "".join(str(self.run(v, d)) for v in node.values)

    def _FormattedValue(self, node: ast.FormattedValue, d: int) -> str:
        value = self.run(node.value, d)
        if node.conversion == ord("r"):
            value = repr(value)
        elif node.conversion == ord("s"):
            value = str(value)
        elif node.conversion == ord("a"):
            value = ascii(value)
        spec = "" if node.format_spec is None else self.run(node.format_spec, d)
        _check_spec(spec)
        return format(value, spec)

    def _Call(self, node: ast.Call, d: int) -> Any:
        args = [self.run(a, d) for a in node.args]
        kwargs = {k.arg: self.run(k.value, d) for k in node.keywords if k.arg is not None}
        if len(kwargs) != len(node.keywords):
            raise ExpressionError("'**' unpacking is not allowed in expressions")
        func = node.func
        if isinstance(func, ast.Name):
            if func.id in self.names and callable(self.names[func.id]):
                return self.names[func.id](*args, **kwargs)  # a trusted helper given to us
            if func.id not in FUNCTIONS:
                raise ExpressionError(f"'{func.id}' is not available in expressions")
            if func.id in ("sorted", "min", "max") and "key" in kwargs:
                raise ExpressionError(f"{func.id}() with a key is not allowed in expressions")
            _guard_call(func.id, args)
            return FUNCTIONS[func.id](*args, **kwargs)
        if isinstance(func, ast.Attribute):
            owner = self.run(func.value, d)
            allowed = METHODS.get(type(owner), frozenset())
            if func.attr not in allowed:
                raise ExpressionError(
                    f"'.{func.attr}()' is not available on {type(owner).__name__} in expressions")
            _guard_call(func.attr, [*args, owner])
            result = getattr(owner, func.attr)(*args, **kwargs)
            return list(result) if func.attr in ("keys", "values", "items") else result
        raise ExpressionError("only named functions can be called in expressions")


def _refusal(node: ast.AST) -> str:
    if type(node) in _REFUSED:
        return _REFUSED[type(node)]
    if isinstance(node, ast.Attribute):
        return f"'.{node.attr}' is not available in expressions (only a few methods are)"
    return f"'{type(node).__name__}' is not allowed in expressions"


# --- parsing and the deploy-time check -----------------------------------------------------

_DENIED = frozenset({
    "open", "eval", "exec", "compile", "__import__", "getattr", "setattr", "delattr",
    "globals", "locals", "vars", "input", "breakpoint", "help", "memoryview", "type",
    "object", "super", "classmethod", "staticmethod", "property", "exit", "quit",
})
_ALLOWED_NODES = (
    ast.Expression, ast.Constant, ast.Name, ast.Load, ast.BoolOp, ast.And, ast.Or,
    ast.BinOp, ast.UnaryOp, ast.Compare, ast.IfExp, ast.Subscript, ast.Slice, ast.List,
    ast.Tuple, ast.Set, ast.Dict, ast.JoinedStr, ast.FormattedValue, ast.Call, ast.keyword,
    *_BIN_OPS, *_UNARY_OPS, *_COMPARE_OPS,
)


@functools.lru_cache(maxsize=2048)
def _parse(source: str) -> tuple[ast.Expression | None, tuple[Problem, ...]]:
    text = textwrap.dedent(source).strip()
    if not text:
        return None, (Problem(None, "the expression is empty"),)
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as err:
        try:
            ast.parse(text, mode="exec")
        except SyntaxError:
            return None, (Problem(err.lineno, f"syntax error: {err.msg}"),)
        return None, (Problem(err.lineno, "a single expression is expected here, not statements"),)
    except (ValueError, RecursionError, MemoryError):
        return None, (Problem(None, "the expression could not be read"),)
    problems = _static(tree)
    return (None if problems else tree), tuple(problems)


def _static(tree: ast.Expression) -> list[Problem]:
    called = {id(c.func) for c in ast.walk(tree) if isinstance(c, ast.Call)}
    problems = [Problem(getattr(node, "lineno", None), message) for node in ast.walk(tree)
                if (message := _node_problem(node, id(node) in called)) is not None]
    if not problems and _depth(tree) > LIMITS.depth:
        problems.append(Problem(None, f"the expression is nested more than {LIMITS.depth} deep"))
    if not problems:
        problems += constant_problems(tree)
    problems.sort(key=lambda p: p.line or 0)
    return problems


def _node_problem(node: ast.AST, is_called: bool) -> str | None:
    """What is wrong with this one node of an expression, if anything."""
    if isinstance(node, ast.Name):
        if node.id.startswith("_") and node.id != "_":
            return f"names starting with '_' are not allowed: {node.id}"
        return f"'{node.id}' is not available in scripts" if node.id in _DENIED else None
    if isinstance(node, ast.Attribute):
        if node.attr.startswith("_"):
            return f"attributes starting with '_' are not allowed: {node.attr}"
        if not is_called or not any(node.attr in m for m in METHODS.values()):
            return _refusal(node)
        return None
    if isinstance(node, ast.FormattedValue) and node.format_spec is not None:
        parts = getattr(node.format_spec, "values", [])
        if not all(isinstance(v, ast.Constant) for v in parts):
            return "a format spec must be written out, not computed"
        try:
            _check_spec("".join(str(v.value) for v in parts))
        except ExpressionError as err:
            return str(err)
        return None
    if not isinstance(node, _ALLOWED_NODES) and isinstance(node, ast.expr):
        return _refusal(node)  # parts such as a lambda's arguments are reported once
    return None


def _depth(tree: ast.AST) -> int:
    deepest = 0
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return deepest


_FOLDED = (ast.BinOp, ast.UnaryOp, ast.Call, ast.JoinedStr)


def constant_problems(tree: ast.AST) -> list[Problem]:
    """Work out each largest sub-expression made only of constants (and calls of the
    bounded functions on them): one that goes past a limit is provably too costly. One
    pass without recursion, so a deep tree costs its size."""
    order: list[ast.AST] = []  # parents before children
    parent: dict[int, ast.AST] = {}
    stack = [tree]
    while stack:
        node = stack.pop()
        order.append(node)
        for child in ast.iter_child_nodes(node):
            parent[id(child)] = node
            stack.append(child)
    constant: dict[int, bool] = {}
    for node in reversed(order):  # children first
        constant[id(node)] = _constant_here(node) and all(
            constant[id(c)] for c in ast.iter_child_nodes(node))
    found: list[Problem] = []
    evaluator = _Evaluator({})
    for node in order:
        if not isinstance(node, _FOLDED) or not constant[id(node)]:
            continue
        above = parent.get(id(node))
        if above is not None and isinstance(above, _FOLDED) and constant[id(above)]:
            continue  # part of a larger constant expression, worked out with it
        if _depth(node) > LIMITS.depth:
            continue  # refused elsewhere (expressions) or left to the run (scripts)
        try:
            evaluator.run(node)
        except TooCostly as err:
            found.append(Problem(getattr(node, "lineno", None), str(err)))
        except (ArithmeticError, TypeError, ValueError, LookupError, AttributeError,
                RecursionError):
            pass  # not a cost: the run reports it (or, in a script, the sandbox allows it)
    return found


def _constant_here(node: ast.AST) -> bool:
    """Whether this node, apart from its children, can be worked out without data."""
    if isinstance(node, ast.Name):
        return node.id in FUNCTIONS or node.id in CONSTANTS
    if isinstance(node, ast.Call):
        return not (isinstance(node.func, ast.Name) and node.func.id not in FUNCTIONS)
    return not isinstance(node, (ast.Subscript, ast.Lambda, ast.comprehension, ast.Starred,
                                 ast.stmt, ast.NamedExpr))


def check(source: str) -> list[Problem]:
    """Deploy-time check of an expression: what is not allowed, and constant parts that go
    past the limits."""
    return list(_parse(source)[1])


def evaluate(source: str, names: dict[str, Any]) -> Any:
    """The value of the expression with `names` (task data and helpers) in scope.
    Raises ExpressionError for what is not allowed or too costly."""
    tree, problems = _parse(source)
    if tree is None:
        raise ExpressionError("; ".join(
            f"line {p.line}: {p.message}" if p.line else p.message for p in problems))
    try:
        return _Evaluator(names).run(tree)
    except OverflowError as err:
        raise ExpressionError(f"a number is too large: {err}") from None
    except RecursionError:
        raise ExpressionError("the expression is nested too deeply") from None


__all__ = ["LIMITS", "ExpressionError", "Limits", "Problem", "TooCostly", "check",
           "constant_problems", "evaluate"]
