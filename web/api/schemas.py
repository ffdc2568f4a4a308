"""Request schemas: they validate input and document the API (OpenAPI)."""

from marshmallow import Schema, fields, validate

from engine.domain import passwords
from engine.domain.receipts import FORMS, GRADINGS, LANGUAGES, MODES
from engine.sla.policy import PRIORITIES


class TokenRequest(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=64))
    password = fields.String(required=True, validate=validate.Length(min=1, max=200))


class UnlockCodeRequest(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=64))


class UnlockRequest(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=64))
    code = fields.String(required=True, validate=validate.Length(min=1, max=32),
                         metadata={"description": "the code sent to the user's e-mail/SMS "
                                                  "(case, spaces and dashes do not matter)"})


class ReceiptCreate(Schema):
    sender = fields.String(required=True, validate=validate.Length(min=1, max=300))
    subject = fields.String(required=True, validate=validate.Length(min=1, max=500))
    mode = fields.String(load_default="post", validate=validate.OneOf(MODES))
    category = fields.String(load_default=None, validate=validate.Length(max=64))
    letter_ref = fields.String(load_default=None, validate=validate.Length(max=200))
    letter_date = fields.Date(load_default=None)
    language = fields.String(load_default="en", validate=validate.OneOf(LANGUAGES))
    grading = fields.String(load_default="Normal", validate=validate.OneOf(GRADINGS))
    form = fields.String(load_default=None, validate=validate.OneOf(FORMS), metadata={
        "description": "electronic (needs the scan in `pdf`) or physical (tracked only); "
                       "default: electronic when a scan is sent, else physical"})
    paper_location = fields.String(load_default=None, validate=validate.Length(max=200),
                                   metadata={"description": "physical: where the paper is"})
    from_receipt_id = fields.Integer(load_default=None, metadata={
        "description": "pre-fill from this receipt's metadata (sender, subject, mode, "
                       "category, letter reference and date, language, grading)"})


class ReceiptFrom(Schema):
    """A new receipt from an existing one's metadata: every field optional."""

    sender = fields.String(validate=validate.Length(min=1, max=300))
    subject = fields.String(validate=validate.Length(min=1, max=500))
    mode = fields.String(validate=validate.OneOf(MODES))
    category = fields.String(validate=validate.Length(max=64))
    letter_ref = fields.String(validate=validate.Length(max=200))
    letter_date = fields.Date()
    language = fields.String(validate=validate.OneOf(LANGUAGES))
    grading = fields.String(validate=validate.OneOf(GRADINGS))
    form = fields.String(validate=validate.OneOf(FORMS))
    paper_location = fields.String(validate=validate.Length(max=200))
    from_receipt_id = fields.Integer()


class FileCreate(Schema):
    subject = fields.String(required=True, validate=validate.Length(min=1, max=500))
    head = fields.String(required=True, validate=validate.Regexp(
        r"^[A-Za-z0-9-]{1,32}$", error="letters, digits and '-' only (e.g. 11011)"))
    receipt_id = fields.Integer(load_default=None)
    priority = fields.String(load_default="Normal", validate=validate.OneOf(PRIORITIES))
    kind = fields.String(load_default="electronic",
                         validate=validate.OneOf(("electronic", "physical")))


class FileQuery(Schema):
    file_no = fields.String(load_default=None)
    q = fields.String(load_default=None)
    holder = fields.String(load_default=None)
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class PasskeyAssertion(Schema):
    """An approval signed with a passkey: the nonce of the challenge
    (`GET /tasks/{task_id}/passkey-challenge`) and what navigator.credentials.get()
    returned, as JSON (base64url fields). The origin is the server's own."""

    nonce = fields.String(required=True, validate=validate.Length(min=1, max=100))
    credential = fields.Dict(required=True, metadata={
        "description": "PublicKeyCredential JSON: id, rawId, type, response "
                       "{authenticatorData, clientDataJSON, signature, userHandle}"})


class DraftApproval(Schema):
    passkey = fields.Nested(PasskeyAssertion, load_default=None, metadata={
        "description": "the approval signed with a passkey (required where the "
                       "installation requires passkeys)"})


class PageQuery(Schema):
    """One page of a long list: `page` counts from 1, `limit` rows a page. The next page
    exists while a page comes back full."""

    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100000),
                          metadata={"description": "page number, from 1"})
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500),
                           metadata={"description": "rows per page (at most 500)"})


class TaskAction(Schema):
    action = fields.String(required=True, validate=validate.Length(min=1, max=32))
    to = fields.String(load_default=None, metadata={"description": "username or post code"})
    note = fields.String(load_default=None, validate=validate.Length(max=20000))
    remark = fields.String(load_default=None, validate=validate.Length(max=2000))
    reason = fields.String(load_default=None, validate=validate.Length(max=2000),
                           metadata={"description": "required when the item is overdue"})
    file_id = fields.Integer(load_default=None, metadata={"description": "put_in_file: existing"})
    subject = fields.String(load_default=None, metadata={"description": "put_in_file: new file"})
    head = fields.String(load_default=None)
    priority = fields.String(load_default=None, validate=validate.OneOf(PRIORITIES))
    record_category = fields.String(load_default=None, validate=validate.OneOf(("A", "B", "C")))
    copies = fields.List(fields.String(validate=validate.Length(min=1, max=64)),
                         load_default=None, metadata={
                             "description": "forward: usernames or post codes that each get "
                                            "a copy of the receipt"})
    paper_location = fields.String(load_default=None, validate=validate.Length(max=200),
                                   metadata={"description": "physical receipt: where the "
                                                            "paper goes"})
    passkey = fields.Nested(PasskeyAssertion, load_default=None, metadata={
        "description": "approve a file: the approval signed with a passkey; without it "
                       "the server-held key signs, where the installation allows that"})


class NoteCreate(Schema):
    text = fields.String(required=True, validate=validate.Length(min=1, max=20000))
    ref_correspondence_id = fields.Integer(
        load_default=None, metadata={"description": "a correspondence item of this file"})


class PasswordChange(Schema):
    old_password = fields.String(required=True, validate=validate.Length(max=200))
    new_password = fields.String(
        required=True, validate=validate.Length(min=passwords.MIN_LENGTH,
                                                max=passwords.MAX_LENGTH),
        metadata={"description": "at least 12 characters, not a commonly used password, "
                                 "not containing the username"})


class PasswordReset(Schema):
    password = fields.String(required=True, validate=validate.Length(min=8, max=200))
