"""REST API for time limits: the admin's holidays, working calendar and SLA rules, and the
pendency report (docs/contract.md)."""

from __future__ import annotations

from flask.typing import ResponseReturnValue
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from engine.sla.policy import PRIORITIES, UNITS
from web.api.auth import current_user
from web.api.core import app_service

blp = Blueprint("sla", __name__, url_prefix="/api/v1", description="Time limits and reports")


class HolidayCreate(Schema):
    day = fields.Date(required=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    office = fields.String(load_default=None, validate=validate.Length(min=1, max=32))


class SlaRuleCreate(Schema):
    department = fields.String(load_default=None, validate=validate.Length(min=1, max=16))
    task_id = fields.String(load_default=None, validate=validate.Length(min=1, max=128))
    priority = fields.String(load_default=None, validate=validate.OneOf(PRIORITIES))
    amount = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=366))
    unit = fields.String(required=True, validate=validate.OneOf(UNITS))


class CalendarUpdate(Schema):
    weekend = fields.List(fields.Integer(validate=validate.Range(min=0, max=6)),
                          load_default=None)
    day_start = fields.String(load_default=None, validate=validate.Regexp(
        r"^\d{2}:\d{2}$", error="HH:MM, e.g. 10:00"))
    day_end = fields.String(load_default=None, validate=validate.Regexp(
        r"^\d{2}:\d{2}$", error="HH:MM, e.g. 18:00"))
    timezone = fields.String(load_default=None, validate=validate.Length(min=1, max=64))
    office = fields.String(load_default=None, validate=validate.Length(min=1, max=32))


class CalendarQuery(Schema):
    office = fields.String(load_default=None, validate=validate.Length(min=1, max=32))


@blp.route("/admin/holidays")
def list_holidays() -> ResponseReturnValue:
    """Holidays of the working calendar (admin)."""
    return app_service().holidays(current_user())


@blp.route("/admin/holidays", methods=["POST"])
@blp.arguments(HolidayCreate)
def add_holiday(body: dict) -> ResponseReturnValue:
    """Add a holiday: `{"day": "2026-01-26", "name": "Republic Day"}`, or with `"office":
    "CODE"` a holiday of that office and the offices below it (admin)."""
    return app_service().add_holiday(current_user(), body["day"], body["name"],
                                     body.get("office")), 201


@blp.route("/admin/holidays/<int:holiday_id>", methods=["DELETE"])
def delete_holiday(holiday_id: int) -> ResponseReturnValue:
    """Remove a holiday (admin)."""
    app_service().delete_holiday(current_user(), holiday_id)
    return "", 204


@blp.route("/admin/calendar")
@blp.arguments(CalendarQuery, location="query")
def get_calendar(query: dict) -> ResponseReturnValue:
    """Weekly off days (0 = Monday … 6 = Sunday), office hours and time zone of the
    installation, or with `?office=CODE` the calendar that office works by (admin)."""
    return app_service().work_calendar(current_user(), query.get("office"))


@blp.route("/admin/calendar", methods=["PUT"])
@blp.arguments(CalendarUpdate)
def set_calendar(body: dict) -> ResponseReturnValue:
    """Change the weekly off days, office hours or time zone of the installation, or with
    `"office": "CODE"` give that office its own calendar (admin)."""
    return app_service().set_work_calendar(current_user(), body, body.get("office"))


@blp.route("/admin/sla-rules")
def list_sla_rules() -> ResponseReturnValue:
    """SLA rules (admin)."""
    return app_service().sla_rules(current_user())


@blp.route("/admin/sla-rules", methods=["POST"])
@blp.arguments(SlaRuleCreate)
def add_sla_rule(body: dict) -> ResponseReturnValue:
    """Add a rule: department code, BPMN task id and priority (each optional = any),
    amount and unit (working_days or working_hours). The most specific rule wins (admin)."""
    return app_service().add_sla_rule(current_user(), body), 201


@blp.route("/admin/sla-rules/<int:rule_id>", methods=["DELETE"])
def delete_sla_rule(rule_id: int) -> ResponseReturnValue:
    """Remove a rule (admin)."""
    app_service().delete_sla_rule(current_user(), rule_id)
    return "", 204


@blp.route("/reports/pendency")
def pendency() -> ResponseReturnValue:
    """Per post and officer: items held, oldest, average days held, overdue; and the
    latest actions taken after the limit with their reasons. Officers see their own
    department; auditors and admins everything."""
    return app_service().pendency(current_user())
