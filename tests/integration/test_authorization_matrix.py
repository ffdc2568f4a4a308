"""The authorization table in docs/authorization.md, driven through the API: every write
with every identity; allowed writes succeed, refused ones are 401/403/404 and leave every
table of the database exactly as it was.

Scenarios are set up through the engine (fast); only the checked requests go over HTTP.
"""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import MetaData, make_url

from tests.pdfs import make_pdf

DOC = Path(__file__).resolve().parents[2] / "docs" / "authorization.md"
IDENTITIES = {"holder": "ds", "creator": "clerk", "sender": "so", "monitoring": "collector",
              "grant": "us", "auditor": "auditor", "admin": "admin", "designer": "designer",
              "anonymous": None}
# 404 only where an item of someone else's does not exist for the caller (yellow notes)
HIDDEN = ("/yellow-notes/{note}", "/passkeys/{passkey}")
_unique = itertools.count(1)


def read_matrix() -> list[tuple[str, dict[str, bool]]]:
    text = DOC.read_text(encoding="utf-8")
    block = text.split("<!-- matrix:start -->")[1].split("<!-- matrix:end -->")[0]
    rows = [[c.strip() for c in line.strip().strip("|").split("|")]
            for line in block.strip().splitlines()]
    header, body = rows[0], rows[2:]
    assert header[1:] == list(IDENTITIES), f"columns of the table: {header[1:]}"
    matrix = []
    for cells in body:
        assert set(cells[1:]) <= {"yes", "no"}, cells
        verdicts = zip(header[1:], cells[1:], strict=True)
        matrix.append((cells[0], {k: v == "yes" for k, v in verdicts}))
    return matrix


@dataclass
class Scenario:
    """clerk opens a file and diarises a receipt; both go clerk -> so -> ds; the admin
    grants `us` read access to the file."""
    app: Any
    u: dict
    file: int = 0
    receipt: int = 0
    grant: int = 0
    extra: dict = field(default_factory=dict)

    def build(self) -> Scenario:
        app, u = self.app, self.u
        n = next(_unique)
        self.file = app.open_file(u["clerk"], f"Matrix file {n}", "11013")["id"]
        self.receipt = app.diarise(u["clerk"], {"sender": "Director", "subject": f"Letter {n}",
                                                "mode": "post"})["id"]
        for who, to in (("clerk", "so"), ("so", "ds")):
            self.act(who, "file_id", self.file, {"action": "forward", "to": to})
            self.act(who, "receipt_id", self.receipt, {"action": "forward", "to": to})
        self.grant = app.grant(u["admin"], {"user": "us", "file_id": self.file,
                                            "reason": "matrix"})["id"]
        return self

    def once(self, key: str, make: Callable[[], Any]) -> Any:
        if key not in self.extra:
            self.extra[key] = make()
        return self.extra[key]

    def task(self, who: str, key: str, value: int) -> int:
        return next(t["id"] for t in self.app.inbox(self.u[who]) if t.get(key) == value)

    def act(self, who: str, key: str, value: int, body: dict) -> None:
        self.app.act(self.u[who], self.task(who, key, value), body)


def _vacant_post(sc: Scenario) -> str:
    code = f"GAD-MX-{next(_unique)}"
    sc.app.create_post(sc.u["admin"], {"code": code, "title": "Matrix post",
                                       "department": "GAD", "section": "EST"})
    return code


def _postless_user(sc: Scenario) -> str:
    name = f"mx{next(_unique)}"
    sc.app.create_user(sc.u["admin"], {"username": name, "full_name": "Matrix User",
                                       "password": "matrix-pass-1", "role": "officer"})
    return name


def _closed_file(sc: Scenario) -> int:
    app, u = sc.app, sc.u
    fid = app.open_file(u["clerk"], "Matrix closed", "11013")["id"]
    app.add_note(u["clerk"], fid, "para")
    sc.act("clerk", "file_id", fid, {"action": "forward", "to": "ds"})
    sc.act("ds", "file_id", fid, {"action": "approve"})
    sc.act("clerk", "file_id", fid, {"action": "close", "record_category": "C"})
    return fid


def _physical_file(sc: Scenario) -> int:
    fid = sc.app.open_file(sc.u["clerk"], "Matrix paper", "11013", kind="physical")["id"]
    sc.act("clerk", "file_id", fid, {"action": "forward", "to": "so"})
    sc.act("so", "file_id", fid, {"action": "forward", "to": "ds"})
    return fid


