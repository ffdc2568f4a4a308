"""The weekly review: for each department's Secretary and each monitoring post, a PDF of
pendency, overdue items with their holders, the slowest files, time at desk by level and
adoption, in English with Hindi headings (engine/read/templates/review.html)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.domain import offices, org
from engine.read import monitoring
from engine.read.pdf import html_to_pdf
from engine.store.db import get_or_404
from engine.store.models import Department, OpenTask, Post, Section

TEMPLATES = Path(__file__).resolve().parent / "templates"
SECRETARY_RANK = 6
OVERDUE_SHOWN = 25
SLOWEST_SHOWN = 10
_env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape())


@dataclass
class Recipient:
    post: Post
    sections: list[int]
    role: str  # secretary | monitor
    scope_name: str


def week_start(at: datetime) -> date:
    """Monday of the office week containing `at`."""
    day = org.office_today(at)
    return day - timedelta(days=day.weekday())


def recipients(s: Session) -> list[Recipient]:
    """Each working department's Secretary (its highest post of rank 6 or more that is
    not a monitoring post) and every monitoring post."""
    out: list[Recipient] = []
    for dept in s.scalars(select(Department).where(Department.retired_at.is_(None))
                          .order_by(Department.code)):
        sections = list(s.scalars(select(Section.id).where(Section.department_id == dept.id)))
        secretary = s.scalar(select(Post).where(
            Post.section_id.in_(sections), Post.monitors.is_(None),
            Post.rank >= SECRETARY_RANK).order_by(Post.rank.desc(), Post.id).limit(1))
        if secretary is not None:
            out.append(Recipient(secretary, sections, "secretary", dept.name))
    for post in s.scalars(select(Post).where(Post.monitors.is_not(None)).order_by(Post.id)):
        section = get_or_404(s, Section, post.section_id)
        name = {"state": "State", "department": section.department.name,
                "section": section.name}.get(post.monitors or "", "")
        if post.monitors == "office":
            office = offices.office_of_section(s, section)
            name = offices.path(s, office)[-1].name if office else section.department.name
        out.append(Recipient(post, offices.monitor_sections(s, post), "monitor", name))
    return out


def build(s: Session, recipient: Recipient, now: datetime) -> dict[str, Any]:
    o = monitoring.Org.load(s)
    scope = set(s.scalars(select(Post.id).where(Post.section_id.in_(recipient.sections))))
    tasks = list(s.scalars(select(OpenTask).where(OpenTask.closed_at.is_(None),
                                                  OpenTask.post_id.in_(scope))))
    by_section: dict[int, list[OpenTask]] = {}
    for t in tasks:
        by_section.setdefault(o.posts[t.post_id].section_id, []).append(t)
    pendency = [{"name": o.sections[sid].name,
                 "office": _office_name(o, sid),
                 **monitoring._aggregate(ts, now)}
                for sid, ts in sorted(by_section.items(), key=lambda kv: -len(kv[1]))]
    overdue = sorted((t for t in tasks if t.due_at is not None and t.due_at < now),
                     key=lambda t: t.due_at or now)
    slowest = sorted((t for t in tasks if t.kind == "file"), key=monitoring.arrived)
    desk = monitoring.time_at_desk(s, None, now, months=1, scope=scope)
    adoption = monitoring.adoption(s, None, now, months=3, scope=scope)
    return {
        "post": recipient.post, "role": recipient.role, "scope_name": recipient.scope_name,
        "week": week_start(now).isoformat(), "at": now.astimezone(org.OFFICE_TZ)
        .strftime("%Y-%m-%d %H:%M IST"),
        "total": monitoring._aggregate(tasks, now), "pendency": pendency,
        "overdue": monitoring.item_rows(s, o, overdue[:OVERDUE_SHOWN], now),
        "overdue_count": len(overdue),
        "slowest": monitoring.item_rows(s, o, slowest[:SLOWEST_SHOWN], now),
        "levels": adoption["average_days_by_rank"], "late": desk["late"][:15],
        "adoption": adoption["units"], "monthly": adoption["monthly"],
    }


def _office_name(o: monitoring.Org, section_id: int) -> str:
    office = o.section_office.get(section_id)
    return o.offices[office].name if office is not None else ""


def render_pdf(data: dict[str, Any]) -> bytes:
    html = _env.get_template("review.html").render(**data)
    return html_to_pdf(html)
