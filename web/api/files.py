"""REST API for working with files in depth: yellow notes, pull back and sent items,
subject heads, priority, drafts and dispatch, links, part files, park, reopen, digitising
and documents. Views only translate HTTP to service calls."""

from __future__ import annotations

import io

from flask import request, send_file
from flask.typing import ResponseReturnValue
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from engine.domain.dispatch import MODES as DISPATCH_MODES
from engine.errors import InvalidInput
from engine.sla.policy import PRIORITIES
from web.api import schemas
from web.api.auth import current_user
from web.api.core import app_service

blp = Blueprint("files_depth", __name__, url_prefix="/api/v1",
                description="Files in depth: notes, drafts, dispatch, pull back, digitising")


class YellowNoteCreate(Schema):
    text = fields.String(required=True, validate=validate.Length(min=1, max=20000))
    ref_correspondence_id = fields.Integer(load_default=None)


class YellowNoteEdit(Schema):
    text = fields.String(required=True, validate=validate.Length(min=1, max=20000))


# ---------------------------------------------------------------- yellow notes


@blp.route("/files/<int:file_id>/yellow-notes", methods=["POST"])
@blp.arguments(YellowNoteCreate)
def add_yellow_note(body: dict, file_id: int) -> ResponseReturnValue:
    """The holder writes a private draft note (yellow note); only its author sees it."""
    return app_service().add_draft_note(current_user(), file_id, body["text"],
                                        body.get("ref_correspondence_id")), 201


@blp.route("/files/<int:file_id>/yellow-notes")
def list_yellow_notes(file_id: int) -> ResponseReturnValue:
    """My own yellow notes in the file."""
    return app_service().draft_notes(current_user(), file_id)


@blp.route("/yellow-notes/<int:note_id>", methods=["PATCH", "PUT"])
@blp.arguments(YellowNoteEdit)
def edit_yellow_note(body: dict, note_id: int) -> ResponseReturnValue:
    """Edit my yellow note."""
    return app_service().edit_draft_note(current_user(), note_id, body["text"])


@blp.route("/yellow-notes/<int:note_id>", methods=["DELETE"])
@blp.response(204)
def delete_yellow_note(note_id: int) -> None:
    """Delete my yellow note."""
    app_service().delete_draft_note(current_user(), note_id)


@blp.route("/yellow-notes/<int:note_id>/confirm", methods=["POST"])
def confirm_yellow_note(note_id: int) -> ResponseReturnValue:
    """Confirm my yellow note into the next green note paragraph."""
    return app_service().confirm_note(current_user(), note_id), 201


# ---------------------------------------------------------------- pull back, sent items


@blp.route("/files/<int:file_id>/pullback", methods=["POST"])
def pull_back(file_id: int) -> ResponseReturnValue:
    """The last sender recalls a file the recipient has not opened; both are notified."""
    return app_service().pullback(current_user(), file_id)


@blp.route("/sent")
def sent() -> ResponseReturnValue:
    """What my post sent, newest first, with `can_pull_back`."""
    return app_service().sent_items(current_user())


# ---------------------------------------------------------------- subject heads, priority


class SubjectHeadCreate(Schema):
    department = fields.String(required=True, validate=validate.Length(min=1, max=16))
    code = fields.String(required=True, validate=validate.Length(min=1, max=32))
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))


class SubjectHeadQuery(Schema):
    department = fields.String(load_default=None)


class PriorityChange(Schema):
    priority = fields.String(required=True, validate=validate.OneOf(PRIORITIES))


@blp.route("/admin/subject-heads")
@blp.arguments(SubjectHeadQuery, location="query")
def list_subject_heads(query: dict) -> ResponseReturnValue:
    """Subject heads per department (retired ones included, marked)."""
    return app_service().subject_heads(current_user(), query.get("department"))


@blp.route("/admin/subject-heads", methods=["POST"])
@blp.arguments(SubjectHeadCreate)
def add_subject_head(body: dict) -> ResponseReturnValue:
    """An administrator adds a subject head to a department."""
    return app_service().add_subject_head(current_user(), body["department"], body["code"],
                                          body["title"]), 201