def _draft(sc: Scenario, approved: bool = False) -> int:
    draft = sc.app.create_draft(sc.u["ds"], sc.file, "Reply", "Text of the reply", "Director")
    if approved:
        sc.app.approve_draft(sc.u["ds"], draft["id"])
    return draft["id"]


def _note(sc: Scenario) -> int:
    return sc.app.add_draft_note(sc.u["ds"], sc.file, "a yellow note")["id"]


def _passkey(sc: Scenario) -> int:
    """A passkey of ds (the holder), registered with a software authenticator."""
    from tests.passkey_device import Device

    options = sc.app.passkey_registration_options(sc.u["ds"], "http://localhost")
    return sc.app.register_passkey(sc.u["ds"], Device().register(options), options["nonce"],
                                   "http://localhost", "matrix")["id"]


def _other(sc: Scenario) -> int:
    return sc.once("other", lambda: sc.app.open_file(sc.u["ds"], "Other", "11013")["id"])


def _head(sc: Scenario) -> int:
    return sc.once("head", lambda: sc.app.add_subject_head(
        sc.u["admin"], "GAD", f"88{next(_unique)}", "To retire")["id"])


def _holiday(sc: Scenario) -> int:
    return sc.once("holiday", lambda: sc.app.add_holiday(
        sc.u["admin"], date(2032, 3, 1 + next(_unique) % 28), "To delete")["id"])


def _rule(sc: Scenario) -> int:
    return sc.once("rule", lambda: sc.app.add_sla_rule(sc.u["admin"], {
        "department": "GAD", "priority": "Top Priority",
        "amount": 1 + next(_unique) % 300, "unit": "working_hours"})["id"])


def _charged_user(sc: Scenario) -> str:
    def make() -> str:
        user, post = _postless_user(sc), _vacant_post(sc)
        sc.app.add_charge(sc.u["admin"], user, post, None, "2099-12-31")
        return user
    return sc.once("charged", make)


