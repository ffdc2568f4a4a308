"""A living state for the demo (`sanchika demo`, unless --no-state): Labour, Revenue and
Finance departments beside the demo's GAD; a Labour Commissioner's directorate; a Bhopal
revenue division with the Sehore and Raisen collectorates and a tehsil under each; a
Chief Secretary's monitoring cell; and a few hundred files and receipts in every state
(moving, overdue with reasons, approved, closed, reopened, parked, physical and
electronic, sent from a district to the secretariat and back), spread over recent months.

Items are moved through the real services (processes, tasks, movements, notes); their
timestamps are then spread over the last months (tasks, movements, files, receipts —
never the hash-chained history), so the reports have months to show. Idempotent: built
once, skipped when the Labour secretariat already has files."""

from __future__ import annotations

import contextlib
import io
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from engine.app import Sanchika
from engine.domain import offices, org, subject_heads
from engine.errors import ActionNotAllowed, SanchikaError
from engine.store.db import get_or_404
from engine.store.models import File, Movement, OpenTask, Post, Receipt, User, utcnow

SEED = 20261


@dataclass(frozen=True)
class P:
    """A post: code, title, rank, may approve, username, full name."""

    code: str
    title: str
    rank: int
    approves: bool
    user: str
    name: str
    monitors: str | None = None


# department code, name, subject heads
DEPARTMENTS = [
    ("LAB", "Labour", [("L101", "Minimum wages"), ("L201", "Factory inspection"),
                       ("L301", "Industrial disputes")]),
    ("REV", "Revenue", [("R101", "Land records"), ("R201", "Mutation and partition"),
                        ("R301", "Relief and rehabilitation")]),
    ("FIN", "Finance", [("F101", "Budget"), ("F201", "Pension cases")]),
]
# office code, name, kind, department, parent, section (code, name), posts top-down
OFFICES: list[tuple[str, str, str, str, str | None, tuple[str, str], list[P]]] = [
    ("LAB-SECTT", "Labour Department (Secretariat)", "secretariat", "LAB", None,
     ("LAB-EST", "Labour Establishment"), [
         P("LAB-SECY", "Secretary, Labour", 6, True, "lab.secy", "Anil Kumar Saxena"),
         P("LAB-DS", "Deputy Secretary, Labour", 4, True, "lab.ds", "Pooja Tiwari"),
         P("LAB-US", "Under Secretary, Labour", 3, False, "lab.us", "Rakesh Dubey"),
         P("LAB-SO", "Section Officer, Labour", 2, False, "lab.so", "Shabnam Khan"),
         P("LAB-DA", "Dealing Assistant, Labour", 1, False, "lab.da", "Manoj Patel")]),
    ("LAB-LC", "Office of the Labour Commissioner, Indore", "directorate", "LAB", "LAB-SECTT",
     ("LC-EST", "Labour Commissioner's Establishment"), [
         P("LC-LC", "Labour Commissioner", 5, True, "lc", "Dr. Suresh Bhargava"),
         P("LC-DLC", "Deputy Labour Commissioner", 3, False, "lc.dlc", "Neha Chouhan"),
         P("LC-DA", "Dealing Assistant, Labour Commissioner's office", 1, False, "lc.da",
           "Imran Qureshi")]),
    ("REV-SECTT", "Revenue Department (Secretariat)", "secretariat", "REV", None,
     ("REV-LR", "Land Records"), [
         P("REV-SECY", "Secretary, Revenue", 6, True, "rev.secy", "Sanjay Shukla"),
         P("REV-DS", "Deputy Secretary, Revenue", 4, True, "rev.ds", "Alka Shrivastava"),
         P("REV-SO", "Section Officer, Land Records", 2, False, "rev.so", "Deepak Yadav"),
         P("REV-DA", "Dealing Assistant, Land Records", 1, False, "rev.da", "Geeta Sahu")]),
    ("REV-DIV-BPL", "Commissioner, Bhopal Division", "division", "REV", "REV-SECTT",
     ("BPL-GEN", "Divisional Commissioner's office"), [
         P("BPL-COMM", "Commissioner, Bhopal Division (monitoring)", 6, False, "commr.bpl",
           "Kavindra Kiyawat", "office"),
         P("BPL-DA", "Dealing Assistant, Bhopal Division", 1, False, "bpl.da", "Ritu Sen")]),
    ("REV-DIST-SEH", "Collectorate Sehore", "district", "REV", "REV-DIV-BPL",
     ("SEH-REV", "Revenue branch, Sehore"), [
         P("SEH-COLL", "Collector, Sehore", 5, True, "coll.seh", "Praveen Singh"),
         P("SEH-ADM", "Additional Collector, Sehore", 3, False, "adm.seh", "Vrinda Deshmukh"),
         P("SEH-DA", "Dealing Assistant, Sehore", 1, False, "seh.da", "Asha Rai")]),
    ("REV-DIST-RSN", "Collectorate Raisen", "district", "REV", "REV-DIV-BPL",
     ("RSN-REV", "Revenue branch, Raisen"), [
         P("RSN-COLL", "Collector, Raisen", 5, True, "coll.rsn", "Arvind Dubey"),
         P("RSN-ADM", "Additional Collector, Raisen", 3, False, "adm.rsn", "Sheela Mehra"),
         P("RSN-DA", "Dealing Assistant, Raisen", 1, False, "rsn.da", "Lokesh Thakur")]),
    ("REV-FLD-ASHTA", "Tehsil Ashta", "field", "REV", "REV-DIST-SEH",
     ("ASHTA-T", "Tehsil office, Ashta"), [
         P("ASHTA-TEH", "Tehsildar, Ashta", 2, False, "teh.ashta", "Mohan Lal Verma"),
         P("ASHTA-RI", "Revenue Inspector, Ashta", 1, False, "ri.ashta", "Sunil Malviya")]),
    ("REV-FLD-BARELI", "Tehsil Bareli", "field", "REV", "REV-DIST-RSN",
     ("BARELI-T", "Tehsil office, Bareli"), [
         P("BARELI-TEH", "Tehsildar, Bareli", 2, False, "teh.bareli", "Farida Begum"),
         P("BARELI-RI", "Revenue Inspector, Bareli", 1, False, "ri.bareli", "Ajay Kushwaha")]),
    ("FIN-SECTT", "Finance Department (Secretariat)", "secretariat", "FIN", None,
     ("FIN-BUD", "Budget"), [
         P("FIN-SECY", "Secretary, Finance", 6, True, "fin.secy", "Manisha Agrawal"),
         P("FIN-US", "Under Secretary, Budget", 3, True, "fin.us", "Harish Nair"),
         P("FIN-DA", "Dealing Assistant, Budget", 1, False, "fin.da", "Pankaj Jain")]),
]
# The Chief Secretary's monitoring cell (GAD): reads the whole state.
CS_CELL = ("GAD", "CSCELL", "Chief Secretary's monitoring cell",
           P("CS-MON", "Chief Secretary's monitoring cell", 6, False, "cs.cell",
             "Iqbal Singh Bains", "state"))

