"""State-scale benchmark: N files in the database, every read over HTTP.

Builds N files (default 100,000; --million for 1,000,000) in this shape: 70 % closed with
their full history, 30 % open with a task, a timer and live workflow state; an organisation
of 20 departments x 10 sections x 10 posts, one officer per post, open items per post
skewed (a few posts hold thousands, the median post some tens). The rows are copies of what
the service layer made for two template files (one closed, one open): every table the
service wrote for them is read back and copied in bulk with new ids, remapped posts, users,
numbers, subjects (Hindi and English, common and rare words) and dates — made by the
server on PostgreSQL (one INSERT ... SELECT per template row over a table of the copies'
choices), executemany in large transactions on SQLite. Each copy's history is a hash
chain of its own: every event's hash is recomputed for its new instance id and date (in
SQL on PostgreSQL), and the instance records its new head.

Then a server (the app under waitress, 8 threads, no scheduler) is started on the database
and every read is timed over HTTP: p50/p95/max per endpoint, the server's RSS, and bytes per
closed and per open file.

Run: python bench/scale.py [--files N | --million] [--database-url URL] [--requests R]
                           [--json PATH]
See bench/README.md for how to read the figures.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import random
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lifecycle import HEAD, NOTE, PASSWORD, git_revision, make_app, prepare_database

import handlers
from engine.app import Sanchika
from engine.audit import history
from engine.config import Settings
from engine.domain import org
from engine.store.models import Base, User

DEPARTMENTS, SECTIONS, POSTS = 20, 10, 10
CLOSED_SHARE = 0.7
# the tables the service writes for a file's life, in an order SQLite's triggers accept
# (notes and correspondence before their locked file; FK checks are off while copying)
TABLES = ("notes", "correspondence", "approval_signatures", "instances", "receipts", "files",
          "history_events", "open_tasks", "timers", "movements", "outbox", "search_docs")
# what points at an item without a foreign key: (column, the column naming its kind)
POLYMORPHIC = {"instances": ("subject_id", "subject_kind"),
               "search_docs": ("item_id", "kind"), "outbox": ("item_id", "item_kind")}
KIND_TABLE = {"file": "files", "receipt": "receipts"}
# the order a copy's rows are made in: its events before its instances, which record the
# hash of their newest event
COPY_ORDER = ("history_events", *(t for t in TABLES if t != "history_events"))
UNIQUE_TEXT = {"files": ("file_no",), "receipts": ("diary_no", "ack_no"),
               "outbox": ("event_key",), "search_docs": ("number",)}
EN_TOPICS = [("Pay fixation", 5), ("Pension revision", 2), ("Leave sanction", 2),
             ("Pay arrears", 2), ("Transfer and posting", 2), ("Audit para", 1),
             ("Land acquisition", 1), ("Court case", 1)]
HI_TOPICS = [("वेतन निर्धारण", 5), ("पेंशन संशोधन", 2), ("अवकाश स्वीकृति", 2),
             ("वेतन बकाया", 2), ("स्थानांतरण", 2), ("लेखा परीक्षा आपत्ति", 1)]
SURNAMES = ["Sharma", "Verma", "Gupta", "Singh", "Yadav", "Patel", "Mishra", "Tiwari",
            "Pandey", "Joshi", "Meena", "Chauhan", "Rathore", "Saxena", "Dubey", "Agarwal"]
HI_SURNAMES = ["शर्मा", "वर्मा", "गुप्ता", "सिंह", "यादव", "पटेल", "मिश्रा", "तिवारी",
               "पांडे", "जोशी", "मीणा", "चौहान", "राठौर", "सक्सेना", "दुबे", "अग्रवाल"]
# rare words: made-up names, each in about RARE_EVERY files
SYLLABLES = ["ka", "ve", "lo", "ri", "tan", "mu", "sho", "dar", "pi", "zen", "gu", "bha"]
HI_SYLLABLES = ["क", "वे", "लो", "रि", "तन", "मु", "शो", "दर", "पि", "ज़े", "गु", "भा"]
RARE_EVERY = 20
SEARCHES = {"common English": "pay", "common Hindi": "वेतन",
            "rare English": None, "rare Hindi": None}  # rare ones: picked from the build


def rare_word(i: int, hindi: bool) -> str:
    syll = HI_SYLLABLES if hindi else SYLLABLES
    a, b, c = i % 12, (i // 12) % 12, (i // 144) % 12
    return syll[a] + syll[b] + syll[c] + ("" if i < 1728 else syll[(i // 1728) % 12])


# ---------------------------------------------------------------------------- organisation


@dataclass
class Org:
    sections: list[int] = field(default_factory=list)
    posts_of: dict[int, list[int]] = field(default_factory=dict)  # section -> posts
    section_of: dict[int, int] = field(default_factory=dict)
    user_of: dict[int, int] = field(default_factory=dict)  # post -> user
    username_of: dict[int, str] = field(default_factory=dict)  # post -> username
    code_of: dict[int, str] = field(default_factory=dict)  # post -> code
    dept_code_of: dict[int, str] = field(default_factory=dict)  # section -> department code


def build_org(app: Sanchika) -> Org:
    """20 x 10 x 10 posts with one officer each, by plain inserts (org rows have no
    history), one multi-row insert per table; every officer signs in with the demo
    password."""
    o = Org()
    tables = Base.metadata.tables

    def insert(s: Any, table: str, rows: list[dict[str, Any]]) -> list[int]:
        """The rows' new ids, in the rows' order (a statement per row cost most of a tiny
        build: 4,000 compiled inserts)."""
        t = tables[table]
        return list(s.execute(t.insert().returning(t.c.id, sort_by_parameter_order=True),
                              rows).scalars())

    with app.db.transaction() as s:
        password_hash = s.scalar(select(User.password_hash).where(User.username == "clerk"))
        dcodes = [f"SD{d:02d}" for d in range(DEPARTMENTS)]
        deps = insert(s, "departments", [{"code": dcode, "name": f"Scale department {d}"}
                                         for d, dcode in enumerate(dcodes)])
        where = [(d, c) for d in range(DEPARTMENTS) for c in range(SECTIONS)]
        sections = insert(s, "sections", [
            {"department_id": deps[d], "code": f"S{c}", "name": f"Section {c} of {dcodes[d]}"}
            for d, c in where])
        slots = [(d, c, p, sec) for (d, c), sec in zip(where, sections, strict=True)
                 for p in range(POSTS)]
        posts = insert(s, "posts", [
            {"code": f"{dcodes[d]}-S{c}-P{p}", "title": f"Post {p}", "section_id": sec,
             "rank": 1 + p // 2, "can_approve": p >= 6} for d, c, p, sec in slots])
        names = [f"o{d:02d}{c}{p}" for d, c, p, _ in slots]
        users = insert(s, "users", [
            {"username": name, "full_name": f"Officer {name}", "password_hash": password_hash,
             "post_id": post, "role": "officer", "language": "hi" if p % 2 else "en",
             "active": True, "session_generation": 0}
            for name, post, (_, _, p, _) in zip(names, posts, slots, strict=True)])
    for (d, _), sec in zip(where, sections, strict=True):
        o.sections.append(sec)
        o.dept_code_of[sec] = dcodes[d]
        o.posts_of[sec] = []
    for (d, c, p, sec), post, user, name in zip(slots, posts, users, names, strict=True):
        o.posts_of[sec].append(post)
        o.section_of[post] = sec
        o.user_of[post] = user
        o.username_of[post] = name
        o.code_of[post] = f"{dcodes[d]}-S{c}-P{p}"
    return o


def skewed_holders(o: Org, n_open: int, rng: random.Random) -> list[int]:
    """A holder post for each open file, by log-normal weights: at a million files the
    median post holds about 55 and the heaviest some thousands."""
    posts = [p for sec in o.sections for p in o.posts_of[sec]]
    weights = [rng.lognormvariate(0, 1.4) for _ in posts]
    return rng.choices(posts, weights=weights, k=n_open)


# ---------------------------------------------------------------------------- templates


@dataclass
class Template:
    kind: str  # closed | open
    rows: dict[str, list[dict[str, Any]]]
    posts: dict[str, int]  # role -> template post id (clerk, so, us, ds)
    subject: str
    terms_subject: str


def max_ids(app: Sanchika) -> dict[str, int]:
    with app.db.engine.connect() as c:
        return {t: c.execute(text(f"SELECT COALESCE(MAX(id), 0) FROM {t}")).scalar_one()  # noqa: S608
                for t in TABLES}


def read_rows(app: Sanchika, since: dict[str, int]) -> dict[str, list[dict[str, Any]]]:
    """Every row the service wrote after `since`, as the driver returns it."""
    out: dict[str, list[dict[str, Any]]] = {}
    with app.db.engine.connect() as c:
        for t in TABLES:
            cols = [col.name for col in Base.metadata.tables[t].columns if col.name != "vector"]
            res = c.exec_driver_sql(
                f"SELECT {', '.join(cols)} FROM {t} WHERE id > {since[t]} ORDER BY id")  # noqa: S608
            out[t] = [dict(zip(cols, row, strict=True)) for row in res.fetchall()]
    return out


def make_templates(app: Sanchika) -> tuple[Template, Template]:
    users = _users(app)
    clerk, so, us, ds = (users[k] for k in ("clerk", "so", "us", "ds"))
    posts = {k: users[k].post_id for k in users}
    subject = "Template subject zqxtemplate"

    def task_of(user: User, file_id: int) -> int:
        return next(t["id"] for t in app.inbox(user) if t.get("file_id") == file_id)

    def new_file() -> int:
        receipt = app.diarise(clerk, {"sender": "Director, Treasury", "subject": subject,
                                      "mode": "post"})
        file_id = app.open_file(clerk, subject, HEAD, receipt_id=receipt["id"])["id"]
        app.act(clerk, task_of(clerk, file_id), {"action": "forward", "to": "so",
                                                 "note": NOTE})
        return file_id

    before = max_ids(app)
    file_id = new_file()
    app.act(so, task_of(so, file_id), {"action": "forward", "to": "us",
                                       "note": "Seen. The proposal is in order."})
    app.act(us, task_of(us, file_id), {"action": "forward", "to": "ds"})
    app.act(ds, task_of(ds, file_id), {"action": "approve"})
    app.act(clerk, task_of(clerk, file_id), {"action": "close", "record_category": "C"})
    closed = Template("closed", read_rows(app, before), posts, subject, subject.lower())
    before = max_ids(app)
    new_file()
    opened = Template("open", read_rows(app, before), posts, subject, subject.lower())
    return closed, opened


def _users(app: Sanchika) -> dict[str, User]:
    with app.db.reader() as s:
        return {name: org.user_by_username(s, name) for name in ("clerk", "so", "us", "ds")}


# ---------------------------------------------------------------------------- cloning


@dataclass
class Copy:
    """What one copy changes: its number, new ids per table, posts, users, section,
    subject and how far its dates move back."""

    no: int
    ids: dict[str, dict[int, int]]
    posts: dict[int, int]
    users: dict[int, int]
    section: int
    subject: str
    terms_subject: str
    delta: timedelta

    def remap(self, target: str, value: int) -> int:
        if target in self.ids:
            return self.ids[target].get(value, value)
        if target == "posts":
            return self.posts.get(value, value)
        if target == "users":
            return self.users.get(value, value)
        return self.section if target == "sections" else value


class Cloner:
    """Makes the rows of one copy of a template: new ids, posts, users, numbers, subject,
    dates."""

    def __init__(self, app: Sanchika, o: Org, sqlite: bool):
        self.o = o
        self.sqlite = sqlite
        self.tables = {t: Base.metadata.tables[t] for t in TABLES}
        self.next_id = {t: v + 1 for t, v in max_ids(app).items()}
        self.fk: dict[str, dict[str, str]] = {}
        self.dates: dict[str, list[str]] = {}
        self.json: dict[str, list[str]] = {}
        for t, table in self.tables.items():
            self.fk[t] = {c.parent.name: c.column.table.name for c in table.foreign_keys}
            self.dates[t] = [c.name for c in table.columns
                             if c.type.__class__.__name__ == "UTCDateTime"]
            self.json[t] = [c.name for c in table.columns
                            if c.type.__class__.__name__ == "JSON"]

    def prepare(self, tpl: Template) -> None:
        """Once per template: JSON as text and SQLite's date text as datetimes, so each
        copy only moves the dates (the copying's hot loop)."""
        for t in TABLES:
            for row in tpl.rows[t]:
                for col in self.json[t]:
                    if row[col] is not None and not isinstance(row[col], str):
                        row[col] = json.dumps(row[col])
                for col in self.dates[t]:
                    if isinstance(row[col], str):  # SQLite keeps the text SQLAlchemy wrote
                        row[col] = datetime.fromisoformat(row[col])

    def shift(self, value: Any, delta: timedelta) -> Any:
        if value is None:
            return None
        if self.sqlite:  # the text SQLAlchemy's SQLite dialect reads back
            return (value + delta).isoformat(" ")
        return value + delta

    def clone(self, tpl: Template, copy_no: int, post_map: dict[int, int], section: int,
              subject: str, delta: timedelta, out: dict[str, list[tuple[Any, ...]]]) -> int:
        """Append one copy's rows to `out`; returns the new file id."""
        ids: dict[str, dict[int, int]] = {}
        for t in TABLES:
            ids[t] = {}
            for row in tpl.rows[t]:
                ids[t][row["id"]] = self.next_id[t]
                self.next_id[t] += 1
        copy = Copy(copy_no, ids, post_map,
                    {self.template_users[tp]: self.o.user_of[p] for tp, p in post_map.items()},
                    section, subject, " ".join(subject.lower().split()), delta)
        heads: dict[int, str] = {}  # new instance id -> its newest event's hash so far
        for t in COPY_ORDER:
            if not tpl.rows[t]:
                continue
            cols = list(tpl.rows[t][0])
            out.setdefault("_cols_" + t, [tuple(cols)])
            rows = out.setdefault(t, [])
            for row in tpl.rows[t]:
                new = self.row(tpl, t, row, copy)
                if t == "history_events":
                    self.chain(row, new, copy, heads)
                elif t == "instances" and new.get("last_event_hash") is not None:
                    new["last_event_hash"] = heads[new["id"]]
                rows.append(tuple(new[c] for c in cols))
        return ids["files"][tpl.rows["files"][0]["id"]]

    @staticmethod
    def chain(row: dict[str, Any], new: dict[str, Any], copy: Copy, heads: dict[int, str]
              ) -> None:
        """The copied event's hashes, chained to its copy's previous event (rows come in
        (instance, seq) order): its instance id and date differ from the template's."""
        at = row["at"] + copy.delta
        if at.tzinfo is None:  # SQLite's text: UTC, as UTCDateTime reads it back
            at = at.replace(tzinfo=UTC)
        prev = heads.get(new["instance_id"], history.GENESIS)
        data = json.loads(new["data"]) if isinstance(new["data"], str) else new["data"]
        body = history.event_body(new["instance_id"], new["seq"], new["kind"],
                                  at.astimezone(UTC), new["actor"], new["task_spec"],
                                  data or {})
        new["prev_hash"] = prev
        new["hash"] = heads[new["instance_id"]] = history.event_hash(prev, body)

    def row(self, tpl: Template, t: str, row: dict[str, Any], copy: Copy) -> dict[str, Any]:
        new = dict(row)
        new["id"] = copy.ids[t][row["id"]]
        for col, target in self.fk[t].items():
            if row[col] is not None:
                new[col] = copy.remap(target, row[col])
        if t in POLYMORPHIC:
            col, kind_col = POLYMORPHIC[t]
            target = KIND_TABLE.get(row[kind_col] or "")
            if target and row[col] is not None:
                new[col] = copy.ids[target].get(row[col], row[col])
        for col in UNIQUE_TEXT.get(t, ()):
            if row[col] is not None:
                new[col] = f"{row[col]}/X{copy.no}"
        for col in self.dates[t]:
            new[col] = self.shift(row[col], copy.delta)
        if isinstance(new.get("subject"), str):
            new["subject"] = new["subject"].replace(tpl.subject, copy.subject)
        if t == "search_docs":
            number_terms = " ".join(re.findall(r"\w+", row["number"].lower()))
            new["terms"] = row["terms"].replace(tpl.terms_subject, copy.terms_subject) \
                .replace(number_terms, number_terms + f" x{copy.no}", 1)
        return new

    # template post -> template user (the demo's clerk, so, us, ds), set by build()
    template_users: dict[int, int]


# ---------------------------------------------------------------------------- loading


def load(app: Sanchika, out: dict[str, list[tuple[Any, ...]]]) -> None:
    """SQLite: write one batch of copied rows by executemany (FK checks off; the FTS
    triggers still index). PostgreSQL's copies are made by the server (`generate`)."""
    conn = sqlite3.connect(make_url(app.db.url).database or "", timeout=60)
    try:
        conn.execute("PRAGMA foreign_keys=OFF")
        conn.execute("BEGIN IMMEDIATE")
        for t in TABLES:
            if not out.get(t):
                continue
            cols = out["_cols_" + t][0]
            conn.executemany(
                f"INSERT INTO {t} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",  # noqa: S608
                out[t])
        conn.execute("COMMIT")
    finally:
        conn.close()


ROLES = ("clerk", "so", "us", "ds")


def generate(app: Sanchika, cloner: Cloner, templates: tuple[Template, Template],
             plans: Any, n: int, rng: random.Random, progress: Callable[[str], None]
             ) -> list[int]:
    """PostgreSQL: the copies made by the server. Each copy's choices (posts, users,
    section, subject, date shift) go into a temporary table by one COPY; then every
    template row becomes one `INSERT ... SELECT` over that table, its ids, posts, users,
    numbers, subjects and dates worked out in SQL (a Python loop over the rows took ~2 ms
    a file: ~50 minutes for a million). Triggers and FK checks are off meanwhile
    (`session_replication_role = replica`), so the search vector is set in the INSERT.
    Returns a sample of the new files' ids."""
    base = dict(cloner.next_id)  # per table: the first id of the closed copies
    count = {tpl.kind: 0 for tpl in templates}
    roles = {tpl.kind: [r for r in ROLES if r in tpl.posts] for tpl in templates}
    sample: list[tuple[str, int]] = []
    raw = app.db.engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("CREATE TEMP TABLE scale_copies (no int, seq int, kind text, section int, "
                    "p0 int, p1 int, p2 int, p3 int, u0 int, u1 int, u2 int, u3 int, "
                    "subject text, terms_subject text, delta interval)")
        with cur.copy("COPY scale_copies FROM STDIN") as copy:  # type: ignore[attr-defined]
            for i, (tpl, post_map, sec, subject, delta) in enumerate(plans):
                seq = count[tpl.kind]
                count[tpl.kind] += 1
                new_posts = [post_map.get(tpl.posts[r]) for r in roles[tpl.kind]]
                new_posts += [None] * (4 - len(new_posts))
                new_users = [None if p is None else cloner.o.user_of[p] for p in new_posts]
                copy.write_row((i, seq, tpl.kind, sec, *new_posts, *new_users, subject,
                                " ".join(subject.lower().split()), delta))
                if len(sample) < 200 and rng.random() < 400 / n:
                    sample.append((tpl.kind, seq))
        cur.execute("ANALYZE scale_copies")
        raw.commit()
        progress(f"planned {n:,} copies")
        # secondary indexes are dropped while copying and made again after (building an
        # index once is far quicker than growing it row by row); those behind a
        # constraint (primary keys, unique numbers) stay
        indexes = cur.execute(
            "SELECT indexname, indexdef FROM pg_indexes i WHERE schemaname = 'public' "
            "AND tablename = ANY(%s) AND NOT EXISTS (SELECT 1 FROM pg_constraint c "
            "WHERE c.conname = i.indexname)", (list(TABLES),)).fetchall()
        for name, _ in indexes:
            cur.execute(f'DROP INDEX "{name}"')
        raw.commit()
        # ids: the closed copies first, then the open ones, each copy a block of its
        # template's rows per table
        closed = templates[0]
        starts = {"closed": {t: base[t] for t in TABLES},
                  "open": {t: base[t] + count["closed"] * len(closed.rows[t]) for t in TABLES}}
        for tpl in templates:
            start = starts[tpl.kind]
            cur.execute("SET session_replication_role = replica")
            for t in COPY_ORDER:
                types = dict(cur.execute(
                    "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
                    "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
                    (t,)).fetchall())
                for row in tpl.rows[t]:
                    cols, exprs, params = _row_sql(cloner, tpl, t, row, start, types)
                    cur.execute(f"INSERT INTO {t} ({', '.join(cols)}) SELECT "  # noqa: S608
                                f"{', '.join(exprs)} FROM scale_copies c WHERE c.kind = %s",
                                (*params, tpl.kind))
                raw.commit()  # a table's copies at a time
                progress(f"{tpl.kind} copies: {t} done")
            cur.execute("SET session_replication_role = origin")
        cur.execute("DROP TABLE scale_copies")
        cur.execute("SET maintenance_work_mem = '256MB'")
        for _, definition in indexes:
            cur.execute(definition)
            raw.commit()
        progress(f"{len(indexes)} indexes made again")
    finally:
        raw.close()
    per_file = {tpl.kind: len(tpl.rows["files"]) for tpl in templates}
    return [starts[kind]["files"] + seq * per_file[kind] for kind, seq in sample]


def _row_sql(cloner: Cloner, tpl: Template, t: str, row: dict[str, Any],  # noqa: C901 - one case per kind of column, as in Cloner.row
             start: dict[str, int], types: dict[str, str]
             ) -> tuple[list[str], list[str], list[Any]]:
    """Columns, SQL expressions over `c` (scale_copies) and parameters for the copies of one
    template row: what Cloner.row does in Python, in SQL."""
    index = {tt: {r["id"]: k for k, r in enumerate(tpl.rows[tt])} for tt in TABLES}

    def new_id(target: str, value: int) -> str | None:
        k = index[target].get(value)
        if k is None:
            return None
        return f"({start[target] + k} + c.seq * {len(tpl.rows[target])})"

    mapped = [r for r in ROLES if r in tpl.posts]
    post_role = {tpl.posts[r]: j for j, r in enumerate(mapped)}
    user_role = {cloner.template_users[tpl.posts[r]]: j for j, r in enumerate(mapped)
                 if tpl.posts[r] in cloner.template_users}
    cols, exprs, params = [], [], []
    terms = None
    for col, value in row.items():
        kind = types[col]
        expr: str | None = None
        args: list[Any] = []
        target = cloner.fk[t].get(col)
        if t in POLYMORPHIC and col == POLYMORPHIC[t][0]:
            target = KIND_TABLE.get(row[POLYMORPHIC[t][1]] or "") or target
        if value is None:
            expr = f"NULL::{kind}"
        elif t == "history_events" and col in ("prev_hash", "hash"):
            expr, args = _chain_sql(tpl, row, new_id, col == "hash")
        elif t == "instances" and col == "last_event_hash":
            last = next(e["id"] for e in tpl.rows["history_events"]
                        if e["instance_id"] == row["id"] and e["seq"] == row["event_count"])
            expr = _hash_of(new_id("history_events", last))
        elif col == "id":
            expr = new_id(t, value)
        elif target in index:
            expr = new_id(target, value)
        elif target == "posts" and value in post_role:
            expr = f"c.p{post_role[value]}"
        elif target == "users" and value in user_role:
            expr = f"c.u{user_role[value]}"
        elif target == "sections":
            expr = "c.section"
        elif col in UNIQUE_TEXT.get(t, ()):
            expr, args = "(%s || '/X' || c.no)", [value]
        elif col in cloner.dates[t]:
            expr, args = "(%s::timestamptz + c.delta)", [value]
        elif col == "subject" and isinstance(value, str):
            expr, args = "replace(%s, %s, c.subject)", [value, tpl.subject]
        elif t == "search_docs" and col == "terms":
            number_terms = " ".join(re.findall(r"\w+", row["number"].lower()))
            expr = "replace(replace(%s, %s, c.terms_subject), %s, %s || ' x' || c.no)"
            args = [value, tpl.terms_subject, number_terms, number_terms]
            terms = (expr, args)
        if expr is None:
            expr, args = f"%s::{kind}", [value]
        cols.append(col)
        exprs.append(expr)
        params += args
    if terms is not None and "vector" in types:  # the trigger is off: the vector here
        cols.append("vector")
        exprs.append(f"to_tsvector('simple', {terms[0]})")
        params += terms[1]
    return cols, exprs, params


# an event's date as Python's isoformat() writes it (UTC; no fraction when it is zero)
ISO_SQL = ("(to_char({at} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS') || CASE WHEN "
           "to_char({at}, 'US') = '000000' THEN '' ELSE '.' || to_char({at}, 'US') END "
           "|| '+00:00')")


def _hash_of(event_id: str | None) -> str:
    """The hash of a copied event made earlier (by its primary key)."""
    return f"(SELECT h.hash FROM history_events h WHERE h.id = {event_id})"  # noqa: S608


def _chain_sql(tpl: Template, row: dict[str, Any], new_id: Callable[[str, int], str | None],
               own: bool) -> tuple[str, list[Any]]:
    """SQL for a copied event's `prev_hash` (own=False) or `hash`: history.event_hash over
    the copy's instance id and date, chained to the hash of the copy's previous event
    (made by the statement before: rows come in (instance, seq) order)."""
    if row["seq"] == 1:
        prev, prev_args = "%s", [history.GENESIS]
    else:
        before = next(e["id"] for e in tpl.rows["history_events"]
                      if e["instance_id"] == row["instance_id"] and e["seq"] == row["seq"] - 1)
        prev = _hash_of(new_id("history_events", before))
        prev_args = []
    if not own:
        return prev, prev_args
    data = row["data"]
    data_json = history.canonical_json(json.loads(data) if isinstance(data, str) else data or {})
    dump = history.canonical_json
    at = "(%s::timestamptz + c.delta)"
    head = f'{{"actor":{dump(row["actor"])},"at":"'
    middle = f'","data":{data_json},"instance_id":'
    tail = (f',"kind":{dump(row["kind"])},"seq":{dump(row["seq"])},'
            f'"task_spec":{dump(row["task_spec"])}}}')
    instance = new_id("instances", row["instance_id"])
    body = f"%s || {ISO_SQL.format(at=at)} || %s || ({instance})::text || %s"
    expr = f"encode(sha256(convert_to({prev} || {body}, 'UTF8')), 'hex')"
    return expr, [*prev_args, head, row["at"], row["at"], row["at"], middle, tail]


def finish(app: Sanchika) -> None:
    """Sequences past the copied ids (PostgreSQL), fresh planner statistics."""
    if app.db.is_sqlite:
        conn = sqlite3.connect(make_url(app.db.url).database or "")
        conn.execute("ANALYZE")
        conn.close()
        return
    engine = create_engine(app.db.url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            for t in TABLES:
                conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{t}', 'id'), "  # noqa: S608
                                     f"(SELECT MAX(id) FROM {t}))")
            conn.exec_driver_sql("VACUUM ANALYZE")
    finally:
        engine.dispose()


@dataclass
class Built:
    files: int
    closed: int
    open: int
    heavy_post: int
    median_post: int
    sample_files: list[int]
    rare_en: str
    rare_hi: str
    build_seconds: float
    per_post: dict[str, float]
    typical_user: str
    heavy_user: str
    heavy_code: str


def copy_plan(i: int, n_closed: int, n_rare_words: int, o: Org, holders: list[int],
              closed_tpl: Template, open_tpl: Template, rng: random.Random
              ) -> tuple[Template, dict[int, int], int, str, timedelta]:
    """Copy i: its template, template post -> new post, section, subject, date shift."""
    is_open = i >= n_closed
    hindi = i % 2 == 1
    topics = HI_TOPICS if hindi else EN_TOPICS
    topic = rng.choices([t for t, _ in topics], weights=[w for _, w in topics])[0]
    surname = rng.choice(HI_SURNAMES if hindi else SURNAMES)
    # the same made-up name in English and in Hindi, each in about RARE_EVERY files
    subject = f"{topic} {surname} {rare_word((i // 2) % n_rare_words, hindi)}"
    if is_open:
        holder = holders[i - n_closed]
        sec = o.section_of[holder]
        others = [p for p in o.posts_of[sec] if p != holder]
        return (open_tpl, {open_tpl.posts["clerk"]: rng.choice(others),
                           open_tpl.posts["so"]: holder},
                sec, subject, -timedelta(days=rng.uniform(0, 60)))
    sec = rng.choice(o.sections)
    a, b, c, d = rng.sample(o.posts_of[sec], 4)
    return (closed_tpl, {closed_tpl.posts["clerk"]: a, closed_tpl.posts["so"]: b,
                         closed_tpl.posts["us"]: c, closed_tpl.posts["ds"]: d},
            sec, subject, -timedelta(days=rng.uniform(60, 730)))


def build(app: Sanchika, n: int, rng: random.Random,
          progress: Callable[[str], None]) -> tuple[Built, dict[str, dict[str, int]]]:
    start = time.perf_counter()
    o = build_org(app)
    closed_tpl, open_tpl = make_templates(app)
    cloner = Cloner(app, o, app.db.is_sqlite)
    cloner.prepare(closed_tpl)
    cloner.prepare(open_tpl)
    users = _users(app)
    cloner.template_users = {u.post_id: u.id for u in users.values()}
    n_closed = int(n * CLOSED_SHARE)
    n_open = n - n_closed
    holders = skewed_holders(o, n_open, rng)
    batch = 2000  # SQLite: files per transaction
    out: dict[str, list[tuple[Any, ...]]] = {}
    sample: list[int] = []
    rare = rng.randrange(max(1, n // RARE_EVERY))
    n_rare_words = max(1, n // RARE_EVERY)
    plans = (copy_plan(i, n_closed, n_rare_words, o, holders, closed_tpl, open_tpl, rng)
             for i in range(n))
    if app.db.is_sqlite:
        for i, (tpl, post_map, sec, subject, delta) in enumerate(plans):
            file_id = cloner.clone(tpl, i, post_map, sec, subject, delta, out)
            if len(sample) < 200 and rng.random() < 400 / n:
                sample.append(file_id)
            if (i + 1) % batch == 0 or i == n - 1:
                load(app, out)
                out = {}
                progress(f"built {i + 1:,} of {n:,} files")
    else:
        sample = generate(app, cloner, (closed_tpl, open_tpl), plans, n, rng, progress)
    finish(app)
    counts: dict[int, int] = {}
    for h in holders:
        counts[h] = counts.get(h, 0) + 1
    per_post = sorted(counts.get(p, 0) for p in o.section_of)
    by_load = sorted(o.section_of, key=lambda p: counts.get(p, 0))
    median_post, heavy = by_load[len(by_load) // 2], by_load[-1]
    stats = {"median": statistics.median(per_post),
             "p99": per_post[int(len(per_post) * 0.99) - 1] if per_post else 0,
             "max": per_post[-1] if per_post else 0}
    built = Built(n, n_closed, n_open, heavy, median_post, sample,
                  rare_word(rare, False), rare_word(rare, True),
                  time.perf_counter() - start, stats, o.username_of[median_post],
                  o.username_of[heavy], o.code_of[heavy])
    rows_per = {tpl.kind: {t: len(tpl.rows[t]) for t in TABLES} for tpl in (closed_tpl, open_tpl)}
    return built, rows_per


def forward_files(app: Sanchika, k: int) -> list[int]:
    """Files for the timed forward, made by the service itself (their workflow state is
    their own, not a copy's)."""
    clerk = _users(app)["clerk"]
    out = []
    for i in range(k):
        receipt = app.diarise(clerk, {"sender": "Bench", "subject": f"Forward {i}",
                                      "mode": "post"})
        out.append(app.open_file(clerk, f"Forward {i}", HEAD, receipt_id=receipt["id"])["id"])
    return out


# ---------------------------------------------------------------------------- sizes


def bytes_per_file(app: Sanchika, rows_per: dict[str, dict[str, int]]) -> dict[str, float]:
    """Bytes per closed and per open file: each table's bytes per row (data, indexes,
    TOAST; PostgreSQL's pg_total_relation_size, SQLite's dbstat or the file's size shared
    by row count) times the rows a file of that kind has in it."""
    per_row: dict[str, float] = {}
    with app.db.engine.connect() as c:
        counts = {t: c.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar_one() for t in TABLES}  # noqa: S608
        if app.db.is_sqlite:
            try:
                sizes = dict(c.execute(text(
                    "SELECT name, SUM(pgsize) FROM dbstat GROUP BY name")).all())
                tables = {t: sizes.get(t, 0) + sum(v for k, v in sizes.items()
                                                   if k.startswith((f"ix_{t}_", f"uq_{t}_",
                                                                    f"sqlite_autoindex_{t}_")))
                          for t in TABLES}
                tables["search_docs"] += sum(v for k, v in sizes.items()
                                             if k.startswith("search_fts"))
            except Exception:
                size = Path(make_url(app.db.url).database or "").stat().st_size
                total = sum(counts.values())
                tables = {t: size * counts[t] / total for t in TABLES}
        else:
            tables = {t: c.execute(text("SELECT pg_total_relation_size(:t)"), {"t": t})
                      .scalar_one() for t in TABLES}
    for t in TABLES:
        per_row[t] = tables[t] / counts[t] if counts[t] else 0.0
    return {kind: sum(per_row[t] * rows for t, rows in table_rows.items())
            for kind, table_rows in rows_per.items()}


# ---------------------------------------------------------------------------- HTTP


SERVER = """
import sys
import handlers
from engine.app import Sanchika
from engine.config import Settings
from engine.config import Settings
import handlers
from web.app import create_app
from web.serving import make_server
settings = Settings.from_env({"SANCHIKA_DATA_DIR": sys.argv[1],
                              "SANCHIKA_DATABASE_URL": sys.argv[2]})
service = Sanchika(settings, handlers.registry)
server = make_server(create_app(settings, service), "127.0.0.1", int(sys.argv[3]), 8)
print("ready", flush=True)
server.run()
"""


class Client:
    def __init__(self, base: str):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.token: str | None = None

    def call(self, method: str, path: str, body: Any = None, form: dict | None = None
             ) -> tuple[int, bytes]:
        headers = {}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if form is not None:
            data = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        req = urllib.request.Request(self.base + path, data=data, headers=headers,  # noqa: S310 - http://127.0.0.1 only
                                     method=method)
        try:
            with self.opener.open(req, timeout=600) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def sign_in(self, username: str) -> Client:
        status, body = self.call("POST", "/api/v1/auth/token",
                                 {"username": username, "password": PASSWORD})
        if status != 200:
            raise RuntimeError(f"sign-in of {username}: {status} {body[:200]!r}")
        self.token = json.loads(body)["token"]
        return self

    def page_sign_in(self, username: str) -> Client:
        _status, page = self.call("GET", "/login")
        match = re.search(rb'name="csrf_token" value="([^"]+)"', page)
        if not match:
            raise RuntimeError("no CSRF token on /login")
        status, _ = self.call("POST", "/login", form={
            "username": username, "password": PASSWORD, "csrf_token": match.group(1).decode()})
        if status >= 400:
            raise RuntimeError(f"page sign-in of {username}: {status}")
        return self


@dataclass
class Series:
    name: str
    ms: list[float] = field(default_factory=list)
    bytes: int = 0
    errors: int = 0
    cpu_ms: float = 0.0  # the server process's CPU time over the series

    def figures(self) -> dict[str, Any]:
        ms = sorted(self.ms)
        if not ms:
            return {"n": 0}
        return {"n": len(ms), "p50": ms[len(ms) // 2], "p95": ms[min(len(ms) - 1,
                                                                      int(len(ms) * 0.95))],
                "max": ms[-1], "bytes": self.bytes // len(ms), "errors": self.errors,
                "cpu_ms": self.cpu_ms / len(ms)}


def timed(series: Series, call: Callable[[], tuple[int, bytes]], ok: int = 200) -> bytes:
    t0 = time.perf_counter()
    status, body = call()
    series.ms.append((time.perf_counter() - t0) * 1000)
    series.bytes += len(body)
    if status != ok:
        series.errors += 1
        if series.errors == 1:
            print(f"  {series.name}: HTTP {status} {body[:200]!r}", file=sys.stderr)
    return body


def cpu_ms(pid: int | None) -> float:
    """A process's CPU time so far (user + system), in ms: unlike wall time, it does not
    grow with the other jobs of a shared machine (the database server's is not in it)."""
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int) -> dict[str, int]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(("VmRSS:", "VmHWM:")):
            out[line.split(":")[0]] = int(line.split()[1])
    return out


def measure(url: str, data_dir: Path, built: Built, forwards: list[int], r: int,
            progress: Callable[[str], None]) -> tuple[list[Series], dict[str, int]]:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(data_dir), url, str(port)],
                              stdout=subprocess.PIPE, env=env, text=True)
    try:
        assert server.stdout is not None
        if server.stdout.readline().strip() != "ready":
            raise RuntimeError("the server did not start")
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/api/v1/health", timeout=2).read()  # noqa: S310
                break
            except OSError:
                time.sleep(0.1)
        series = run_reads(base, built, forwards, r, progress, server.pid)
        return series, rss_kib(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)


def run_reads(base: str, built: Built, forwards: list[int], r: int,
              progress: Callable[[str], None], server_pid: int | None = None
              ) -> list[Series]:
    auditor = Client(base).sign_in("auditor")
    admin = Client(base).sign_in("admin")
    typical = Client(base).sign_in(built.typical_user)
    heavy = Client(base).sign_in(built.heavy_user)
    clerk = Client(base).sign_in("clerk")
    rng = random.Random(7)
    out: list[Series] = []

    def run(name: str, call: Callable[[], tuple[int, bytes]], times: int = r) -> None:
        s = Series(name)
        call()  # warm: first use of a plan, a pool connection
        cpu0 = cpu_ms(server_pid)
        for _ in range(times):
            timed(s, call)
        s.cpu_ms = cpu_ms(server_pid) - cpu0
        out.append(s)
        f = s.figures()
        progress(f"{name}: p50 {f['p50']:.1f} ms, p95 {f['p95']:.1f} ms, "
                 f"server CPU {f['cpu_ms']:.1f} ms")

    files = built.sample_files
    run("inbox, typical post (first page)", lambda: typical.call("GET", "/api/v1/tasks"))
    run("inbox, heaviest post (first page)", lambda: heavy.call("GET", "/api/v1/tasks"))
    run("open file (auditor)", lambda: auditor.call("GET", f"/api/v1/files/{rng.choice(files)}"))
    run("track", lambda: auditor.call("GET", f"/api/v1/files/{rng.choice(files)}/track"))
    run("history", lambda: auditor.call("GET", f"/api/v1/files/{rng.choice(files)}/history"))
    run("files by holder (heaviest post)",
        lambda: auditor.call("GET", "/api/v1/files?holder="
                             + urllib.parse.quote(built.heavy_code)))
    words = {**SEARCHES, "rare English": built.rare_en, "rare Hindi": built.rare_hi}
    for who, client in (("auditor", auditor), ("officer", typical)):
        for label, word in words.items():
            q = urllib.parse.quote(word or "")
            run(f"search {label} '{word}' as {who}",
                lambda c=client, q=q: c.call("GET", f"/api/v1/search?q={q}"))
    run("notifications", lambda: typical.call("GET", "/api/v1/notifications"))
    few = max(3, r // 10)
    run("pendency report (admin)", lambda: admin.call("GET", "/api/v1/reports/pendency"), few)
    run("pendency report (officer)", lambda: typical.call("GET", "/api/v1/reports/pendency"),
        few)
    page = Client(base).page_sign_in(built.typical_user)
    run("dashboard (officer)", lambda: page.call("GET", "/dashboard"), few)
    page_admin = Client(base).page_sign_in("admin")
    run("dashboard (admin)", lambda: page_admin.call("GET", "/dashboard"), few)
    # one forward: the clerk sends a service-made file on to the section officer
    tasks = {t["file_id"]: t["id"] for t in json.loads(clerk.call("GET", "/api/v1/tasks")[1])
             if t.get("file_id")}
    fwd = Series("one forward")
    cpu0 = cpu_ms(server_pid)
    for file_id in forwards:
        if file_id in tasks:
            timed(fwd, lambda t=tasks[file_id]: clerk.call(
                "POST", f"/api/v1/tasks/{t}", {"action": "forward", "to": "so"}))
    fwd.cpu_ms = cpu_ms(server_pid) - cpu0
    out.append(fwd)
    return out


# ---------------------------------------------------------------------------- report


def report(result: dict[str, Any]) -> str:
    lines = [f"Sanchika state-scale benchmark, {result['files']:,} files on "
             f"{result['database']} (commit {result['commit']}, {result['date']})",
             f"built in {result['build_seconds']:.0f} s; open items per post: median "
             f"{result['open_per_post']['median']:.0f}, p99 {result['open_per_post']['p99']}, "
             f"heaviest {result['open_per_post']['max']}; load average while measuring "
             f"{result['load_average'][0]:.1f} -> {result['load_average'][1]:.1f} "
             f"on {os.cpu_count()} CPUs",
             "",
             f"{'endpoint':<52} {'n':>4} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} "
             f"{'cpu ms':>7} {'bytes':>9} {'err':>4}"]
    for name, f in result["endpoints"].items():
        if not f.get("n"):
            lines.append(f"{name:<52} {'-':>4}")
            continue
        lines.append(f"{name:<52} {f['n']:>4} {f['p50']:>8.1f} {f['p95']:>8.1f} "
                     f"{f['max']:>8.1f} {f.get('cpu_ms', 0):>7.1f} {f['bytes']:>9,} "
                     f"{f['errors']:>4}")
    rss = result["server_rss_kib"]
    lines += ["",
              f"server RSS {rss.get('VmRSS', 0) / 1024:.0f} MiB (peak "
              f"{rss.get('VmHWM', 0) / 1024:.0f} MiB)",
              f"bytes per closed file {result['bytes_per_file']['closed']:,.0f}, per open file "
              f"{result['bytes_per_file']['open']:,.0f}"]
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--files", type=int, default=100_000)
    p.add_argument("--million", action="store_true", help="1,000,000 files")
    p.add_argument("--database-url", help="default: a fresh SQLite file in a temp dir; a "
                   "PostgreSQL database is wiped first (DROP SCHEMA public CASCADE)")
    p.add_argument("--requests", type=int, default=50, help="timed requests per endpoint")
    p.add_argument("--seed", type=int, default=15)
    p.add_argument("--json", type=Path, help="also write the figures as JSON")
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--keep", type=Path, help="keep the data folder and the build's facts in "
                   "this folder (for --measure-only)")
    p.add_argument("--measure-only", action="store_true",
                   help="measure an earlier build again (--database-url and --keep of it)")
    p.add_argument("--build-only", action="store_true",
                   help="build (and --keep) the database, measure nothing (for bench/verify.py "
                        "--existing)")
    args = p.parse_args(argv)
    if args.million:
        args.files = 1_000_000
    return args


def run_bench(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    def progress(msg: str) -> None:
        if not args.quiet:
            print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)

    keep = args.keep or tmp
    keep.mkdir(parents=True, exist_ok=True)
    data_dir, state = keep / "data", keep / "scale-state.json"
    if args.measure_only:
        if not (args.database_url and args.keep and state.exists()):
            raise SystemExit("error: --measure-only needs the --database-url and --keep DIR "
                             "of an earlier build")
        url = args.database_url
        saved = json.loads(state.read_text())
        built, rows_per = Built(**saved["built"]), saved["rows_per_file"]
        settings = Settings.from_env({"SANCHIKA_DATA_DIR": str(data_dir),
                                      "SANCHIKA_DATABASE_URL": url})
        app = Sanchika(settings, handlers.registry)
    else:
        url = prepare_database(args.database_url, tmp)
        app = make_app(url, data_dir)
        built, rows_per = build(app, args.files, random.Random(args.seed), progress)
        state.write_text(json.dumps({"built": asdict(built), "rows_per_file": rows_per}))
        if args.build_only:
            app.db.dispose()
            return {"files": built.files, "build_seconds": built.build_seconds}
    forwards = forward_files(app, args.requests)
    sizes = bytes_per_file(app, rows_per)
    app.db.dispose()
    load_before = os.getloadavg()[0]
    series, rss = measure(url, data_dir, built, forwards, args.requests, progress)
    # the machine's load while measuring: on a shared machine every wall-clock figure
    # grows with it, so it is printed beside them
    load = [load_before, os.getloadavg()[0]]
    return {
        "files": built.files, "closed": built.closed, "open": built.open,
        "database": "SQLite" if url.startswith("sqlite") else "PostgreSQL",
        "commit": git_revision(), "date": time.strftime("%Y-%m-%d"),
        "build_seconds": built.build_seconds, "open_per_post": built.per_post,
        "endpoints": {s.name: s.figures() for s in series},
        "server_rss_kib": rss, "bytes_per_file": sizes, "load_average": load,
        "rows_per_file": rows_per,
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="sanchika-scale-") as tmp:
        result = run_bench(args, Path(tmp))
    if args.build_only:
        print(f"built {result['files']:,} files in {result['build_seconds']:.0f} s")
        return 0
    print(report(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
