"""Response schemas: what each operation answers, for the OpenAPI document.

The views return the service's dicts as they are (a schema here never filters a response);
`document(api)` writes these schemas into the OpenAPI document, every operation's success
response and the error body {"error": {"code", "message", "details"?}} for the rest.
Fields marked required are in every response; the others may be missing or null. Items
whose shape depends on the process (history data, replay state) are free-form objects.
tests/integration/test_api_responses.py checks real responses against the document."""

from __future__ import annotations

from typing import Any

from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.ext.marshmallow.common import make_schema_key
from marshmallow import INCLUDE, Schema, fields


def _s(**kw: Any) -> fields.String:
    return fields.String(allow_none=True, **kw)


def _i(**kw: Any) -> fields.Integer:
    return fields.Integer(allow_none=True, **kw)


class ErrorDetail(Schema):
    message = fields.String()
    field = fields.String()
    line = _i()
    element_id = _s()
    row = fields.Integer()
    column = fields.String()


class ErrorBody(Schema):
    code = fields.String(required=True, metadata={"description": "machine-readable"})
    message = fields.String(required=True, metadata={"description": "names the field"})
    details = fields.List(fields.Dict(), metadata={"description": "one entry per problem"})


class Error(Schema):
    error = fields.Nested(ErrorBody, required=True)


class Health(Schema):
    status = fields.String(required=True)
    version = fields.String(required=True)


class Token(Schema):
    token = fields.String(required=True)
    expires_at = fields.String(required=True, metadata={"description": "UTC, ISO 8601"})
    username = fields.String(required=True)
    role = fields.String(required=True)


class UnlockCodeSent(Schema):
    username = fields.String(required=True)
    message = fields.String(required=True, metadata={
        "description": "the same whether or not a code was sent (tells a guesser nothing)"})


class Unlocked(Schema):
    username = fields.String(required=True)
    address = _s(metadata={"description": "the address whose lock was lifted"})
    lifted = fields.Boolean(required=True)


class PostRef(Schema):
    id = fields.Integer(required=True)
    code = fields.String(required=True)
    title = fields.String(required=True)


class Me(Schema):
    username = fields.String(required=True)
    full_name = fields.String(required=True)
    role = fields.String(required=True)
    post_id = _i(required=True)
    posts = fields.List(fields.Dict(), required=True,
                        metadata={"description": "own post first, then additional charges"})


class Task(Schema):
    id = fields.Integer(required=True)
    kind = fields.String(required=True, metadata={"description": "file or receipt"})
    name = fields.String(required=True)
    step = fields.String(required=True)
    received_at = _s(required=True)
    due_at = _s(required=True)
    overdue = fields.Boolean(required=True)
    priority = _s(required=True)
    actions = fields.List(fields.String(), required=True)
    parked = fields.Boolean(required=True)
    file_id = _i(metadata={"description": "file tasks"})
    receipt_id = _i(metadata={"description": "receipt tasks"})
    post = fields.Nested(PostRef, allow_none=True, metadata={"description": "inbox rows"})
    number = _s(metadata={"description": "inbox rows: the file or diary number"})
    subject = _s(metadata={"description": "inbox rows: the item's subject"})


class ActionResult(Schema):
    task_id = fields.Integer(required=True)
    action = fields.String(required=True)
    done = fields.Boolean(required=True)
    next = fields.List(fields.Nested(Task), required=True)
    completed = fields.Boolean(required=True)


class Movement(Schema):
    from_ = fields.Nested(PostRef, allow_none=True, data_key="from")
    to = fields.Nested(PostRef, allow_none=True)
    to_user = _s()
    action = _s()
    remark = _s()
    sent_by = _s()
    sent_at = _s()
    opened_at = _s()
    paper_location = _s()


class ReceiptSummary(Schema):
    id = fields.Integer(required=True)
    diary_no = fields.String(required=True)
    subject = fields.String(required=True)
    sender = _s(required=True)


