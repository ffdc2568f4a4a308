"""The demo organisation (docs/contract.md) and a few files and receipts in various states."""

from __future__ import annotations

from sqlalchemy import select

from engine.app import Sanchika
from engine.domain import org, subject_heads
from engine.errors import ActionNotAllowed
from engine.store.models import File, User

# username, full name, post code, post title, rank, can approve
OFFICERS = [
    ("clerk", "Ramesh Kumar", "GAD-EST-DA", "Dealing Assistant, Establishment", 1, False),
    ("so", "Sunita Sharma", "GAD-EST-SO", "Section Officer, Establishment", 2, False),
    ("us", "Arvind Mishra", "GAD-EST-US", "Under Secretary, Establishment", 3, False),
    ("ds", "Kavita Singh", "GAD-EST-DS", "Deputy Secretary, Establishment", 4, True),
    ("secretary", "Rajiv Verma", "GAD-SECY", "Secretary, General Administration", 6, True),
]
# A monitoring officer: reads everything in the department read-only (engine/domain/visibility.py).
MONITOR = ("collector", "Meera Joshi", "GAD-MON", "Collector (monitoring), General Administration",
           5)
# GAD's subject heads (the head is part of every file number)
HEADS = [
    ("11011", "Pay and allowances"),
    ("11012", "Transfers and postings"),
    ("11013", "Leave"),
    ("11014", "Vehicles and transport"),
    ("1201", "Recruitment rules"),
    ("1301", "Court cases and service matters"),
]
STAFF = [
    ("designer", "Process Designer", "designer"),
    ("auditor", "Monitoring Officer", "auditor"),
    ("admin", "System Administrator", "admin"),
]


def create_demo(app: Sanchika, password: str) -> dict[str, int]:
    """Idempotent: users and posts are created once; sample files only on an empty database."""
    if len(password) < 8:
        raise ValueError("the demo password must have at least 8 characters")
    with app.command() as s:
        dept = org.ensure_department(s, "GAD", "General Administration")
        est = org.ensure_section(s, dept, "EST", "Establishment")
        for code, title in HEADS:
            subject_heads.ensure(s, dept, code, title)
        superior = None
        posts = {}
        for username, _name, code, title, rank, can_approve in reversed(OFFICERS):
            superior = org.ensure_post(s, est, code, title, rank=rank, can_approve=can_approve,
                                       superior=superior)
            posts[username] = superior
        for number, (username, full_name, *_) in enumerate(OFFICERS, start=1):
            user = org.ensure_user(s, username, full_name, password, post=posts[username],
                                   email=f"{username}@gad.example.gov.in")
            if user.phone is None:  # only fills a missing number; an edited one is kept
                user.phone = f"+9190000000{number:02d}"
        for username, full_name, role in STAFF:
            org.ensure_user(s, username, full_name, password, role=role)
        username, full_name, code, title, rank = MONITOR
        monitor = org.ensure_post(s, est, code, title, rank=rank)
        monitor.monitors = "department"
        org.ensure_user(s, username, full_name, password, post=monitor,
                        email=f"{username}@gad.example.gov.in")
        has_files = s.scalar(select(File.id).limit(1)) is not None
    if has_files:
        return {"samples": 0}
    return {"samples": _samples(app)}


def _samples(app: Sanchika) -> int:
    with app.db.reader() as s:
        users = {u: org.user_by_username(s, u) for u in ("clerk", "so", "us", "ds")}
    clerk, so, us, ds = (users[k] for k in ("clerk", "so", "us", "ds"))
    letters = [
        ("Director, Treasury", "Pay fixation of Junior Assistants after 7th Pay Commission"),
        ("District Collector, Lucknow", "Request for transfer of Naib Tehsildar"),
        ("सचिव, वित्त विभाग", "वार्षिक अवकाश नियमावली में संशोधन"),
        ("Registrar, High Court", "Court case: service matter of Shri A. K. Tiwari"),
    ]

    def diarise(n: int) -> dict:
        sender, subject = letters[n]
        return app.diarise(clerk, {"sender": sender, "subject": subject, "mode": "post"})

    def file_for(n: int, head: str) -> dict:
        """A new file with letter n put up in it."""
        receipt = diarise(n)
        file = app.open_file(clerk, letters[n][1], head)
        task = next(t for t in app.inbox(clerk) if t.get("receipt_id") == receipt["id"])
        _act(app, clerk, task["id"], {"action": "put_in_file", "file_id": file["id"]})
        return file

    # 1: put up in a file that is approved and waiting for closure
    f1 = file_for(0, "11011")
    _move(app, clerk, f1, "forward", "so", "Pay fixation proposal as per rules; put up.")
    _move(app, so, f1, "forward", "us", "Checked with the rules; may be approved.")
    _move(app, us, f1, "forward", "ds", "Recommended.")
    _move(app, ds, f1, "approve", None, "Approved.")
    # 2: a file noted and waiting with the Under Secretary
    f2 = file_for(1, "11012")
    _move(app, clerk, f2, "forward", "so", "Transfer request received; put up for orders.")
    _move(app, so, f2, "forward", "us", "Vacancy position checked.")
    # 3 and 4: receipts still in the clerk's inbox (one in Hindi)
    diarise(2)
    diarise(3)
    return 2


def _move(app: Sanchika, user: User, file: dict, action: str, to: str | None,
          note: str) -> None:
    task = next(t for t in app.inbox(user) if t.get("file_id") == file["id"])
    body = {"action": action, "note": note}
    if to:
        body["to"] = to
    _act(app, user, task["id"], body)


def _act(app: Sanchika, user: User, task_id: int, body: dict) -> None:
    """With a very short SANCHIKA_SLA_DEFAULT (tests, demonstrations) a sample step may
    already be overdue: then it is done with a recorded reason, as an officer would."""
    try:
        app.act(user, task_id, body)
    except ActionNotAllowed as exc:
        if not exc.message.startswith("reason:"):
            raise
        app.act(user, task_id, {**body, "reason": "Sample data set up after the time limit"})
