"""REST API /api/v1 (docs/contract.md, docs/api.md). Views only translate HTTP to service
calls."""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

from flask import current_app, request, send_file
from flask.typing import ResponseReturnValue
from flask_smorest import Blueprint

from engine.app import Sanchika
from engine.errors import InvalidInput
from web.api import schemas
from web.api.auth import bearer, current_user, issue_token
from web.api.receipt_request import read_receipt_request

blp = Blueprint("api", __name__, url_prefix="/api/v1", description="Sanchika e-Office API")


def app_service() -> Sanchika:
    return current_app.extensions["sanchika"]


@blp.route("/auth/token", methods=["POST"])
@blp.arguments(schemas.TokenRequest)
def token(body: dict) -> ResponseReturnValue:
    """Exchange username and password for a bearer token. Repeated failures lock the
    username (and the address) for a while, as on the sign-in page (429)."""
    user, _ = app_service().sign_in(body["username"], body["password"], request.remote_addr,
                                    request.headers.get("User-Agent"))
    return {**issue_token(user), "username": user.username, "role": user.role}


@blp.route("/auth/unlock-code", methods=["POST"])
@blp.doc(security=[])
@blp.arguments(schemas.UnlockCodeRequest)
def unlock_code(body: dict) -> ResponseReturnValue:
    """No token needed. When the username is locked from the caller's address (429 from
    POST /auth/token), send a one-time unlock code to the user's own e-mail/SMS. The
    answer is the same whether or not a code was sent; the code is never in it."""
    return app_service().request_unlock_code(body["username"], request.remote_addr), 202


@blp.route("/auth/unlock", methods=["POST"])
@blp.doc(security=[])
@blp.arguments(schemas.UnlockRequest)
def unlock_with_code(body: dict) -> ResponseReturnValue:
    """No token needed. Lift the lock of (username, the caller's address) with the code
    sent to the user; 401 when the code is wrong, expired or used (five wrong tries spend
    it). Other addresses and an address-wide lock are not affected."""
    return app_service().redeem_unlock_code(body["username"], body["code"],
                                            request.remote_addr)


@blp.route("/auth/token", methods=["DELETE"])
@blp.response(204)
def revoke_token() -> None:
    """Revoke the token this request carries (sign off from the API)."""
    current_user()
    app_service().revoke_api_token(bearer() or "")


@blp.route("/auth/sign-off-everywhere", methods=["POST"])
@blp.response(204)
def sign_off_everywhere() -> None:
    """End every web session and API token of mine, this one included."""
    app_service().sign_off_everywhere(current_user())


@blp.route("/me/password", methods=["POST"])
@blp.arguments(schemas.PasswordChange)
@blp.response(204)
def change_password(body: dict[str, Any]) -> None:
    """Change my password; every session and token of mine ends (sign in again)."""
    app_service().change_password(current_user(), body["old_password"], body["new_password"])


@blp.route("/me")
def me() -> ResponseReturnValue:
    """Who the token belongs to, and the posts they act for now (own post first, then
    additional charges in force)."""
    user = current_user()
    return {"username": user.username, "full_name": user.full_name, "role": user.role,
            "post_id": user.post_id, "posts": app_service().acting_posts(user)}


@blp.route("/receipts", methods=["POST"])
@blp.doc(requestBody={"required": True, "content": {
    "application/json": {"schema": schemas.ReceiptCreate},
    "multipart/form-data": {"schema": {"type": "object", "properties": {
        "pdf": {"type": "string", "format": "binary"}}}}}})
@blp.response(201)
def create_receipt() -> ResponseReturnValue:
    """Diarise an incoming letter (dak): JSON, or multipart form fields with the scanned
    letter in the field `pdf`."""
    raw = request.form if request.mimetype == "multipart/form-data" \
        else request.get_json(silent=True)
    source_id = raw.get("from_receipt_id") if isinstance(raw, Mapping) else None
    if source_id not in (None, ""):  # pre-filled from another receipt: fields optional
        body, pdf, name = read_receipt_request(schemas.ReceiptFrom())
        return app_service().diarise_from(current_user(), int(body.pop("from_receipt_id")),
                                          body, pdf, name), 201
    body, pdf, name = read_receipt_request(schemas.ReceiptCreate())
    return app_service().diarise(current_user(), body, pdf, name), 201


@blp.route("/receipts/<int:receipt_id>/pdf")
def receipt_pdf(receipt_id: int) -> ResponseReturnValue:
    """The scanned letter of a receipt (only to those who may read the receipt)."""
    data, name = app_service().receipt_pdf(current_user(), receipt_id)
    return send_file(io.BytesIO(data), mimetype="application/pdf", download_name=name,
                     max_age=0)