Request = tuple[str, str, dict]
# Each operation: (scenario) -> (method, path, requests kwargs); called once per identity.
OPERATIONS: dict[str, Callable[[Scenario], Request]] = {
    "POST /receipts": lambda sc: ("POST", "/receipts", {"json": {
        "sender": "Director", "subject": "New letter", "mode": "post"}}),
    "POST /receipts/{receipt}/copy": lambda sc: (
        "POST", f"/receipts/{sc.receipt}/copy", {"json": {}}),
    "POST /tasks/{receipt_task} put_in_file": lambda sc: (
        "POST", f"/tasks/{sc.task('ds', 'receipt_id', sc.receipt)}",
        {"json": {"action": "put_in_file", "file_id": sc.file}}),
    "POST /files": lambda sc: ("POST", "/files", {"json": {"subject": "New", "head": "11013"}}),
    "POST /files/{file}/notes": lambda sc: (
        "POST", f"/files/{sc.file}/notes", {"json": {"text": "green"}}),
    "POST /files/{file}/yellow-notes": lambda sc: (
        "POST", f"/files/{sc.file}/yellow-notes", {"json": {"text": "yellow"}}),
    "PATCH /yellow-notes/{note}": lambda sc: (
        "PATCH", f"/yellow-notes/{sc.once('note', lambda: _note(sc))}",
        {"json": {"text": "edited"}}),
    "DELETE /yellow-notes/{note}": lambda sc: (
        "DELETE", f"/yellow-notes/{sc.once('note', lambda: _note(sc))}", {}),
    "POST /yellow-notes/{note}/confirm": lambda sc: (
        "POST", f"/yellow-notes/{sc.once('note', lambda: _note(sc))}/confirm", {}),
    "POST /files/{file}/priority": lambda sc: (
        "POST", f"/files/{sc.file}/priority", {"json": {"priority": "Immediate"}}),
    "POST /files/{file}/parts": lambda sc: ("POST", f"/files/{sc.file}/parts", {"json": {}}),
    "POST /files/{file}/links": lambda sc: (
        "POST", f"/files/{sc.file}/links", {"json": {"other_file_id": _other(sc)}}),
    "POST /files/{file}/park": lambda sc: ("POST", f"/files/{sc.file}/park", {}),
    "POST /files/{file}/unpark": lambda sc: (
        sc.once("parked", lambda: sc.app.park_file(sc.u["ds"], sc.file)) and
        ("POST", f"/files/{sc.file}/unpark", {})),
    "POST /files/{file}/drafts": lambda sc: (
        "POST", f"/files/{sc.file}/drafts", {"json": {"subject": "Reply", "text": "Text"}}),
    "POST /drafts/{draft}/versions": lambda sc: (
        "POST", f"/drafts/{sc.once('draft', lambda: _draft(sc))}/versions",
        {"json": {"text": f"Version {next(_unique)}"}}),
    "POST /drafts/{draft}/approve": lambda sc: (
        "POST", f"/drafts/{sc.once('draft', lambda: _draft(sc))}/approve", {}),
    "POST /drafts/{draft}/dispatch": lambda sc: (
        "POST", f"/drafts/{sc.once('draft', lambda: _draft(sc, approved=True))}/dispatch",
        {"json": {"mode": "post"}}),
    "POST /files/{file}/pullback": lambda sc: ("POST", f"/files/{sc.file}/pullback", {}),
    "POST /tasks/{file_task} return": lambda sc: (
        "POST", f"/tasks/{sc.task('ds', 'file_id', sc.file)}", {"json": {"action": "return"}}),
    "POST /files/digitise": lambda sc: (
        "POST", "/files/digitise", {
            "data": {"file_id": str(sc.once("paper", lambda: _physical_file(sc)))},
            "files": {"note_sheet": ("sheet.pdf", make_pdf("Note sheet"), "application/pdf")}}),
    "POST /files/{closed_file}/reopen": lambda sc: (
        "POST", f"/files/{sc.once('closed', lambda: _closed_file(sc))}/reopen",
        {"json": {"reason": "new facts"}}),
    "POST /grants": lambda sc: ("POST", "/grants", {"json": {
        "user": "designer", "file_id": sc.file, "reason": "needs to see it"}}),
    "DELETE /grants/{grant}": lambda sc: ("DELETE", f"/grants/{sc.grant}", {}),
    "POST /checkpoints": lambda sc: ("POST", "/checkpoints", {}),
    "POST /passkeys/{passkey}/revoke": lambda sc: (
        "POST", f"/passkeys/{sc.once('passkey', lambda: _passkey(sc))}/revoke", {}),
    "POST /process-definitions": lambda sc: (
        "POST", "/process-definitions", {
            "data": (Path(__file__).resolve().parents[2] / "processes" /
                     "file_reopen.bpmn").read_bytes(),
            "headers": {"Content-Type": "application/xml"}}),
    "POST /admin/subject-heads": lambda sc: ("POST", "/admin/subject-heads", {"json": {
        "department": "GAD", "code": f"77{next(_unique)}", "title": "Matrix head"}}),
    "POST /admin/subject-heads/{head}/retire": lambda sc: (
        "POST", f"/admin/subject-heads/{_head(sc)}/retire", {}),
    "POST /admin/sections": lambda sc: ("POST", "/admin/sections", {"json": {
        "department": "GAD", "code": f"S{next(_unique)}"}}),
    "POST /admin/posts": lambda sc: ("POST", "/admin/posts", {"json": {
        "code": f"GAD-NEW-{next(_unique)}", "title": "New post", "department": "GAD",
        "section": "EST"}}),
    "POST /admin/users": lambda sc: ("POST", "/admin/users", {"json": {
        "username": f"new{next(_unique)}", "full_name": "New User",
        "password": "new-pass-12"}}),
    "POST /admin/users/{user}/transfer": lambda sc: (
        "POST", f"/admin/users/{sc.once('user', lambda: _postless_user(sc))}/transfer",
        {"json": {"post": sc.once("post", lambda: _vacant_post(sc))}}),
    "POST /admin/users/{user}/additional-charge": lambda sc: (
        "POST", f"/admin/users/{sc.once('user', lambda: _postless_user(sc))}/additional-charge",
        {"json": {"post": sc.once("post", lambda: _vacant_post(sc)),
                  "until": "2099-12-31"}}),
    "DELETE /admin/users/{user}/additional-charge": lambda sc: (
        "DELETE", f"/admin/users/{_charged_user(sc)}/additional-charge", {}),
    "POST /admin/holidays": lambda sc: ("POST", "/admin/holidays", {"json": {
        "day": date(2031, 1, 1).replace(day=1 + next(_unique) % 28).isoformat(),
        "name": "Matrix day"}}),
    "DELETE /admin/holidays/{holiday}": lambda sc: (
        "DELETE", f"/admin/holidays/{_holiday(sc)}", {}),
    "PUT /admin/calendar": lambda sc: ("PUT", "/admin/calendar", {"json": {
        "day_start": "09:30"}}),
    "POST /admin/sla-rules": lambda sc: ("POST", "/admin/sla-rules", {"json": {
        "department": "GAD", "priority": "Immediate", "amount": 1 + next(_unique) % 300,
        "unit": "working_days"}}),
    "DELETE /admin/sla-rules/{rule}": lambda sc: (
        "DELETE", f"/admin/sla-rules/{_rule(sc)}", {}),
    "POST /admin/departments": lambda sc: ("POST", "/admin/departments", {"json": {
        "code": f"MXD{next(_unique)}", "name": "Matrix department"}}),
    "POST /admin/departments/{dept}/retire": lambda sc: (
        "POST", f"/admin/departments/{_department(sc)}/retire", {}),
    "POST /admin/offices": lambda sc: ("POST", "/admin/offices", {"json": {
        "code": f"MXO{next(_unique)}", "name": "Matrix office", "kind": "directorate",
        "department": "GAD"}}),
    "POST /admin/offices/{office}/retire": lambda sc: (
        "POST", f"/admin/offices/{_office(sc)}/retire", {}),
    "POST /admin/users/{user}/reactivate": lambda sc: (
        "POST", f"/admin/users/{_inactive_user(sc)}/reactivate", {}),
    "POST /admin/users/{user}/reset-code": lambda sc: (
        "POST", f"/admin/users/{sc.once('user', lambda: _postless_user(sc))}/reset-code", {}),
    # the last rows: file_reopen's versions (nothing later in the table reopens a file)
    "POST /process-definitions/{process}/versions/{version}/current": lambda sc: (
        "POST", "/process-definitions/file_reopen/versions/1/current", {}),
    "POST /process-definitions/{process}/versions/{version}/suspension": lambda sc: (
        "POST", "/process-definitions/file_reopen/versions/1/suspension",
        {"json": {"suspended": True}}),
    "POST /process-definitions/{process}/migrations": lambda sc: (
        "POST", "/process-definitions/file_reopen/migrations", {"json": {
            "from_version": 1, "to_version": sc.once("v2", lambda: _second_version(sc)),
            "dry_run": False}}),
}