class HistoryEvent(Schema):
    instance_id = fields.Integer(required=True)
    seq = fields.Integer(required=True)
    kind = fields.String(required=True)
    at = fields.String(required=True)
    actor = _s(required=True)
    step = _s(required=True)
    data = fields.Dict(allow_none=True, required=True)
    prev_hash = _s(required=True)
    hash = fields.String(required=True)


class Receipt(ReceiptSummary):
    mode = _s(required=True)
    category = _s()
    letter_ref = _s()
    letter_date = _s()
    language = _s()
    grading = _s()
    received_at = _s()
    diarised_by = _s()
    status = fields.String(required=True)
    file_id = _i()
    remark = _s()
    holder = fields.Nested(PostRef, allow_none=True)
    holder_user = _s()
    holder_since = _s()
    pdf = _s(metadata={"description": "URL of the scanned letter, if any"})
    tasks = fields.List(fields.Nested(Task))
    movements = fields.List(fields.Nested(Movement))
    instance_id = _i()
    process_error = _s(metadata={"description": "why the item's process stopped (its own script or "
                                       "expression failed), else null"})
    form = _s()
    ack_no = _s()
    paper_location = _s()
    copy_of_id = _i()
    from_receipt_id = _i()
    copies = fields.List(fields.Dict())
    history = fields.List(fields.Nested(HistoryEvent))


class FileSummary(Schema):
    id = fields.Integer(required=True)
    file_no = fields.String(required=True)
    subject = fields.String(required=True)
    status = fields.String(required=True)
    priority = _s()
    locked = fields.Boolean()
    holder = fields.Nested(PostRef, allow_none=True)
    holder_user = _s()
    created_at = _s()


class File(FileSummary):
    head = _s()
    year = _i()
    serial = _i()
    creator = fields.Nested(PostRef, allow_none=True)
    created_by = _s()
    holder_since = _s()
    locked_at = _s()
    approved_by = _s()
    record_category = _s(metadata={"description": "A, B or C once closed"})
    closed_at = _s()
    notes = fields.List(fields.Dict())
    correspondence = fields.List(fields.Dict())
    tasks = fields.List(fields.Nested(Task))
    instance_id = _i()
    process_error = _s(metadata={"description": "why the item's process stopped (its own script or "
                                       "expression failed), else null"})
    kind = _s(metadata={"description": "electronic or physical"})
    parked = fields.Boolean()
    parked_at = _s()
    parked_by = _s()
    digitised_by = _s()
    digitised_at = _s()
    yellow_notes = fields.List(fields.Dict(), metadata={"description": "the reader's own"})
    drafts = fields.List(fields.Dict())
    dispatches = fields.List(fields.Dict())
    links = fields.List(fields.Dict())
    main_file = fields.Dict(allow_none=True)
    part_no = _i()
    part_files = fields.List(fields.Dict())
    documents = fields.List(fields.Dict())


class Track(Schema):
    file_no = fields.String(required=True)
    holder = fields.Nested(PostRef, allow_none=True, required=True)
    holder_user = _s(required=True)
    since = _s(required=True)
    status = fields.String(required=True)
    movements = fields.List(fields.Nested(Movement), required=True)


class Notification(Schema):
    id = fields.Integer(required=True)
    subject = fields.String(required=True)
    body = fields.String(required=True)
    at = _s(required=True)


class Definition(Schema):
    process_id = fields.String(required=True)
    version = fields.Integer(required=True)
    content_hash = fields.String(required=True)
    deployed_at = _s(required=True)
    deployed_by = _s(required=True)
    has_running = fields.Boolean(required=True)
    current = fields.Boolean(required=True, metadata={"description": "new instances start "
                                                      "on this version"})
    suspended = fields.Boolean(required=True)


class VersionState(Schema):
    process_id = fields.String(required=True)
    version = fields.Integer(required=True)
    current = fields.Boolean(required=True)
    suspended = fields.Boolean(required=True)


class MigrationToken(Schema):
    from_ = fields.String(required=True, data_key="from",
                          metadata={"description": "step id in the running version"})
    to = _s(required=True, metadata={"description": "step id in the target; null: unmapped"})
    kind = fields.String(required=True, metadata={"description": "user | event"})
    problem = _s(required=True)


