"""Audit API: replay, export, public keys, checkpoints, passkeys (/api/v1)."""

from __future__ import annotations

from flask import Response, request
from flask.typing import ResponseReturnValue
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from web.api.auth import current_user
from web.api.core import app_service

blp = Blueprint("audit", __name__, url_prefix="/api/v1",
                description="Audit: replay, export, signatures, checkpoints")


class ReplayQuery(Schema):
    at = fields.Integer(metadata={"description": "event number (default: the newest)"})


class FileReplayQuery(ReplayQuery):
    instance = fields.Integer(metadata={
        "description": "which of the file's processes (a reopening is another process "
                       "instance; the file page's history lists them); default: its current "
                       "one"})


@blp.route("/files/<int:file_id>/replay")
@blp.arguments(FileReplayQuery, location="query")
def replay_file(query: dict, file_id: int) -> ResponseReturnValue:
    """The file as of event `at` (default: the newest) of one of its processes: holder,
    notes, correspondence, open tasks, the diagram's active steps and the steps done,
    the process data at that moment, movements, lock and signatures."""
    return app_service().replay_file(current_user(), file_id, query.get("at"),
                                     query.get("instance"))


@blp.route("/receipts/<int:receipt_id>/replay")
@blp.arguments(ReplayQuery, location="query")
def replay_receipt(query: dict, receipt_id: int) -> ResponseReturnValue:
    """The receipt as of event `at` (default: the newest)."""
    return app_service().replay_receipt(current_user(), receipt_id, query.get("at"))


@blp.route("/files/<int:file_id>/export")
def export_file(file_id: int) -> ResponseReturnValue:
    """A self-contained, verifiable zip of the file (check it: `sanchika verify --export`)."""
    file_no, data = app_service().export_file(current_user(), file_id)
    name = file_no.replace("/", "-") + ".zip"
    return Response(data, mimetype="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@blp.route("/users/<username>/public-key")
def public_key(username: str) -> ResponseReturnValue:
    """The user's Ed25519 public key (PEM) that approval signatures verify against."""
    key = app_service().public_key(current_user(), username)
    return Response(key["pem"], mimetype="application/x-pem-file",
                    headers={"X-Key-Id": key["key_id"]})


@blp.route("/checkpoints", methods=["POST"])
def checkpoint() -> ResponseReturnValue:
    """Record a checkpoint over every history chain now (auditor or admin)."""
    return app_service().checkpoint(current_user()), 201


# ---------------------------------------------------------------- passkeys


def _origin() -> str:
    return request.host_url.rstrip("/")


@blp.route("/passkeys")
def my_passkeys() -> ResponseReturnValue:
    """My passkeys (WebAuthn credentials that sign my approvals), revoked ones included.
    Registering one needs a browser or a security key: My settings."""
    return app_service().my_passkeys(current_user())


@blp.route("/passkeys/<int:passkey_id>/revoke", methods=["POST"])
def revoke_passkey(passkey_id: int) -> ResponseReturnValue:
    """Revoke one of my passkeys: approvals it signs after now do not verify."""
    return app_service().revoke_passkey(current_user(), passkey_id)


@blp.route("/tasks/<int:task_id>/passkey-challenge")
def task_passkey_challenge(task_id: int) -> ResponseReturnValue:
    """The WebAuthn request options for approving the file of this task with a passkey:
    the challenge commits to the file, the action, its content hash, me and a nonce
    (good for five minutes, once). Send the assertion as `passkey` with the approval."""
    return app_service().task_approval_options(current_user(), task_id, _origin())


@blp.route("/drafts/<int:draft_id>/passkey-challenge")
def draft_passkey_challenge(draft_id: int) -> ResponseReturnValue:
    """The WebAuthn request options for approving this draft with a passkey."""
    return app_service().draft_approval_options(current_user(), draft_id, _origin())
