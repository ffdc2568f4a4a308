"""Administration API: sections, posts, users, transfers, additional charges (/api/v1/admin).
Administrator only (auditors may read people and the audit log)."""

from __future__ import annotations

from typing import Any

from flask import request
from flask.typing import ResponseReturnValue
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from engine.domain.offices import MONITOR_SCOPES
from engine.domain.org import ROLES
from web.api.auth import current_user
from web.api.core import app_service
from web.api.schemas import PasswordReset

blp = Blueprint("people", __name__, url_prefix="/api/v1/admin",
                description="Sections, posts, users, transfers, additional charges")


class SectionCreate(Schema):
    department = fields.String(required=True, validate=validate.Length(min=1, max=16))
    department_name = fields.String(load_default=None, validate=validate.Length(max=200))
    code = fields.String(required=True, validate=validate.Length(min=1, max=16))
    name = fields.String(load_default=None, validate=validate.Length(max=200))
    office = fields.String(load_default=None, metadata={
        "description": "the office's code (default: the department's secretariat)"})


class PostCreate(Schema):
    code = fields.String(required=True, validate=validate.Length(min=1, max=64))
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    department = fields.String(required=True)
    section = fields.String(required=True)
    rank = fields.Integer(load_default=1, validate=validate.Range(min=1, max=9))
    can_approve = fields.Boolean(load_default=False)
    superior = fields.String(load_default=None)
    monitors = fields.String(load_default=None, validate=validate.OneOf(MONITOR_SCOPES),
                             metadata={"description": "a monitoring post reads everything "
                                                      "in its department, section, office "
                                                      "(and those under it) or the state"})


class UserCreate(Schema):
    username = fields.String(required=True, validate=validate.Regexp(
        r"^[a-z0-9._-]{2,64}$", error="2-64 lower-case letters, digits, '.', '_' or '-'"))
    full_name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    password = fields.String(required=True, validate=validate.Length(min=8, max=200))
    role = fields.String(load_default="officer", validate=validate.OneOf(ROLES))
    post = fields.String(load_default=None)
    email = fields.Email(load_default=None)
    phone = fields.String(load_default=None, validate=validate.Length(max=32))


class Transfer(Schema):
    post = fields.String(required=True, allow_none=True, metadata={
        "description": "the new post's code; null relieves the user of their post"})


class ChargeCreate(Schema):
    post = fields.String(required=True)
    from_ = fields.Date(data_key="from", load_default=None,
                        metadata={"description": "first day (default: today, IST)"})
    until = fields.Date(required=True, metadata={"description": "last day, included"})


@blp.route("/sections", methods=["POST"])
@blp.arguments(SectionCreate)
@blp.response(201)
def create_section(body: dict) -> ResponseReturnValue:
    """Create a section (and its department if new)."""
    return app_service().create_section(current_user(), body), 201


@blp.route("/posts", methods=["POST"])
@blp.arguments(PostCreate)
@blp.response(201)
def create_post(body: dict) -> ResponseReturnValue:
    """Create a post in a section."""
    return app_service().create_post(current_user(), body), 201


@blp.route("/users", methods=["POST"])
@blp.arguments(UserCreate)
@blp.response(201)
def create_user(body: dict) -> ResponseReturnValue:
    """Create a user, optionally on a vacant post."""
    return app_service().create_user(current_user(), body), 201


@blp.route("/users/<username>")
def get_user(username: str) -> ResponseReturnValue:
    """A user's post, the posts they act for now and their additional charges."""
    return app_service().person(current_user(), username)


@blp.route("/users/<username>/transfer", methods=["POST"])
@blp.arguments(Transfer)
def transfer(body: dict, username: str) -> ResponseReturnValue:
    """Transfer a user to another post. The old post's pending items stay with the post
    for its next holder; the user's inbox becomes the new post's."""
    return app_service().transfer(current_user(), username, body["post"])


@blp.route("/users/<username>/additional-charge", methods=["POST"])
@blp.arguments(ChargeCreate)
@blp.response(201)
def add_charge(body: dict, username: str) -> ResponseReturnValue:
    """The user also acts for a second post from `from` to `until` (office days,
    inclusive): its inbox joins theirs and they may act for it."""
    return app_service().add_charge(current_user(), username, body["post"], body["from_"],
                                    body["until"]), 201


@blp.route("/users/<username>/additional-charge", methods=["DELETE"])
def end_charge(username: str) -> ResponseReturnValue:
    """End the user's additional charges (only for `?post=CODE` if given)."""
    return app_service().end_charges(current_user(), username, request.args.get("post"))


@blp.route("/users/<username>/deactivate", methods=["POST"])
def deactivate(username: str) -> ResponseReturnValue:
    """Deactivate an account: its web sessions and API tokens end at once."""
    return app_service().deactivate_user(current_user(), username)


@blp.route("/users/<username>/reset-password", methods=["POST"])
@blp.arguments(PasswordReset)
@blp.response(204)
def reset_password(body: dict[str, Any], username: str) -> None:
    """Set a new password for a user; their web sessions and API tokens end."""
    app_service().reset_password(current_user(), username, body["password"])


@blp.route("/users/<username>/unlock", methods=["POST"])
def unlock(username: str) -> ResponseReturnValue:
    """Lift the sign-in locks of a user, from every address."""
    return app_service().unlock_sign_in(current_user(), username)


@blp.route("/audit")
def audit_log() -> ResponseReturnValue:
    """Administrative acts, newest first."""
    return app_service().audit_log(current_user())