SUBJECTS = {
    "LAB": ["Revision of minimum wages for {}", "Inspection report of factories in {}",
            "Industrial dispute at {} spinning mill", "Registration of contractors in {}",
            "{} में न्यूनतम वेतन का पुनरीक्षण", "Bonus dispute referred from {}"],
    "REV": ["Mutation dispute in village {}", "Demarcation of government land at {}",
            "Relief to flood-affected families of {}", "Encroachment on pasture land, {}",
            "{} ग्राम में नामांतरण का विवाद", "Diversion of agricultural land at {}"],
    "FIN": ["Supplementary budget demand from {}", "Pension sanction of a retired clerk, {}",
            "{} के लिए अतिरिक्त बजट की माँग"],
}
PLACES = ["Ichhawar", "Budhni", "Nasrullaganj", "Ashta", "Bareli", "Udaipura", "Silwani",
          "Begamganj", "Gairatganj", "Obaidullaganj", "Indore", "Pithampur", "Dewas",
          "सीहोर", "रायसेन", "भोपाल"]
SENDERS = ["Collector, Sehore", "Labour Commissioner, Indore", "Secretary, Finance",
           "Gram Panchayat, Ichhawar", "Shri Ramprasad Meena", "M/s Vardhman Textiles",
           "तहसीलदार, आष्टा", "Accountant General, Gwalior", "District Labour Officer, Dewas"]
LATE_REASONS = ["Awaited comments from the Finance Department",
                "Field report from the tehsil was pending",
                "Officer on leave; taken up on return",
                "Court stay; file kept pending till the next hearing",
                "फील्ड रिपोर्ट अप्राप्त थी", "Clarification sought from the applicant",
                "Heavy election duty during the period"]