@blp.route("/admin/subject-heads/<int:head_id>/retire", methods=["POST"])
def retire_subject_head(head_id: int) -> ResponseReturnValue:
    """An administrator retires a head: old files keep it, new files cannot use it."""
    return app_service().retire_subject_head(current_user(), head_id)


@blp.route("/files/<int:file_id>/priority", methods=["POST"])
@blp.arguments(PriorityChange)
def change_priority(body: dict, file_id: int) -> ResponseReturnValue:
    """A Section Officer or above changes the file's priority grading."""
    return app_service().change_priority(current_user(), file_id, body["priority"])


# ---------------------------------------------------------------- drafts and dispatch


class DraftCreate(Schema):
    subject = fields.String(required=True, validate=validate.Length(min=1, max=500))
    text = fields.String(required=True, validate=validate.Length(min=1, max=50000))
    addressee = fields.String(load_default=None, validate=validate.Length(max=300))


class DraftEdit(Schema):
    text = fields.String(required=True, validate=validate.Length(min=1, max=50000))


class DiffQuery(Schema):
    from_ = fields.Integer(data_key="from", load_default=None)
    to = fields.Integer(load_default=None)


class DispatchCreate(Schema):
    mode = fields.String(required=True, validate=validate.OneOf(DISPATCH_MODES))
    addressee = fields.String(load_default=None, validate=validate.Length(max=300))
    date = fields.String(load_default=None, metadata={"description": "YYYY-MM-DD, default today"})


class RegisterQuery(Schema):
    year = fields.Integer(load_default=None)


@blp.route("/files/<int:file_id>/drafts", methods=["POST"])
@blp.arguments(DraftCreate)
def create_draft(body: dict, file_id: int) -> ResponseReturnValue:
    """The holder drafts an outgoing letter (DFA), version 1."""
    return app_service().create_draft(current_user(), file_id, body["subject"], body["text"],
                                      body.get("addressee")), 201


@blp.route("/drafts/<int:draft_id>")
def get_draft(draft_id: int) -> ResponseReturnValue:
    """A draft with all its versions."""
    return app_service().draft(current_user(), draft_id)


@blp.route("/drafts/<int:draft_id>/versions", methods=["POST"])
@blp.arguments(DraftEdit)
def edit_draft(body: dict, draft_id: int) -> ResponseReturnValue:
    """Edit a draft: a new version."""
    return app_service().edit_draft(current_user(), draft_id, body["text"]), 201


@blp.route("/drafts/<int:draft_id>/diff")
@blp.arguments(DiffQuery, location="query")
def draft_diff(query: dict, draft_id: int) -> ResponseReturnValue:
    """Differences between two versions (?from=&to=, default the last two)."""
    return app_service().draft_diff(current_user(), draft_id, query.get("from_"),
                                    query.get("to"))


@blp.route("/drafts/<int:draft_id>/approve", methods=["POST"])
@blp.arguments(schemas.DraftApproval)
def approve_draft(body: dict, draft_id: int) -> ResponseReturnValue:
    """A post that can approve, holding the file, approves the draft; optionally signed
    with a passkey (`GET /drafts/{draft_id}/passkey-challenge`)."""
    passkey = body.get("passkey")
    if passkey:
        passkey = {**passkey, "origin": request.host_url.rstrip("/")}
    return app_service().approve_draft(current_user(), draft_id, passkey)


@blp.route("/drafts/<int:draft_id>/dispatch", methods=["POST"])
@blp.arguments(DispatchCreate)
def dispatch_draft(body: dict, draft_id: int) -> ResponseReturnValue:
    """Issue an approved draft: a dispatch register entry (number, date, mode, addressee)."""
    return app_service().dispatch_draft(current_user(), draft_id, body["mode"],
                                        body.get("addressee"), body.get("date")), 201


@blp.route("/dispatch-register")
@blp.arguments(RegisterQuery, location="query")
def dispatch_register(query: dict) -> ResponseReturnValue:
    """The dispatch register of my department, newest first."""
    return app_service().dispatch_register(current_user(), query.get("year"))


