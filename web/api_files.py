"""REST API for working with files in depth: yellow notes, pull back and sent items,
subject heads, priority, drafts and dispatch, links, part files, park, reopen, digitising
and documents. Views only translate HTTP to service calls."""

from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from .api import app_service
from .auth import current_user

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
def add_yellow_note(body: dict, file_id: int):
    """The holder writes a private draft note (yellow note); only its author sees it."""
    return app_service().add_draft_note(current_user(), file_id, body["text"],
                                        body.get("ref_correspondence_id")), 201


@blp.route("/files/<int:file_id>/yellow-notes")
def list_yellow_notes(file_id: int):
    """My own yellow notes in the file."""
    return app_service().draft_notes(current_user(), file_id)


@blp.route("/yellow-notes/<int:note_id>", methods=["PATCH", "PUT"])
@blp.arguments(YellowNoteEdit)
def edit_yellow_note(body: dict, note_id: int):
    """Edit my yellow note."""
    return app_service().edit_draft_note(current_user(), note_id, body["text"])


@blp.route("/yellow-notes/<int:note_id>", methods=["DELETE"])
@blp.response(204)
def delete_yellow_note(note_id: int):
    """Delete my yellow note."""
    app_service().delete_draft_note(current_user(), note_id)


@blp.route("/yellow-notes/<int:note_id>/confirm", methods=["POST"])
def confirm_yellow_note(note_id: int):
    """Confirm my yellow note into the next green note paragraph."""
    return app_service().confirm_note(current_user(), note_id), 201


# ---------------------------------------------------------------- pull back, sent items


@blp.route("/files/<int:file_id>/pullback", methods=["POST"])
def pull_back(file_id: int):
    """The last sender recalls a file the recipient has not opened; both are notified."""
    return app_service().pullback(current_user(), file_id)


@blp.route("/sent")
def sent():
    """What my post sent, newest first, with `can_pull_back`."""
    return app_service().sent_items(current_user())
