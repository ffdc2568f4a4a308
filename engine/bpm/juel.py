"""Translate the simple JUEL expressions Camunda Modeler diagrams carry into Sanchika's
restricted Python expressions.

Camunda writes conditions as `${amount > 1000}`, `${approved}`, `${!rejected}`,
`${a == 'x' && b < 3}`. A diagram should mean what it says, so those are translated to
the expression the safe evaluator runs (`(amount > 1000)`, `approved`, `(not rejected)`,
…) rather than being refused or, worse, read as something else. The subset:

- literals: numbers, 'single' or "double" quoted strings, true, false, null;
- variables and property access: `order.amount`, `order['amount']` (process data are
  dictionaries, so both become `order['amount']`);
- operators: `! not - empty`, `* / div % mod`, `+ -`, `< > <= >= lt gt le ge`,
  `== != eq ne`, `&& and`, `|| or`, and `a ? b : c`;
- parentheses.

Everything else (method and function calls, `instanceof`, lambdas, text around the
`${…}`, `#{…}` mixed with text, …) is refused with a message saying what is not
supported. Every binary operation is written out fully parenthesised, so JUEL's
precedence and left-to-right grouping survive (`a < b < c` stays `((a < b) < c)`, never
Python's chained comparison).

The parser recurses over an expression's nesting, which MAX_LENGTH and MAX_DEPTH bound.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_LENGTH = 2000  # characters inside ${…}
MAX_DEPTH = 40  # nested operators / parentheses

_WHOLE = re.compile(r"\A\s*[$#]\{(?P<body>.*)\}\s*\Z", re.DOTALL)


class JuelError(ValueError):
    """The expression is outside the supported JUEL subset; the message says why."""


def is_juel(text: str) -> bool:
    """Is this text written in JUEL: does it start with `${` or `#{`? (A Python
    expression never does; one with '${' inside a string literal stays Python.)"""
    return text.lstrip().startswith(("${", "#{"))


def translate(text: str) -> str:
    """`${…}` → the equivalent restricted Python expression, or JuelError."""
    match = _WHOLE.match(text)
    if match is None or _has_second_expression(match.group("body")):
        raise JuelError("text mixed with ${…} (a composite expression) is not supported; "
                        "write the whole value as one ${…} expression")
    body = match.group("body")
    if len(body) > MAX_LENGTH:
        raise JuelError(f"the expression is longer than {MAX_LENGTH} characters")
    if not body.strip():
        raise JuelError("the expression ${} is empty")
    return _Parser(_tokens(body)).expression_only()


def _has_second_expression(body: str) -> bool:
    # '${a} and ${b}' matches the outer pattern with body "a} and ${b"; a '}' that is
    # not inside a string literal means the text holds more than one expression.
    try:
        tokens = _tokens(body)
    except JuelError:
        return "}" in body
    return any(t.kind == "op" and t.text == "}" for t in tokens)


# ------------------------------------------------------------------ tokens


@dataclass(frozen=True)
class _Token:
    kind: str  # number | string | name | op | end
    text: str
    position: int


_KEYWORD_OPERATORS = {
    "and": "&&", "or": "||", "not": "!", "eq": "==", "ne": "!=", "lt": "<", "gt": ">",
    "le": "<=", "ge": ">=", "div": "/", "mod": "%",
}
_LITERAL_WORDS = {"true": "True", "false": "False", "null": "None"}
_UNSUPPORTED_WORDS = {"instanceof": "'instanceof' is not supported"}
# Longest first, so '<=' is not read as '<' then '='.
_OPERATORS = ("&&", "||", "==", "!=", "<=", ">=", "<", ">", "!", "+", "-", "*", "/", "%",
              "(", ")", "[", "]", ".", "?", ":", ",", "}")
_NUMBER = re.compile(r"(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _tokens(body: str) -> list[_Token]:
    found: list[_Token] = []
    i = 0
    while i < len(body):
        char = body[i]
        if char.isspace():
            i += 1
            continue
        if char in "'\"":
            text, i = _string(body, i)
            found.append(_Token("string", text, i))
            continue
        number = _NUMBER.match(body, i)
        if number is not None and (char.isdigit() or (char == "."
                                   and i + 1 < len(body) and body[i + 1].isdigit())):
            found.append(_Token("number", number.group(0), i))
            i = number.end()
            continue
        name = _NAME.match(body, i)
        if name is not None:
            found.append(_word(name.group(0), i))
            i = name.end()
            continue
        operator = next((op for op in _OPERATORS if body.startswith(op, i)), None)
        if operator is None:
            raise JuelError(f"'{char}' at position {i + 1} is not supported")
        found.append(_Token("op", operator, i))
        i += len(operator)
    found.append(_Token("end", "", len(body)))
    return found


def _word(word: str, position: int) -> _Token:
    if word in _KEYWORD_OPERATORS:
        return _Token("op", _KEYWORD_OPERATORS[word], position)
    if word in _LITERAL_WORDS:
        return _Token("literal", _LITERAL_WORDS[word], position)
    if word == "empty":
        return _Token("op", "empty", position)
    if word in _UNSUPPORTED_WORDS:
        raise JuelError(_UNSUPPORTED_WORDS[word])
    if word.startswith("_"):
        raise JuelError(f"the name '{word}' starts with '_', which is not allowed")
    return _Token("name", word, position)


def _string(body: str, start: int) -> tuple[str, int]:
    """A JUEL string literal (backslash escapes \\' \\" \\\\) as a Python literal."""
    quote = body[start]
    chars: list[str] = []
    i = start + 1
    while i < len(body):
        char = body[i]
        if char == "\\" and i + 1 < len(body) and body[i + 1] in "'\"\\":
            chars.append(body[i + 1])
            i += 2
            continue
        if char == quote:
            return repr("".join(chars)), i + 1
        chars.append(char)
        i += 1
    raise JuelError(f"the string starting at position {start + 1} is not closed")


# ------------------------------------------------------------------ grammar


_BINARY_LEVELS: tuple[dict[str, str], ...] = (
    {"||": "or"},
    {"&&": "and"},
    {"==": "==", "!=": "!="},
    {"<": "<", ">": ">", "<=": "<=", ">=": ">="},
    {"+": "+", "-": "-"},
    {"*": "*", "/": "/", "%": "%"},
)


class _Parser:
    """Recursive descent over JUEL's precedence levels, emitting Python text."""

    def __init__(self, tokens: list[_Token]):
        self.tokens = tokens
        self.at = 0
        self.depth = 0

    def expression_only(self) -> str:
        text = self._choice()
        token = self._peek()
        if token.kind != "end":
            raise JuelError(f"unexpected '{token.text}' at position {token.position + 1}")
        return text

    def _peek(self) -> _Token:
        return self.tokens[self.at]

    def _take(self) -> _Token:
        token = self.tokens[self.at]
        self.at += 1
        return token

    def _expect(self, text: str) -> None:
        token = self._take()
        if token.kind != "op" or token.text != text:
            shown = token.text or "the end"
            raise JuelError(f"expected '{text}' but found {shown!r} at position "
                            f"{token.position + 1}")

    def _deeper(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise JuelError(f"the expression is nested more than {MAX_DEPTH} levels deep")

    def _choice(self) -> str:
        self._deeper()
        condition = self._binary(0)
        if self._peek().kind == "op" and self._peek().text == "?":
            self._take()
            then = self._choice()
            self._expect(":")
            otherwise = self._choice()
            condition = f"({then} if {condition} else {otherwise})"
        self.depth -= 1
        return condition

    def _binary(self, level: int) -> str:
        if level == len(_BINARY_LEVELS):
            return self._unary()
        operators = _BINARY_LEVELS[level]
        left = self._binary(level + 1)
        while self._peek().kind == "op" and self._peek().text in operators:
            python = operators[self._take().text]
            right = self._binary(level + 1)
            left = f"({left} {python} {right})"
        return left

    def _unary(self) -> str:
        token = self._peek()
        if token.kind == "op" and token.text in {"!", "-", "empty"}:
            self._take()
            self._deeper()
            operand = self._unary()
            self.depth -= 1
            if token.text == "!":
                return f"(not {operand})"
            if token.text == "-":
                return f"(-{operand})"
            # JUEL's empty: null, '' or an empty list/map (not 0 or false).
            return f"({operand} in (None, '', [], {{}}))"
        return self._value()

    def _value(self) -> str:
        token = self._take()
        if token.kind in {"number", "string", "literal"} or token.kind == "name":
            text = token.text
        elif token.kind == "op" and token.text == "(":
            text = self._choice()
            self._expect(")")
        elif token.kind == "end":
            raise JuelError("the expression ends too early")
        else:
            raise JuelError(f"unexpected {token.text!r} at position {token.position + 1}")
        return self._suffixes(text, token)

    def _suffixes(self, text: str, first: _Token) -> str:
        while self._peek().kind == "op" and self._peek().text in {".", "[", "("}:
            token = self._take()
            if token.text == "(":
                raise JuelError(f"calling '{text}' (a method or function) is not supported")
            if token.text == ".":
                name = self._take()
                if name.kind != "name":
                    raise JuelError(f"expected a property name after '.' at position "
                                    f"{token.position + 1}")
                if self._peek().kind == "op" and self._peek().text == "(":
                    raise JuelError(f"calling '{name.text}' (a method) is not supported")
                text = f"{text}[{name.text!r}]"
            else:
                self._deeper()
                key = self._choice()
                self.depth -= 1
                self._expect("]")
                text = f"{text}[{key}]"
        if first.kind in {"number", "literal"} and text != first.text:
            raise JuelError(f"'{first.text}' has no properties")
        return text
