"""The deploy-time check of what a script provably cannot finish within its limits.

A script runs in a worker under CPU and memory limits whatever it does; this check only
spares the designer a deployment that could never work: a `while` loop whose condition is
always true and that has no `break` (or `return`) of its own, and any sub-expression made
only of constants that the bounded expression evaluator refuses (`10**(10**9)`,
`'%0999999999d' % 1`, `'x' * 10**12`, `range(10**13)`). It never runs the script.
"""

from __future__ import annotations

import ast

from engine.bpm import expressions


def unbounded(source: str) -> list[expressions.Problem]:
    try:
        tree = ast.parse(source, mode="exec")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []  # the restriction check reports these
    found = [expressions.Problem(node.lineno, "this loop never ends: its condition is always "
                                 "true and it has no 'break'")
             for node in ast.walk(tree) if isinstance(node, ast.While) and _endless(node)]
    found += expressions.constant_problems(tree)
    found.sort(key=lambda p: p.line or 0)
    return found


def _always_true(test: ast.expr) -> bool:
    if isinstance(test, ast.Constant):
        return bool(test.value)
    if isinstance(test, ast.Name):
        return test.id == "True"
    return False


def _endless(loop: ast.While) -> bool:
    return _always_true(loop.test) and not _exits(loop.body)


def _exits(body: list[ast.stmt]) -> bool:
    """Whether a statement in `body` can leave the loop: a `break` of this loop (not of a
    nested one), a `return`, or a `raise`."""
    stack: list[ast.AST] = list(body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Break, ast.Return, ast.Raise)):
            return True
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue  # their statements are not this loop's
        if isinstance(node, (ast.For, ast.While, ast.AsyncFor)):
            # a break inside belongs to the inner loop; a return or raise still leaves ours
            stack.extend(n for n in ast.walk(node) if isinstance(n, (ast.Return, ast.Raise)))
            continue
        stack.extend(ast.iter_child_nodes(node))
    return False
