"""How long a post may hold an item (CSMOP). Working-day calendars come with the SLA rules;
until then a limit is a plain ISO-8601 duration."""

from __future__ import annotations

PRIORITIES = ("Normal", "Priority", "Immediate", "Top Priority")

# CSMOP: 7 working days unless a rule says otherwise; gradings shorten it.
CSMOP_LIMITS = {"Normal": "P7D", "Priority": "P3D", "Immediate": "P1D", "Top Priority": "PT4H"}


def limit_for(priority: str, override: str | None) -> str:
    """`override` is SANCHIKA_SLA_DEFAULT: one limit for everything (demos, tests)."""
    return override or CSMOP_LIMITS.get(priority, CSMOP_LIMITS["Normal"])
