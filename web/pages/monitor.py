"""Monitoring pages: pendency per office/section/post with every number a link down to
the items, "where is it, with whom, since when", time at desk, adoption and month-wise
counts. Each is a page, a CSV (?format=csv) and a PDF (?format=pdf), in the reader's
language."""

from __future__ import annotations

from flask import request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import login_required

from engine.errors import Forbidden, NotFound
from web.pages.common import page_blueprint, service
from web.reports import as_csv, as_pdf, page, wanted
from web.ui import me

bp = page_blueprint("monitor")


def _int_arg(name: str) -> int | None:
    value = request.args.get(name, "")
    return int(value) if value.isdigit() else None


def _months() -> int:
    return min(max(_int_arg("months") or 6, 1), 24)


@bp.get("/monitor")
@login_required
def pendency() -> ResponseReturnValue:
    office = request.args.get("office") or None
    section = _int_arg("section")
    p = service().monitor_pendency(me(), office=office, section=section)
    fmt = wanted()
    if fmt == "csv":
        return as_csv([_("Level"), _("Name"), _("Code"), _("Officer"), _("Held"), _("Overdue"),
                       _("Oldest since"), _("Oldest (days)"), _("Average days held")],
                      [[r["level"], r["name"], r.get("code") or r["key"], r.get("officer"),
                        r["held"], r["overdue"], r["oldest"], r["oldest_days"],
                        r["average_days"]] for r in p["rows"]], "pendency")
    if fmt == "pdf":
        return as_pdf("mon_pendency.html", "pendency", p=p)
    return page("mon_pendency.html", p=p)


@bp.get("/monitor/items")
@login_required
def items() -> ResponseReturnValue:
    level = {"office": request.args.get("office") or None, "section": _int_arg("section"),
             "post": _int_arg("post"), "overdue": request.args.get("overdue") == "1"}
    r = service().monitor_items(me(), **level)
    fmt = wanted()
    if fmt == "csv":
        return as_csv([_("Number"), _("Subject"), _("Step"), _("With post"), _("Officer"),
                       _("Since"), _("Days held"), _("Due"), _("Overdue"), _("Sent by")],
                      [[i["number"], i["subject"], i["step"], i["post"]["code"],
                        i["post"]["officer"], i["since"], i["days_held"], i["due_at"],
                        _("yes") if i["overdue"] else _("no"),
                        i["from"]["code"] if i["from"] else None] for i in r["items"]],
                      "pending-items")
    if fmt == "pdf":
        return as_pdf("mon_items.html", "pending-items", r=r, level=level)
    return page("mon_items.html", r=r, level=level)


@bp.get("/monitor/where")
@login_required
def where() -> ResponseReturnValue:
    number = request.args.get("number", "").strip()
    found, problem = None, None
    if number:
        try:
            found = service().monitor_where(me(), number)
        except (NotFound, Forbidden) as exc:
            problem = exc.message
    return page("mon_where.html", number=number, w=found, problem=problem), \
        (404 if problem else 200)


@bp.get("/monitor/desk-time")
@login_required
def desk_time() -> ResponseReturnValue:
    report = service().time_at_desk(me(), months=_months(), post=_int_arg("post"))
    fmt = wanted()
    if fmt == "csv":
        return as_csv([_("Post"), _("Officer"), _("Month"), _("Number"), _("Subject"),
                       _("Arrived"), _("Left"), _("Days"), _("Action"), _("Late"),
                       _("Reason for delay")],
                      [[r["post"], r["officer"], r["month"], r["number"], r["subject"],
                        r["arrived"], r["left"] or _("still held"), r["days"], r["action"],
                        _("yes") if r["late"] else _("no"), r["reason"]]
                       for r in report["stays"]], "time-at-desk")
    if fmt == "pdf":
        return as_pdf("mon_desk.html", "time-at-desk", d=report)
    return page("mon_desk.html", d=report)


@bp.get("/monitor/adoption")
@login_required
def adoption() -> ResponseReturnValue:
    a = service().adoption(me(), months=_months())
    fmt = wanted()
    if fmt == "csv" and request.args.get("table") == "monthly":
        return as_csv([_("Month"), _("Files created"), _("Receipts received"),
                       _("Items forwarded")],
                      [[m["month"], m["created"], m["received"], m["forwarded"]]
                       for m in a["monthly"]], "month-wise")
    if fmt == "csv":
        return as_csv([_("Level"), _("Code"), _("Name"), _("Files created"),
                       _("Electronic files"), _("Physical files"), _("Receipts"),
                       _("Electronic receipts"), _("Physical receipts"), _("Active users"),
                       _("Within time limit (per cent)")],
                      [[u["level"], u["code"], u["name"], u["files"], u["files_electronic"],
                        u["files_physical"], u["receipts"], u["receipts_electronic"],
                        u["receipts_physical"], u["active_users"], u["within_limit_pct"]]
                       for u in a["units"]], "adoption")
    if fmt == "pdf":
        return as_pdf("mon_adoption.html", "adoption", a=a)
    return page("mon_adoption.html", a=a)