class MigrationInstance(Schema):
    instance_id = fields.Integer(required=True)
    subject = _s(required=True, metadata={"description": "file or diary number"})
    subject_kind = _s()
    from_version = _i()
    tokens = fields.List(fields.Nested(MigrationToken), required=True)
    problems = fields.List(fields.String(), required=True)
    can_migrate = fields.Boolean(required=True)
    migrated = fields.Boolean(required=True)


class Migration(Schema):
    process_id = fields.String(required=True)
    from_version = fields.Integer(required=True)
    to_version = fields.Integer(required=True)
    dry_run = fields.Boolean(required=True)
    movable = fields.Integer(required=True)
    migrated = fields.Integer(required=True)
    instances = fields.List(fields.Nested(MigrationInstance), required=True)


class Deployed(Schema):
    process_id = fields.String(required=True)
    version = fields.Integer(required=True)
    content_hash = fields.String(required=True)
    created = fields.Boolean(required=True)


class SearchHit(Schema):
    kind = fields.String(required=True)
    id = fields.Integer(required=True)
    number = fields.String(required=True)
    subject = fields.String(required=True)
    sender = _s(required=True)
    snippet = fields.String(required=True)
    # a hit inside a scanned letter (its recognised text): where
    page = fields.Integer(metadata={"description": "page of the scan holding the word"})
    line = fields.String(metadata={"description": "that line of the recognised text"})
    document = fields.String(metadata={"description": "SHA-256 of the scanned PDF"})


class YellowNote(Schema):
    id = fields.Integer(required=True)
    file_id = fields.Integer(required=True)
    text = fields.String(required=True)
    kind = fields.String(required=True, metadata={"description": "always 'yellow'"})
    ref_correspondence_id = _i(required=True)
    created_at = _s(required=True)
    updated_at = _s(required=True)


class SubjectHead(Schema):
    id = fields.Integer(required=True)
    department = _s(required=True, metadata={"description": "department code"})
    department_id = fields.Integer(required=True)
    code = fields.String(required=True)
    title = fields.String(required=True)
    active = fields.Boolean(required=True)
    retired_at = _s(required=True)


class Record(Schema):
    """A record of this area: an object whose fields the operation's description names."""

    class Meta:
        unknown = INCLUDE  # documented as an open object (additionalProperties)

    id = fields.Raw()