# ---------------------------------------------------------------- links, part files, park


class LinkCreate(Schema):
    other_file_id = fields.Integer(required=True)


class PartCreate(Schema):
    subject = fields.String(load_default=None, validate=validate.Length(max=500))


@blp.route("/files/<int:file_id>/links", methods=["POST"])
@blp.arguments(LinkCreate)
def link_files(body: dict, file_id: int) -> ResponseReturnValue:
    """The holder links a related file (listed on both files)."""
    return app_service().link_files(current_user(), file_id, body["other_file_id"]), 201


@blp.route("/files/<int:file_id>/parts", methods=["POST"])
@blp.arguments(PartCreate)
def open_part_file(body: dict, file_id: int) -> ResponseReturnValue:
    """Open a part file of a main file: number main + '/P<n>', its own process."""
    return app_service().open_part_file(current_user(), file_id, body.get("subject")), 201


@blp.route("/files/<int:file_id>/park", methods=["POST"])
def park_file(file_id: int) -> ResponseReturnValue:
    """The holder parks the file: it leaves the active inbox but stays with the post."""
    return app_service().park_file(current_user(), file_id)


@blp.route("/files/<int:file_id>/unpark", methods=["POST"])
def unpark_file(file_id: int) -> ResponseReturnValue:
    """The holder takes a parked file up again."""
    return app_service().unpark_file(current_user(), file_id)


@blp.route("/parked")
def parked() -> ResponseReturnValue:
    """My post's parked items."""
    return app_service().parked_items(current_user())


# ---------------------------------------------------------------- reopening


class ReopenRequest(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    to = fields.String(load_default=None,
                       metadata={"description": "approver (username or post code); default: "
                                 "the nearest post above that can approve"})


@blp.route("/files/<int:file_id>/reopen", methods=["POST"])
@blp.arguments(ReopenRequest)
def request_reopen(body: dict, file_id: int) -> ResponseReturnValue:
    """The creator asks to reopen a closed file; an approver decides in their inbox
    (approve/reject on the 'Reopen approval' task)."""
    return app_service().request_reopen(current_user(), file_id, body["reason"],
                                        body.get("to")), 201


# ---------------------------------------------------------------- digitising, documents


def _uploads(field: str) -> list[tuple[bytes, str | None]]:
    return [(f.read(), f.filename) for f in request.files.getlist(field)]


@blp.route("/files/digitise", methods=["POST"])
@blp.doc(requestBody={"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "properties": {
        "file_no": {"type": "string", "description": "the paper file's original number"},
        "file_id": {"type": "integer", "description": "or a physical file already here"},
        "subject": {"type": "string", "description": "for a paper file not registered yet"},
        "sender": {"type": "string", "description": "sender recorded on the scanned letters"},
        "note_sheet": {"type": "array", "items": {"type": "string", "format": "binary"}},
        "correspondence": {"type": "array", "items": {"type": "string", "format": "binary"}},
    }}}}})
@blp.response(201)
def digitise_file() -> ResponseReturnValue:
    """Turn a physical file into an e-file: scanned note sheets (field `note_sheet`, one or
    more PDFs) and correspondence (field `correspondence`); the number stays the same."""
    if request.mimetype != "multipart/form-data":
        raise InvalidInput("body: send a multipart form with the scanned PDFs")
    form = request.form
    file_id = form.get("file_id") or None
    if file_id is not None and not file_id.isdigit():
        raise InvalidInput("file_id: must be a number")
    return app_service().digitise(
        current_user(), file_id=int(file_id) if file_id else None,
        file_no=form.get("file_no"), subject=form.get("subject"),
        note_sheets=_uploads("note_sheet"), correspondence=_uploads("correspondence"),
        sender=form.get("sender")), 201


@blp.route("/documents/<string:sha256>")
def document(sha256: str) -> ResponseReturnValue:
    """A stored PDF, for those who may read a file or receipt it belongs to."""
    data, name = app_service().document(current_user(), sha256)
    return send_file(io.BytesIO(data), mimetype="application/pdf", download_name=name,
                     max_age=0)
