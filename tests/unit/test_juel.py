"""The JUEL subset Camunda diagrams use, translated to the restricted evaluator."""

from __future__ import annotations

import pytest

from engine.bpm.juel import MAX_DEPTH, MAX_LENGTH, JuelError, is_juel, translate
from engine.bpm.sandbox import check_expression


@pytest.mark.parametrize(("juel", "python"), [
    ("${amount > 1000}", "(amount > 1000)"),
    ("${approved}", "approved"),
    ("${!rejected}", "(not rejected)"),
    ("${not rejected}", "(not rejected)"),
    ("#{approved}", "approved"),
    ("  ${ amount >= 10.5 }  ", "(amount >= 10.5)"),
    ("${a == 'x' && b lt 3 || not c}", "(((a == 'x') and (b < 3)) or (not c))"),
    ("${a and b or c}", "((a and b) or c)"),
    ("${a || b && c}", "(a or (b and c))"),
    ("${kind eq \"leave\"}", "(kind == 'leave')"),
    ("${kind ne 'leave'}", "(kind != 'leave')"),
    ("${n gt 1 and n le 5 and n ge 2 and n lt 9}",
     "((((n > 1) and (n <= 5)) and (n >= 2)) and (n < 9))"),
    ("${order.amount > 5}", "(order['amount'] > 5)"),
    ("${order['amount'] > 5}", "(order['amount'] > 5)"),
    ("${a.b.c}", "a['b']['c']"),
    ("${a < b < c}", "((a < b) < c)"),  # JUEL groups left to right, never Python's chain
    ("${1 + 2 * 3}", "(1 + (2 * 3))"),
    ("${(1 + 2) * 3}", "((1 + 2) * 3)"),
    ("${10 div 4 mod 3}", "((10 / 4) % 3)"),
    ("${-amount < -5}", "((-amount) < (-5))"),
    ("${x ? 'a' : 'b'}", "('a' if x else 'b')"),
    ("${true && false || null == x}", "((True and False) or (None == x))"),
    ("${empty remark}", "(remark in (None, '', [], {}))"),
    ("${!empty remark}", "(not (remark in (None, '', [], {})))"),
    ("${'it\\'s' == s}", "(\"it's\" == s)"),
    ("${s == 'a}b'}", "(s == 'a}b')"),
    ("${2.5e3 > .5}", "(2.5e3 > .5)"),
])
def test_translates_and_the_sandbox_accepts(juel, python):
    assert translate(juel) == python
    assert check_expression(python) == []


@pytest.mark.parametrize(("juel", "says"), [
    ("${a} and ${b}", "composite"),
    ("amount is ${amount}", "composite"),
    ("${execution.getVariable('x')}", "method"),
    ("${foo()}", "function"),
    ("${a instanceof b}", "instanceof"),
    ("${__class__}", "starts with '_'"),
    ("${}", "empty"),
    ("${a +}", "ends too early"),
    ("${(a}", "expected ')'"),
    ("${a b}", "unexpected 'b'"),
    ("${'open}", "not closed"),
    ("${a = 1}", "'=' at position 3"),
    ("${a ; b}", "';'"),
    ("${3.x}", "unexpected 'x'"),
    ("${true.x}", "no properties"),
])
def test_refuses_what_is_outside_the_subset(juel, says):
    with pytest.raises(JuelError) as info:
        translate(juel)
    assert says in str(info.value)


def test_length_and_depth_are_bounded():
    with pytest.raises(JuelError, match="longer than"):
        translate("${" + "a + " * MAX_LENGTH + "a}")
    with pytest.raises(JuelError, match="nested more than"):
        translate("${" + "(" * (MAX_DEPTH + 1) + "a" + ")" * (MAX_DEPTH + 1) + "}")
    with pytest.raises(JuelError, match="nested more than"):
        translate("${" + "!" * (MAX_DEPTH + 1) + "a}")
    assert translate("${" + "(" * 10 + "a" + ")" * 10 + "}") == "a"


def test_is_juel():
    assert is_juel("${a}")
    assert is_juel("#{a}")
    assert not is_juel("action == 'approve'")
    assert not is_juel("remark == '${not juel}'")  # Python with '${' in a string