def _second_version(sc: Scenario) -> int:
    xml = (Path(__file__).resolve().parents[2] / "processes" / "file_reopen.bpmn").read_bytes()
    definition, _ = sc.app.deploy(xml.replace(b'name="Decided"', b'name="Decided (v2)"'), None)
    return definition.version


def _department(sc: Scenario) -> str:
    return sc.once("dept", lambda: sc.app.create_department(
        sc.u["admin"], {"code": f"MXR{next(_unique)}", "name": "To retire"})["code"])


def _office(sc: Scenario) -> str:
    return sc.once("office", lambda: sc.app.create_office(sc.u["admin"], {
        "code": f"MXQ{next(_unique)}", "name": "To retire", "kind": "directorate",
        "department": "GAD"})["code"])


def _inactive_user(sc: Scenario) -> str:
    def make() -> str:
        name = _postless_user(sc)
        sc.app.deactivate_user(sc.u["admin"], name)
        return name
    return sc.once("inactive", make)




class Snapshot:
    """Every row of every table, to prove a refused write changed nothing.

    On SQLite the rows are read through the driver's own cursor, in primary-key order, and
    compared as raw tuples (ints, floats, text, bytes, NULL: equal exactly when their reprs
    are; SQLAlchemy's row repr shortens long values). On PostgreSQL the server digests each
    table: md5 of its rows' text (every value as stored) in primary-key order, so no row
    travels to Python. A table without a primary key is taken in an order of its values.

    Reading every value after each of some 370 refused requests was most of this test's
    time, and none of them writes. So `again` first asks whether anything was written since
    the last reading, and reads the tables only if so: SQLite's `PRAGMA data_version`, on a
    connection of its own, changes whenever another connection commits a change; on
    PostgreSQL every insert, update or delete leaves a row version with a new (ctid, xmin),
    which are read without the values."""

    def __init__(self, app):
        self.app = app
        self.sqlite = app.db.is_sqlite
        meta = MetaData()
        meta.reflect(bind=app.db.write_engine)
        preparer = app.db.write_engine.dialect.identifier_preparer
        self.queries: dict[str, tuple[str, bool]] = {}
        digests, versions = [], []
        for t in meta.sorted_tables:
            name = preparer.quote(t.name)
            keys = ", ".join(preparer.quote(c.name) for c in t.primary_key.columns)
            if self.sqlite:
                query = f"SELECT * FROM {name}"  # noqa: S608
                self.queries[t.name] = (f"{query} ORDER BY {keys}" if keys else query,
                                        bool(keys))
                continue
            agg = f"string_agg(t::text, E'\\n' ORDER BY {keys or 't::text'})"
            digest = f"SELECT md5(coalesce({agg}, '')) FROM {name} t"  # noqa: S608
            digests.append(f"SELECT '{t.name}', ({digest})")
            versions.append(f"(SELECT string_agg(ctid::text || xmin::text, ',' "  # noqa: S608
                            f"ORDER BY ctid) FROM {name})")
        self.digests = " UNION ALL ".join(digests)
        self.versions = f"SELECT md5(concat_ws(';', {', '.join(versions)}))"
        self.probe = sqlite3.connect(make_url(app.db.url).database or "") if self.sqlite \
            else None
        self.written: Any = None  # what `_written` said when the tables were last read

    def take(self) -> dict[str, Any]:
        # what has been written first: a commit while the values are read shows next time
        self.written = self._written()
        with self.app.db.write_engine.connect() as conn:
            cursor = conn.connection.driver_connection.cursor()
            try:
                if not self.sqlite:
                    cursor.execute(self.digests)
                    return dict(cursor.fetchall())
                taken = {}
                for name, (query, ordered) in self.queries.items():
                    cursor.execute(query)
                    rows = cursor.fetchall()
                    taken[name] = rows if ordered else sorted(map(repr, rows))
                return taken
            finally:
                cursor.close()

    def again(self, before: dict[str, Any]) -> dict[str, Any]:
        """The tables now: `before` itself (the last reading) when nothing was written
        since it was taken."""
        return before if self._written() == self.written else self.take()

    def _written(self) -> Any:
        if self.probe is not None:
            return self.probe.execute("PRAGMA data_version").fetchone()[0]
        with self.app.db.write_engine.connect() as conn:
            return conn.exec_driver_sql(self.versions).scalar_one()

    def close(self) -> None:
        if self.probe is not None:
            self.probe.close()


