"""Reading the inbox's query string (tab, view, sort, filters, page) into a list query,
and the arguments a link keeps when it changes one of them."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from werkzeug.datastructures import MultiDict

from engine.domain.org import OFFICE_TZ
from engine.errors import InvalidInput
from engine.read.inbox import SORTS, TABS, VIEWS, Query

KEPT = ("tab", "view", "sort", "desc", "priority", "overdue", "from", "since", "until")


def _day(value: str | None, field: str, end: bool = False) -> datetime | None:
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{field}: a date as YYYY-MM-DD") from None
    if end:
        day += timedelta(days=1)
    return datetime.combine(day, time.min, OFFICE_TZ)


def query_from(args: MultiDict) -> Query:
    tab = args.get("tab", "file")
    view = args.get("view", "inbox")
    sort = args.get("sort", "age" if view in ("sent", "closed", "created") else "due")
    page = args.get("page", "1")
    return Query(
        tab=tab if tab in TABS else "file", view=view if view in VIEWS else "inbox",
        sort=sort if sort in SORTS else "due", desc=args.get("desc") == "1",
        page=int(page) if page.isdigit() else 1,
        priority=args.get("priority") or None, overdue=args.get("overdue") == "1",
        sender=args.get("from") or None, since=_day(args.get("since"), "since"),
        until=_day(args.get("until"), "until", end=True)).check()


def kept_args(args: MultiDict) -> dict[str, Any]:
    return {k: args[k] for k in KEPT if args.get(k)}