# How long an item stays at a desk, in days (mostly short, some long).
STAY_CHOICES = [0.2, 0.5, 1, 1, 2, 2, 3, 4, 5, 6, 8, 10, 14, 21]
DUE_DAYS = 7


def create_state(app: Sanchika, password: str, files: int = 110, receipts: int = 90
                 ) -> dict[str, int]:
    """Build the state once (see the module docstring); returns what was made."""
    rng = random.Random(SEED)  # noqa: S311 (made-up demo data, not secrets)
    posts = _organisation(app, password)
    with app.db.reader() as s:
        sectt = s.scalar(select(Post.id).where(Post.code == "LAB-DA"))
        if s.scalar(select(File.id).where(File.creator_post_id == sectt).limit(1)):
            return {"files": 0, "receipts": 0}
        users = {u.username: u for u in s.scalars(select(User).where(
            User.username.in_([p.user for p in posts.values()])))}
    builder = _Builder(app, rng, users, posts, _scan())
    made_files = sum(builder.file_story(i) for i in range(files))
    made_receipts = sum(builder.receipt_story(i) for i in range(receipts))
    builder.spread_times()
    return {"files": made_files, "receipts": made_receipts}


def _ensure_user(s: Any, p: P, password_hash: str, post: Post) -> None:
    """Like org.ensure_user, with the password hashed once for all the state's users."""
    if s.scalar(select(User.id).where(User.username == p.user)) is None:
        s.add(User(username=p.user, full_name=p.name, password_hash=password_hash,
                   post_id=post.id, role="officer", email=f"{p.user}@mp.example.gov.in"))
        s.flush()


def _organisation(app: Sanchika, password: str) -> dict[str, P]:
    posts: dict[str, P] = {}
    password_hash = org.hash_password(password)
    with app.db.transaction() as s:
        depts = {}
        for code, name, heads in DEPARTMENTS:
            depts[code] = org.ensure_department(s, code, name)
            for head, title in heads:
                subject_heads.ensure(s, depts[code], head, title)
        depts["GAD"] = org.ensure_department(s, "GAD", "General Administration")
        made: dict[str, Any] = {}
        for code, name, kind, dept, parent, (sec_code, sec_name), office_posts in OFFICES:
            office = offices.ensure_office(s, depts[dept], code, name, kind,
                                           made.get(parent) if parent else None)
            made[code] = office
            section = org.ensure_section(s, depts[dept], sec_code, sec_name)
            section.office_id = office.id
            superior = None
            for p in office_posts:
                if p.monitors:  # a monitoring post sits beside the line, not in it
                    post = org.ensure_post(s, section, p.code, p.title, rank=p.rank)
                    post.monitors = p.monitors
                else:
                    post = org.ensure_post(s, section, p.code, p.title, rank=p.rank,
                                           can_approve=p.approves, superior=superior)
                    superior = post
                posts[p.code] = p
                _ensure_user(s, p, password_hash, post)
        dept, sec_code, sec_name, p = CS_CELL
        section = org.ensure_section(s, depts[dept], sec_code, sec_name)
        post = org.ensure_post(s, section, p.code, p.title, rank=p.rank)
        post.monitors = p.monitors
        posts[p.code] = p
        _ensure_user(s, p, password_hash, post)
        # a district's or a tehsil's head reports to a post in another office
        for below_code, above_code in (("SEH-COLL", "REV-DS"), ("RSN-COLL", "REV-DS"),
                                       ("ASHTA-TEH", "SEH-ADM"), ("BARELI-TEH", "RSN-ADM")):
            below = org.resolve_post(s, below_code, "post")
            below.superior_post_id = org.resolve_post(s, above_code, "superior").id
    return posts


def _scan() -> bytes:
    """A one-page PDF standing in for every scanned letter (stored once, by hash)."""
    # imported on first use, so that every process starts light (CLI, workers)
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


