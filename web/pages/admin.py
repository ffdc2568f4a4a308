"""Administration screens: the organisation (departments, offices, sections, posts),
users (create, deactivate, reset a password, unlock, transfer, additional charge), the
working calendar with holidays and time-limit rules, subject heads and the audit log.
Every form posts to one handler that calls one engine command; the engine authorizes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import login_required

from engine.errors import InvalidInput, SanchikaError
from engine.sla.policy import PRIORITIES, UNITS
from web.pages.common import page_blueprint, service
from web.ui import me

bp = page_blueprint("admin")

ADMIN_ROLES = ("admin", "auditor")


def _require_admin_page() -> None:
    if me().role not in ADMIN_ROLES:
        abort(403)


@bp.get("/admin")
@login_required
def organisation() -> ResponseReturnValue:
    _require_admin_page()
    return render_template("admin_org.html", o=service().organisation(me()))


@bp.get("/admin/users")
@login_required
def users() -> ResponseReturnValue:
    _require_admin_page()
    svc = service()
    return render_template("admin_users.html", users=svc.users_list(me()),
                           o=svc.organisation(me()))


@bp.get("/admin/calendar")
@login_required
def calendar() -> ResponseReturnValue:
    _require_admin_page()
    svc, user = service(), me()
    if user.role != "admin":
        abort(403)
    # ?office=CODE: that office's calendar and holidays; none: the installation's
    office = request.args.get("office") or None
    cal = svc.work_calendar(user, office)
    holidays = [h for h in svc.holidays(user) if h["office"] == office]
    back = url_for("admin.calendar", office=office) if office else url_for("admin.calendar")
    return render_template("admin_calendar.html", holidays=holidays, cal=cal, office=office,
                           back=back, rules=svc.sla_rules(user),
                           o=svc.organisation(user), priorities=PRIORITIES, units=UNITS)


@bp.get("/admin/heads")
@login_required
def heads() -> ResponseReturnValue:
    _require_admin_page()
    svc = service()
    return render_template("admin_heads.html", heads=svc.subject_heads(me()),
                           o=svc.organisation(me()))


@bp.get("/admin/audit")
@login_required
def audit() -> ResponseReturnValue:
    _require_admin_page()
    return render_template("admin_audit.html", rows=service().audit_log(me(), limit=300))


# ------------------------------------------------------------------ form posts


def _f(name: str, required: bool = False) -> str | None:
    value = (request.form.get(name) or "").strip()
    if required and not value:
        raise InvalidInput(f"{name}: required")
    return value or None


def _int(name: str) -> int:
    value = _f(name, True) or ""
    if not value.isdigit():
        raise InvalidInput(f"{name}: a whole number")
    return int(value)


def _day(name: str) -> date:
    try:
        return date.fromisoformat(_f(name, True) or "")
    except ValueError:
        raise InvalidInput(f"{name}: a date as YYYY-MM-DD") from None


def _fields(*names: str, required: tuple[str, ...] = ()) -> dict[str, Any]:
    return {n: _f(n, n in required) for n in names}


def _section_ref() -> dict[str, str]:
    """The post form names its section as DEPT/SECTION."""
    dept, _sep, section = (_f("section", True) or "").partition("/")
    if not section:
        raise InvalidInput("section: choose a section")
    return {"department": dept, "section": section}


def _reset(svc: Any, user: Any) -> str:
    out = svc.issue_reset_code(user, _f("username", True))
    return _("One-time code for %(user)s: %(code)s (valid 24 hours; shown only now).",
             user=out["username"], code=out["code"])


# op -> (what it does, message on success); each returns an optional message override
OPS: dict[str, Callable[[Any, Any], Any]] = {
    "department_create": lambda svc, u: svc.create_department(
        u, _fields("code", "name", required=("code", "name"))),
    "department_retire": lambda svc, u: svc.retire_department(u, _f("code", True)),
    "office_create": lambda svc, u: svc.create_office(
        u, _fields("code", "name", "kind", "department", "parent",
                   required=("code", "name", "kind", "department"))),
    "office_retire": lambda svc, u: svc.retire_office(u, _f("code", True)),
    "section_create": lambda svc, u: svc.create_section(
        u, _fields("department", "code", "name", "office", required=("department", "code"))),
    "post_create": lambda svc, u: svc.create_post(u, {
        **_fields("code", "title", "superior", "monitors",
                  required=("code", "title")),
        **_section_ref(),
        "rank": _int("rank"), "can_approve": request.form.get("can_approve") == "1"}),
    "user_create": lambda svc, u: svc.create_user(
        u, _fields("username", "full_name", "password", "role", "post", "email", "phone",
                   required=("username", "full_name", "password"))),
    "user_deactivate": lambda svc, u: svc.deactivate_user(u, _f("username", True)),
    "user_reactivate": lambda svc, u: svc.reactivate_user(u, _f("username", True)),
    "user_reset": _reset,
    "user_unlock": lambda svc, u: svc.unlock_sign_in(u, _f("username", True)),
    "transfer": lambda svc, u: svc.transfer(u, _f("username", True), _f("post")),
    "charge_add": lambda svc, u: svc.add_charge(u, _f("username", True), _f("post", True),
                                                _f("from"), _f("until", True)),
    "charge_end": lambda svc, u: svc.end_charges(u, _f("username", True), _f("post")),
    "holiday_add": lambda svc, u: svc.add_holiday(u, _day("day"), _f("name", True) or "",
                                                  _f("office")),
    "holiday_delete": lambda svc, u: svc.delete_holiday(u, _int("id")),
    "calendar_set": lambda svc, u: svc.set_work_calendar(u, {
        "weekend": [int(d) for d in request.form.getlist("weekend") if d.isdigit()],
        **_fields("day_start", "day_end", "timezone")}, _f("office")),
    "calendar_clear": lambda svc, u: svc.clear_work_calendar(u, _f("office", True) or ""),
    "rule_add": lambda svc, u: svc.add_sla_rule(u, {
        **_fields("department", "task_id", "priority", "unit", required=("unit",)),
        "amount": _int("amount")}),
    "rule_delete": lambda svc, u: svc.delete_sla_rule(u, _int("id")),
    "head_add": lambda svc, u: svc.add_subject_head(u, _f("department", True),
                                                    _f("code", True), _f("title", True)),
    "head_retire": lambda svc, u: svc.retire_subject_head(u, _int("id")),
}
# Ones that cannot be undone by a click ask first (the dialog, or a page without JS).
CONFIRMED = ("department_retire", "office_retire", "user_deactivate", "user_reset",
             "holiday_delete", "rule_delete", "head_retire")


@bp.post("/admin/do/<op>")
@login_required
def do(op: str) -> ResponseReturnValue:
    if op not in OPS:
        abort(404)
    back = request.form.get("next") or url_for("admin.organisation")
    if not back.startswith("/") or back.startswith("//"):
        back = url_for("admin.organisation")
    if op in CONFIRMED and request.form.get("confirmed") != "1":
        return render_template("confirm.html", form=request.form,
                               action_url=url_for("admin.do", op=op),
                               question=request.form.get("question") or _("Are you sure?"))
    result = OPS[op](service(), me())
    flash(result if isinstance(result, str) else _("Done."), "ok")
    return redirect(back)


# ------------------------------------------------------------------ organisation import


@bp.route("/admin/import", methods=["GET", "POST"])
@login_required
def import_csv() -> ResponseReturnValue:
    """Upload the organisation CSV (docs/organisation-import.md): every problem is named
    by row and column and nothing is imported, or all rows are."""
    _require_admin_page()
    problems, result = [], None
    if request.method == "POST":
        upload = request.files.get("csv")
        text = upload.read().decode("utf-8-sig", errors="replace") if upload else ""
        try:
            result = service().import_organisation_csv(me(), text)
        except InvalidInput as exc:
            problems = exc.details or [{"row": "", "column": "", "message": exc.message}]
    return render_template("admin_import.html", problems=problems, result=result)


# ------------------------------------------------------------------ one-time reset code


@bp.route("/reset-password", methods=["GET", "POST"])
def reset_password() -> ResponseReturnValue:
    """Set a new password with the one-time code the administrator gave (no sign-in)."""
    if request.method == "POST":
        password = request.form.get("password", "")
        if password != request.form.get("password2", ""):
            flash(_("The two passwords differ."), "error")
        else:
            try:
                service().redeem_reset_code(request.form.get("username", ""),
                                       request.form.get("code", ""), password)
            except SanchikaError as exc:
                flash(exc.message, "error")
            else:
                flash(_("Your new password is set. Sign in with it."), "ok")
                return redirect(url_for("auth.login"))
    return render_template("reset_password.html")