def _diff(before: dict, after: dict) -> list[str]:
    return [name for name in before if before[name] != after[name]]


@pytest.fixture
def snapshot(demo) -> Iterator[Snapshot]:
    taker = Snapshot(demo)
    yield taker
    taker.close()


def test_every_write_with_every_identity(demo, users, api, snapshot):
    matrix = read_matrix()
    assert set(op for op, _ in matrix) == set(OPERATIONS), \
        "the table and the test name the same operations"
    for username in IDENTITIES.values():
        if username:
            api.login(username)
    problems: list[str] = []
    calls = 0
    for op, expected in matrix:
        scenario = Scenario(demo, users).build()
        refused = [i for i, ok in expected.items() if not ok]
        allowed = [i for i, ok in expected.items() if ok]
        # The operation makes what it acts on (once per scenario) before the first snapshot.
        method, path, kwargs = OPERATIONS[op](scenario)
        before = snapshot.take() if refused else {}
        for ident in refused:
            method, path, kwargs = OPERATIONS[op](scenario)
            r = api.call(method, path, IDENTITIES[ident], **kwargs)
            calls += 1
            after = snapshot.again(before)
            changed = _diff(before, after)
            before = after
            refusals = (401,) if ident == "anonymous" else \
                (403, 404) if any(h in op for h in HIDDEN) else (403,)
            if r.status_code not in refusals:
                problems.append(f"{op} as {ident}: expected refusal, got {r.status_code} "
                                f"{r.text[:200]}")
            if changed:
                problems.append(f"{op} as {ident}: refused but changed {changed}")
        for k, ident in enumerate(allowed):
            if k:
                scenario = Scenario(demo, users).build()
            method, path, kwargs = OPERATIONS[op](scenario)
            r = api.call(method, path, IDENTITIES[ident], **kwargs)
            calls += 1
            if not 200 <= r.status_code < 300:
                problems.append(f"{op} as {ident}: expected success, got {r.status_code} "
                                f"{r.text[:200]}")
    assert not problems, "\n".join(problems)
    assert calls == len(matrix) * len(IDENTITIES)
