"""Every kind of history event the code writes has a plain-language sentence in English
and Hindi (web/history_text.py). The kinds are found in the source: the first argument
after the instance of `history.append(...)`, and the kind argument of the helpers that
pass a kind through to it."""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest
from flask import Flask
from flask_babel import Babel, force_locale

from web.history_text import SENTENCES, sentence
from web.ui import TRANSLATIONS, compile_catalogs

ROOT = Path(__file__).resolve().parents[2]
# call name -> position of the kind argument
WRITERS = {"append": 2, "_file_event": 2, "_record": 3, "file_history": 1}
# the helpers above take the kind as this parameter and pass it on
PASS_THROUGH = {"kind"}


@functools.cache
def _modules(folder: str) -> tuple[tuple[Path, ast.Module], ...]:
    """The folder's modules, each parsed once for all the tests of this file (parsing the
    engine twice in each of two tests was most of their time)."""
    return tuple((path, ast.parse(path.read_text(encoding="utf-8")))
                 for path in (ROOT / folder).rglob("*.py"))


def _constants() -> dict[str, str]:
    """Module-level NAME = "text" assignments of the engine (e.g. PULLED_BACK)."""
    found: dict[str, str] = {}
    for _path, tree in _modules("engine"):
        for node in tree.body:
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) \
                    and isinstance(node.value.value, str):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        found[target.id] = node.value.value
    return found


@functools.cache
def written_kinds() -> frozenset[str]:
    constants = _constants()
    kinds: set[str] = set()
    unknown: list[str] = []
    for folder in ("engine", "handlers"):
        for path, tree in _modules(folder):
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
                    continue
                name = node.func.attr
                if name not in WRITERS:
                    continue
                if name == "append" and not (isinstance(node.func.value, ast.Name)
                                             and node.func.value.id == "history"):
                    continue
                pos = WRITERS[name]
                if len(node.args) <= pos:
                    continue
                arg = node.args[pos]
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    kinds.add(arg.value)
                elif isinstance(arg, ast.Attribute) and arg.attr in constants:
                    kinds.add(constants[arg.attr])
                elif isinstance(arg, ast.Name) and arg.id in constants:
                    kinds.add(constants[arg.id])
                elif not (isinstance(arg, ast.Name) and arg.id in PASS_THROUGH):
                    unknown.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not unknown, f"history events of a kind this test cannot read: {unknown}"
    return frozenset(kinds)


def test_the_scan_finds_the_kinds_it_must() -> None:
    kinds = written_kinds()
    for expected in ("task_completed", "approval_signed", "pulled_back", "access_granted",
                     "draft_created", "correspondence_added", "instance_started"):
        assert expected in kinds


def test_every_kind_written_has_a_sentence() -> None:
    missing = sorted(written_kinds() - set(SENTENCES))
    assert not missing, f"history events with no plain-language sentence: {missing}"


@pytest.fixture(scope="module")
def app() -> Flask:
    compile_catalogs()
    app = Flask(__name__)
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(TRANSLATIONS)
    Babel(app)
    return app


def _event(kind: str, **extra: object) -> dict:
    return {"kind": kind, "item": "GAD/EST/11011/1/2026", "actor": "ds",
            "actor_name": "Kavita Singh", "post": {"code": "GAD-EST-DS", "title": "Deputy"},
            "to": {"code": "GAD-EST-DA", "title": "Dealing Assistant"}, "step": "approval",
            "step_name": "Approval", "para_no": 2, "version": 1, "process_id": "file_approval",
            **extra}


@pytest.mark.parametrize("kind", sorted(SENTENCES))
def test_each_sentence_reads_in_english_and_hindi(app: Flask, kind: str) -> None:
    event = _event(kind)
    with app.test_request_context():
        with force_locale("en"):
            english = sentence(event)
        with force_locale("hi"):
            hindi = sentence(event)
    assert "GAD/EST/11011/1/2026" in english
    assert "GAD/EST/11011/1/2026" in hindi
    assert "%(" not in english
    assert "%(" not in hindi
    assert english != hindi


@pytest.mark.parametrize("action", ["approve", "reject", "forward", "submit", "return",
                                    "close", "pullback", "something_new"])
def test_each_action_is_said_with_who_and_which_post(app: Flask, action: str) -> None:
    with app.test_request_context(), force_locale("en"):
        text = sentence(_event("task_completed", action=action))
    assert text.startswith("Kavita Singh as Deputy")


def test_an_unknown_kind_still_reads(app: Flask) -> None:
    with app.test_request_context(), force_locale("en"):
        text = sentence(_event("from_a_newer_release"))
    assert "from_a_newer_release" in text