@blp.route("/receipts/<int:receipt_id>")
def get_receipt(receipt_id: int) -> ResponseReturnValue:
    """A receipt with its holder, movements and history."""
    return app_service().receipt(current_user(), receipt_id)


@blp.route("/files", methods=["POST"])
@blp.arguments(schemas.FileCreate)
def create_file(body: dict) -> ResponseReturnValue:
    """Open a file; with receipt_id the receipt is put up in it."""
    return app_service().open_file(current_user(), body["subject"], body["head"],
                                   body["priority"], body.get("receipt_id"), body["kind"]), 201


@blp.route("/files")
@blp.arguments(schemas.FileQuery, location="query")
def find_files(query: dict) -> ResponseReturnValue:
    """Find files by number, subject text, or holder (username or post code)."""
    return app_service().find_files(current_user(), **query)


@blp.route("/files/<int:file_id>")
def get_file(file_id: int) -> ResponseReturnValue:
    """A file: notes, correspondence, drafts, status, holder, locked. Opening it is
    recorded (the first opening by the recipient ends the sender's chance to pull back)."""
    return app_service().opened_file(current_user(), file_id)


@blp.route("/files/<int:file_id>/notes", methods=["POST"])
@blp.arguments(schemas.NoteCreate)
def add_note(body: dict, file_id: int) -> ResponseReturnValue:
    """The holder adds a green note paragraph."""
    return app_service().add_note(current_user(), file_id, body["text"],
                                  body.get("ref_correspondence_id")), 201


@blp.route("/files/<int:file_id>/track")
def track(file_id: int) -> ResponseReturnValue:
    """Where the file is, with whom, since when, and every movement."""
    return app_service().track(current_user(), file_id)


@blp.route("/files/<int:file_id>/history")
@blp.arguments(schemas.PageQuery, location="query")
def file_history(query: dict, file_id: int) -> ResponseReturnValue:
    """The events of the file's processes, in order, with their chain hashes; one page
    (`page`, `limit`) at a time."""
    return app_service().file_history(current_user(), file_id, **_page(query))


def _page(query: dict) -> dict[str, int]:
    return {"limit": query["limit"], "offset": (query["page"] - 1) * query["limit"]}


@blp.route("/tasks")
@blp.arguments(schemas.PageQuery, location="query")
def inbox(query: dict) -> ResponseReturnValue:
    """My inbox: the open tasks of my posts, soonest due first; one page (`page`,
    `limit`) at a time."""
    return app_service().inbox(current_user(), **_page(query))


@blp.route("/tasks/<int:task_id>", methods=["POST"])
@blp.arguments(schemas.TaskAction)
def act(body: dict, task_id: int) -> ResponseReturnValue:
    """Act on a task: forward, return, submit, approve, reject, put_in_file, close."""
    clean = {k: v for k, v in body.items() if v is not None}
    if clean.get("passkey"):
        clean["passkey"] = {**clean["passkey"], "origin": request.host_url.rstrip("/")}
    return app_service().act(current_user(), task_id, clean)


@blp.route("/notifications")
@blp.arguments(schemas.PageQuery, location="query")
def notifications(query: dict) -> ResponseReturnValue:
    """My in-app notifications, newest first; one page (`page`, `limit`) at a time."""
    return app_service().notifications(current_user(), **_page(query))


@blp.route("/process-definitions")
def list_definitions() -> ResponseReturnValue:
    """Deployed process versions."""
    current_user()
    return app_service().definitions_list()


@blp.route("/process-definitions", methods=["POST"])
@blp.doc(requestBody={"required": True, "content": {
    "application/xml": {"schema": {"type": "string", "description": "BPMN 2.0 XML"}},
    "multipart/form-data": {"schema": {"type": "object", "required": ["bpmn"],
                                       "properties": {"bpmn": {"type": "string",
                                                               "format": "binary"}}}}}})
def deploy() -> ResponseReturnValue:
    """Deploy a BPMN document (body: the XML, or multipart field 'bpmn')."""
    user = current_user()
    upload = request.files.get("bpmn")
    xml = upload.read() if upload else request.get_data(cache=False)
    if not xml:
        raise InvalidInput("body: send the BPMN XML as the request body")
    definition, created = app_service().deploy(xml, user)
    return {"process_id": definition.process_id, "version": definition.version,
            "content_hash": definition.content_hash, "created": created}, 201 if created else 200