# (METHOD, path) -> (status, schema, many); schema None: no JSON body; "binary": a file.
OBJ, LIST = False, True
PDF, ZIP, PEM = "application/pdf", "application/zip", "application/x-pem-file"
class Passkey(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    credential_id = fields.String(required=True, metadata={"description": "base64url"})
    rp_id = fields.String(required=True)
    created_at = fields.String(required=True)
    revoked_at = _s(required=True)
    active = fields.Boolean(required=True)


class PasskeyChallenge(Schema):
    subject = fields.String(required=True, metadata={"description": "file or draft"})
    subject_id = fields.Integer(required=True)
    action = fields.String(required=True)
    content_hash = fields.String(required=True)
    nonce = fields.String(required=True)
    passkeys = fields.Integer(required=True, metadata={
        "description": "my active passkeys (0: none to sign with)"})
    publicKey = fields.Dict(required=True, metadata={  # the WebAuthn name
        "description": "PublicKeyCredentialRequestOptions as JSON (base64url)"})


OPERATIONS: dict[tuple[str, str], tuple[Any, Any, Any]] = {
    ("POST", "/api/v1/auth/token"): (200, Token, OBJ),
    ("DELETE", "/api/v1/auth/token"): (204, None, None),
    ("POST", "/api/v1/auth/unlock-code"): (202, UnlockCodeSent, OBJ),
    ("POST", "/api/v1/auth/unlock"): (200, Unlocked, OBJ),
    ("POST", "/api/v1/auth/sign-off-everywhere"): (204, None, None),
    ("POST", "/api/v1/me/password"): (204, None, None),
    ("POST", "/api/v1/admin/users/{username}/deactivate"): (200, Record, OBJ),
    ("POST", "/api/v1/admin/users/{username}/reset-password"): (204, None, None),
    ("POST", "/api/v1/admin/users/{username}/unlock"): (200, Record, OBJ),
    ("GET", "/api/v1/admin/organisation"): (200, Record, OBJ),
    ("POST", "/api/v1/admin/departments"): (201, Record, OBJ),
    ("POST", "/api/v1/admin/departments/{code}/retire"): (200, Record, OBJ),
    ("POST", "/api/v1/admin/offices"): (201, Record, OBJ),
    ("POST", "/api/v1/admin/offices/{code}/retire"): (200, Record, OBJ),
    ("GET", "/api/v1/admin/users"): (200, Record, LIST),
    ("POST", "/api/v1/admin/users/{username}/reactivate"): (200, Record, OBJ),
    ("POST", "/api/v1/admin/users/{username}/reset-code"): (200, Record, OBJ),
    ("POST", "/api/v1/admin/reset-code"): (204, None, None),
    ("GET", "/api/v1/me"): (200, Me, OBJ),
    ("GET", "/api/v1/health"): (200, Health, OBJ),
    ("POST", "/api/v1/receipts"): (201, Receipt, OBJ),
    ("GET", "/api/v1/receipts/{receipt_id}/pdf"): (200, "binary", PDF),
    ("GET", "/api/v1/receipts/{receipt_id}"): (200, Receipt, OBJ),
    ("POST", "/api/v1/receipts/{receipt_id}/copy"): (201, Receipt, OBJ),
    ("POST", "/api/v1/files"): (201, File, OBJ),
    ("GET", "/api/v1/files"): (200, FileSummary, LIST),
    ("GET", "/api/v1/files/{file_id}"): (200, File, OBJ),
    ("POST", "/api/v1/files/{file_id}/notes"): (201, Record, OBJ),
    ("GET", "/api/v1/files/{file_id}/track"): (200, Track, OBJ),
    ("GET", "/api/v1/files/{file_id}/history"): (200, HistoryEvent, LIST),
    ("GET", "/api/v1/tasks"): (200, Task, LIST),
    ("POST", "/api/v1/tasks/{task_id}"): (200, ActionResult, OBJ),
    ("GET", "/api/v1/notifications"): (200, Notification, LIST),
    ("GET", "/api/v1/process-definitions"): (200, Definition, LIST),
    ("POST", "/api/v1/process-definitions"): ((201, 200), Deployed, OBJ),  # 200: already
    ("GET", "/api/v1/files/{file_id}/replay"): (200, Record, OBJ),
    ("GET", "/api/v1/receipts/{receipt_id}/replay"): (200, Record, OBJ),
    ("GET", "/api/v1/files/{file_id}/export"): (200, "binary", ZIP),
    ("GET", "/api/v1/users/{username}/public-key"): (200, "binary", PEM),
    ("POST", "/api/v1/checkpoints"): (201, Record, OBJ),
    ("GET", "/api/v1/search"): (200, SearchHit, LIST),
    ("POST", "/api/v1/grants"): (201, Record, OBJ),
    ("GET", "/api/v1/grants"): (200, Record, LIST),
    ("DELETE", "/api/v1/grants/{grant_id}"): (200, Record, OBJ),
    ("POST", "/api/v1/admin/sections"): (201, Record, OBJ),
    ("POST", "/api/v1/admin/posts"): (201, Record, OBJ),
    ("POST", "/api/v1/admin/users"): (201, Record, OBJ),
    ("GET", "/api/v1/admin/users/{username}"): (200, Record, OBJ),
    ("POST", "/api/v1/admin/users/{username}/transfer"): (200, Record, OBJ),
    ("POST", "/api/v1/admin/users/{username}/additional-charge"): (201, Record, OBJ),
    ("DELETE", "/api/v1/admin/users/{username}/additional-charge"): (200, Record, LIST),
    ("GET", "/api/v1/admin/audit"): (200, Record, LIST),
    ("POST", "/api/v1/files/{file_id}/yellow-notes"): (201, YellowNote, OBJ),
    ("GET", "/api/v1/files/{file_id}/yellow-notes"): (200, YellowNote, LIST),
    ("PUT", "/api/v1/yellow-notes/{note_id}"): (200, YellowNote, OBJ),
    ("PATCH", "/api/v1/yellow-notes/{note_id}"): (200, YellowNote, OBJ),
    ("DELETE", "/api/v1/yellow-notes/{note_id}"): (204, None, None),
    ("POST", "/api/v1/yellow-notes/{note_id}/confirm"): (201, Record, OBJ),
    ("POST", "/api/v1/files/{file_id}/pullback"): (200, Record, OBJ),
    ("GET", "/api/v1/sent"): (200, Record, LIST),
    ("GET", "/api/v1/admin/subject-heads"): (200, SubjectHead, LIST),
    ("POST", "/api/v1/admin/subject-heads"): (201, SubjectHead, OBJ),
    ("POST", "/api/v1/admin/subject-heads/{head_id}/retire"): (200, SubjectHead, OBJ),
    ("POST", "/api/v1/files/{file_id}/priority"): (200, Record, OBJ),
    ("POST", "/api/v1/files/{file_id}/drafts"): (201, Record, OBJ),
    ("GET", "/api/v1/drafts/{draft_id}"): (200, Record, OBJ),
    ("POST", "/api/v1/drafts/{draft_id}/versions"): (201, Record, OBJ),
    ("GET", "/api/v1/drafts/{draft_id}/diff"): (200, Record, OBJ),
    ("POST", "/api/v1/drafts/{draft_id}/approve"): (200, Record, OBJ),
    ("POST", "/api/v1/drafts/{draft_id}/dispatch"): (201, Record, OBJ),
    ("GET", "/api/v1/dispatch-register"): (200, Record, LIST),
    ("POST", "/api/v1/files/{file_id}/links"): (201, Record, OBJ),
    ("POST", "/api/v1/files/{file_id}/parts"): (201, FileSummary, OBJ),
    ("POST", "/api/v1/files/{file_id}/park"): (200, Record, OBJ),
    ("POST", "/api/v1/files/{file_id}/unpark"): (200, Record, OBJ),
    ("GET", "/api/v1/parked"): (200, Task, LIST),
    ("POST", "/api/v1/files/{file_id}/reopen"): (201, Record, OBJ),
    ("POST", "/api/v1/files/digitise"): (201, Record, OBJ),
    ("GET", "/api/v1/documents/{sha256}"): (200, "binary", PDF),
    ("GET", "/api/v1/admin/holidays"): (200, Record, LIST),
    ("POST", "/api/v1/admin/holidays"): (201, Record, OBJ),
    ("DELETE", "/api/v1/admin/holidays/{holiday_id}"): (204, None, None),
    ("GET", "/api/v1/admin/calendar"): (200, Record, OBJ),
    ("PUT", "/api/v1/admin/calendar"): (200, Record, OBJ),
    ("GET", "/api/v1/admin/sla-rules"): (200, Record, LIST),
    ("POST", "/api/v1/admin/sla-rules"): (201, Record, OBJ),
    ("DELETE", "/api/v1/admin/sla-rules/{rule_id}"): (204, None, None),
    ("GET", "/api/v1/reports/pendency"): (200, Record, OBJ),
    # e-mail diarisation, recognised text, the exchange between installations
    ("GET", "/api/v1/email-receipts"): (200, Record, LIST),
    ("GET", "/api/v1/email-receipts/{email_id}"): (200, Record, OBJ),
    ("POST", "/api/v1/email-receipts/{email_id}/confirm"): (201, Receipt, OBJ),
    ("POST", "/api/v1/email-receipts/{email_id}/reject"): (200, Record, OBJ),
    ("GET", "/api/v1/email-receipts/{email_id}/eml"): (200, "binary", "message/rfc822"),
    ("GET", "/api/v1/email-receipts/{email_id}/attachments/{position}"):
        (200, "binary", "application/octet-stream"),
    ("GET", "/api/v1/mailboxes"): (200, Record, LIST),
    ("GET", "/api/v1/receipts/{receipt_id}/text"): (200, Record, OBJ),
    ("GET", "/api/v1/ocr/status"): (200, Record, OBJ),
    ("GET", "/api/v1/exchange/identity"): (200, Record, OBJ),
    ("POST", "/api/v1/exchange/partners"): (201, Record, OBJ),
    ("GET", "/api/v1/exchange/partners"): (200, Record, LIST),
    ("POST", "/api/v1/files/{file_id}/send-to-partner"): (202, Record, OBJ),
    ("POST", "/api/v1/receipts/{receipt_id}/send-to-partner"): (202, Record, OBJ),
    ("GET", "/api/v1/exchange/outbox"): (200, Record, LIST),
    ("POST", "/api/v1/exchange/inbox"): (201, Record, OBJ),
    ("GET", "/api/v1/receipts/{receipt_id}/package"): (200, "binary", ZIP),
    # versions under control
    ("POST", "/api/v1/process-definitions/{process_id}/versions/{version}/current"):
        (200, VersionState, OBJ),
    ("POST", "/api/v1/process-definitions/{process_id}/versions/{version}/suspension"):
        (200, VersionState, OBJ),
    ("POST", "/api/v1/process-definitions/{process_id}/migrations"): (200, Migration, OBJ),
    ("GET", "/api/v1/passkeys"): (200, Passkey, LIST),
    ("POST", "/api/v1/passkeys/{passkey_id}/revoke"): (200, Passkey, OBJ),
    ("GET", "/api/v1/tasks/{task_id}/passkey-challenge"): (200, PasskeyChallenge, OBJ),
    ("GET", "/api/v1/drafts/{draft_id}/passkey-challenge"): (200, PasskeyChallenge, OBJ),
}
NAMED = (Error, Health, Token, Me, Task, ActionResult, Movement, Receipt, FileSummary, File,
         Track, HistoryEvent, Notification, Definition, Deployed, SearchHit, YellowNote,
         SubjectHead, Record, VersionState, Migration, UnlockCodeSent, Unlocked, Passkey,
         PasskeyChallenge)
HTTP_METHODS = ("get", "post", "put", "patch", "delete")


def _name(schema: type[Schema]) -> str:
    return schema.__name__


def document(api: Any) -> None:
    """Write the response schemas into the OpenAPI document of `api` (flask-smorest):
    every operation's success response and the error body for every other status."""
    spec = api.spec
    plugin = next(p for p in spec.plugins if isinstance(p, MarshmallowPlugin))
    converter = plugin.converter
    assert converter is not None, "the marshmallow plugin is initialised by the Api"  # noqa: S101
    for schema in NAMED:
        name = _name(schema)
        if make_schema_key(schema()) in converter.refs:
            continue  # already added (nested in another schema, or by a view)
        if name in spec.components.schemas:
            del spec.components.schemas[name]  # flask-smorest's own "Error" shape
        spec.components.schema(name, schema=schema)
    error = {"description": "the error body", "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    for name in list(spec.components.responses):
        spec.components.responses[name] = error
    for path, operations in spec._paths.items():
        for method, operation in operations.items():
            if method not in HTTP_METHODS:
                continue
            known = OPERATIONS.get((method.upper(), path))
            if known is None:
                continue  # tests/integration/test_api_responses.py names it
            statuses, schema, many = known
            responses = operation.setdefault("responses", {})
            for code in [c for c in responses if str(c).startswith("2")]:
                del responses[code]
            for status in statuses if isinstance(statuses, tuple) else (statuses,):
                responses[str(status)] = _success(status, schema, many)
            responses.setdefault("default", {"$ref": "#/components/responses/DEFAULT_ERROR"})


def _success(status: int, schema: Any, many: Any) -> dict[str, Any]:
    if schema is None:
        return {"description": "done; no body"}
    if schema == "binary":
        return {"description": "the file", "content": {
            many: {"schema": {"type": "string", "format": "binary"}}}}
    ref = {"$ref": f"#/components/schemas/{_name(schema)}"}
    body = {"type": "array", "items": ref} if many else ref
    return {"description": "OK" if status == 200 else "created",
            "content": {"application/json": {"schema": body}}}
