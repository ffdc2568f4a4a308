"""Administration API, part two (/api/v1/admin): departments and offices, the
organisation overview, the user list, reactivating users, one-time password-reset codes.
Authorization is in the engine (engine/commands/admin.py)."""

from __future__ import annotations

from flask.typing import ResponseReturnValue
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from engine.store.admin_models import OFFICE_KINDS
from web.api.auth import current_user
from web.api.core import app_service

blp = Blueprint("admin_api", __name__, url_prefix="/api/v1/admin",
                description="Departments, offices, user accounts")


class DepartmentCreate(Schema):
    code = fields.String(required=True, validate=validate.Length(min=1, max=16))
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    secretariat = fields.Boolean(load_default=True, metadata={
        "description": "also create its secretariat office <CODE>-SECTT"})


class OfficeCreate(Schema):
    code = fields.String(required=True, validate=validate.Length(min=1, max=32))
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    kind = fields.String(required=True, validate=validate.OneOf(OFFICE_KINDS))
    department = fields.String(required=True)
    parent = fields.String(load_default=None, metadata={"description": "the parent office's code"})


class ResetRedeem(Schema):
    username = fields.String(required=True)
    code = fields.String(required=True)
    password = fields.String(required=True, validate=validate.Length(min=1, max=200))


@blp.route("/organisation")
def organisation() -> ResponseReturnValue:
    """Departments, offices (a tree), sections and posts with their holders."""
    return app_service().organisation(current_user())


@blp.route("/departments", methods=["POST"])
@blp.arguments(DepartmentCreate)
@blp.response(201)
def create_department(body: dict) -> ResponseReturnValue:
    """Create a department (and its secretariat office)."""
    return app_service().create_department(current_user(), body), 201


@blp.route("/departments/<code>/retire", methods=["POST"])
def retire_department(code: str) -> ResponseReturnValue:
    """Retire a department: refused while its posts hold people or open items."""
    return app_service().retire_department(current_user(), code)


@blp.route("/offices", methods=["POST"])
@blp.arguments(OfficeCreate)
@blp.response(201)
def create_office(body: dict) -> ResponseReturnValue:
    """Create an office under a parent office (a district under a division...)."""
    return app_service().create_office(current_user(), body), 201


@blp.route("/offices/<code>/retire", methods=["POST"])
def retire_office(code: str) -> ResponseReturnValue:
    """Retire an office: refused while offices under it work or its posts are busy."""
    return app_service().retire_office(current_user(), code)


@blp.route("/users")
def users() -> ResponseReturnValue:
    """Every user, with their post, whether active and whether locked."""
    return app_service().users_list(current_user())


@blp.route("/users/<username>/reactivate", methods=["POST"])
def reactivate(username: str) -> ResponseReturnValue:
    return app_service().reactivate_user(current_user(), username)


@blp.route("/users/<username>/reset-code", methods=["POST"])
def reset_code(username: str) -> ResponseReturnValue:
    """A one-time code (valid a day, shown once) with which the user sets a new password
    at the sign-in page (POST /admin/reset-code). Deactivating, a direct reset and
    unlocking: /admin/users/<username>/deactivate, /reset-password, /unlock."""
    return app_service().issue_reset_code(current_user(), username)


@blp.route("/reset-code", methods=["POST"])
@blp.arguments(ResetRedeem)
@blp.response(204)
def redeem(body: dict) -> ResponseReturnValue:
    """Set a new password with a one-time code (no sign-in needed)."""
    app_service().redeem_reset_code(body["username"], body["code"], body["password"])
    return "", 204