# the lines files travel along: (creator, [next posts...], approver or None)
CHAINS = [
    ("LAB-DA", ["LAB-SO", "LAB-US", "LAB-DS"], "LAB-DS"),
    ("LAB-DA", ["LAB-SO", "LAB-US", "LAB-DS", "LAB-SECY"], "LAB-SECY"),
    ("LC-DA", ["LC-DLC", "LC-LC"], "LC-LC"),
    ("REV-DA", ["REV-SO", "REV-DS"], "REV-DS"),
    ("SEH-DA", ["SEH-ADM", "SEH-COLL"], "SEH-COLL"),
    ("RSN-DA", ["RSN-ADM", "RSN-COLL"], "RSN-COLL"),
    ("ASHTA-RI", ["ASHTA-TEH", "SEH-ADM"], None),
    ("BARELI-RI", ["BARELI-TEH", "RSN-ADM"], None),
    ("FIN-DA", ["FIN-US"], "FIN-US"),
]
# across offices: district to the secretariat department and back
CROSS = [("SEH-DA", ["SEH-ADM", "REV-SO"]), ("RSN-DA", ["RSN-ADM", "REV-DS"]),
         ("LC-DA", ["LC-DLC", "LAB-US"])]


class _Builder:
    def __init__(self, app: Sanchika, rng: random.Random, users: dict[str, User],
                 posts: dict[str, P], scan: bytes):
        self.app, self.rng, self.users, self.posts, self.scan = app, rng, users, posts, scan
        self.file_ids: list[int] = []
        self.receipt_ids: list[int] = []

    def user(self, post_code: str) -> User:
        return self.users[self.posts[post_code].user]

    def subject(self, dept: str) -> str:
        return self.rng.choice(SUBJECTS[dept]).format(self.rng.choice(PLACES))

    def act(self, post_code: str | None, kind: str, item_id: int, body: dict[str, Any]
            ) -> str:
        """Act on the item's open task (at `post_code`, or wherever it is); returns the
        code of the post that acted."""
        with self.app.db.reader() as s:
            column = OpenTask.file_id if kind == "file" else OpenTask.receipt_id
            query = select(OpenTask.id, Post.code).join(Post, Post.id == OpenTask.post_id) \
                .where(column == item_id, OpenTask.closed_at.is_(None))
            if post_code is not None:
                query = query.where(Post.code == post_code)
            found = s.execute(query.limit(1)).first()
        if found is None:
            raise LookupError(f"{post_code} holds no task for {kind} {item_id}")
        task_id, post_code = found
        user = self.user(post_code)
        try:
            self.app.act(user, task_id, body)
        except ActionNotAllowed as exc:  # a tiny SANCHIKA_SLA_DEFAULT: act with a reason
            if not exc.message.startswith("reason:"):
                raise
            self.app.act(user, task_id, {**body, "reason": self.rng.choice(LATE_REASONS)})
        return post_code

    def file_story(self, n: int) -> int:
        rng = self.rng
        cross = n % 9 == 4
        if cross:
            creator, line = rng.choice(CROSS)
            approver = None
        else:
            creator, line, approver = rng.choice(CHAINS)
        dept = "LAB" if creator.startswith(("LAB", "LC")) else (
            "FIN" if creator.startswith("FIN") else "REV")
        head = rng.choice([h for d, _n, heads in DEPARTMENTS if d == dept for h, _t in heads])
        kind = "physical" if rng.random() < 0.15 else "electronic"
        priority = rng.choice(["Normal"] * 8 + ["Priority", "Immediate"])
        try:
            file = self.app.open_file(self.user(creator), self.subject(dept), head, kind=kind)
        except SanchikaError:
            return 0
        fid = file["id"]
        self.file_ids.append(fid)
        if priority != "Normal" and self.posts[creator].rank >= 2:
            self.app.change_priority(self.user(creator), fid, priority)
        # how far along the line it goes (0: still with its creator)
        steps = rng.randint(0, len(line))
        at = creator
        for i, nxt in enumerate(line[:steps]):
            self.act(at, "file", fid, {"action": "forward", "to": nxt,
                                       "note": f"Put up for orders ({i + 1})."})
            at = nxt
        if cross and steps == len(line):
            self.act(at, "file", fid, {"action": "return",
                                       "note": "Examined at the secretariat; returned "
                                               "with guidance."})
            return 1
        if approver and at == approver and rng.random() < 0.7:
            self.act(at, "file", fid, {"action": "approve", "note": "Approved."})
            if rng.random() < 0.5:
                self.act(None, "file", fid, {"action": "close", "record_category": "C"})
                if rng.random() < 0.2:
                    self._reopen(creator, fid, approver)
        elif steps and rng.random() < 0.15:
            self.act(at, "file", fid, {"action": "return", "note": "Please re-examine."})
        elif rng.random() < 0.08:
            with contextlib.suppress(SanchikaError):
                self.app.park_file(self.user(at), fid)
        return 1

    def _reopen(self, creator: str, fid: int, approver: str) -> None:
        try:
            self.app.request_reopen(self.user(creator), fid, "New facts came to light.",
                                    to=approver)
            self.act(None, "file", fid, {"action": "approve"})
        except (SanchikaError, LookupError):
            pass

    def receipt_story(self, n: int) -> int:
        rng = self.rng
        at = rng.choice(["LAB-DA", "LC-DA", "REV-DA", "SEH-DA", "RSN-DA", "FIN-DA",
                         "ASHTA-RI"])
        electronic = rng.random() < 0.55
        fields = {"sender": rng.choice(SENDERS), "subject": self.subject(
            "LAB" if at.startswith(("LAB", "LC")) else "FIN" if at.startswith("FIN") else "REV"),
            "mode": "electronic" if electronic else rng.choice(["post", "hand"])}
        if electronic:
            fields["form"] = "electronic"
        try:
            receipt = self.app.diarise(self.user(at), fields, pdf=self.scan if electronic
                                       else None, pdf_name="letter.pdf" if electronic else None)
        except SanchikaError:
            return 0
        rid = receipt["id"]
        self.receipt_ids.append(rid)
        fate = rng.random()
        superior = next((line[0] for c, line, _a in CHAINS if c == at), None)
        if fate < 0.35 and superior:
            self.act(at, "receipt", rid, {"action": "forward", "to": superior})
        elif fate < 0.55:
            self.act(at, "receipt", rid, {"action": "close", "remark": "Noted and filed."})
        return 1

    def spread_times(self) -> None:
        """Spread each item's history over the last months, keeping its order."""
        now = utcnow()
        with self.app.db.transaction() as s:
            for fid in self.file_ids:
                file = get_or_404(s, File, fid)
                tasks = list(s.scalars(select(OpenTask).where(OpenTask.file_id == fid)
                                       .order_by(OpenTask.id)))
                moves = list(s.scalars(select(Movement).where(Movement.file_id == fid)
                                       .order_by(Movement.id)))
                start = self._retime(tasks, moves, now)
                file.created_at = start
                file.holder_since = moves[-1].sent_at if moves else start
                closes = [t.closed_at for t in tasks if t.closed_at is not None]
                if file.closed_at is not None and closes:
                    file.closed_at = closes[-1]
                # locked_at stays: the locked-record triggers keep it as it was written
                if file.parked_at is not None and tasks:
                    file.parked_at = tasks[-1].received_at + timedelta(hours=3)
            for rid in self.receipt_ids:
                receipt = get_or_404(s, Receipt, rid)
                tasks = list(s.scalars(select(OpenTask).where(OpenTask.receipt_id == rid)
                                       .order_by(OpenTask.id)))
                moves = list(s.scalars(select(Movement).where(Movement.receipt_id == rid)
                                       .order_by(Movement.id)))
                start = self._retime(tasks, moves, now)
                receipt.received_at = start
                if receipt.holder_since is not None:
                    receipt.holder_since = moves[-1].sent_at if moves else start

    def _retime(self, tasks: list[OpenTask], moves: list[Movement], now: datetime
                ) -> datetime:
        rng = self.rng
        stays = [timedelta(days=rng.choice(STAY_CHOICES) * rng.uniform(0.7, 1.3))
                 for t in tasks if t.closed_at is not None]
        still_open = any(t.closed_at is None for t in tasks)
        tail = timedelta(days=rng.uniform(0.2, 30) if still_open else rng.uniform(1, 120))
        start = now - sum(stays, timedelta()) - tail
        at, closed = start, iter(stays)
        for t in tasks:
            t.received_at = at
            if t.due_at is not None:
                t.due_at = at + timedelta(days=DUE_DAYS)
            if t.opened_at is not None:
                t.opened_at = at + timedelta(hours=1)
            if t.closed_at is not None:
                at = at + next(closed)
                t.closed_at = at
                late = t.due_at is not None and t.closed_at > t.due_at
                t.reason = (t.reason or rng.choice(LATE_REASONS)) if late else None
        # each movement left when the task at its sending post was acted on
        pending = [t for t in tasks if t.closed_at is not None]
        for m in moves:
            match = next((t for t in pending if t.post_id == m.from_post_id), None)
            if match is not None and match.closed_at is not None:
                m.sent_at = match.closed_at
                pending = pending[pending.index(match) + 1:]
        return start
