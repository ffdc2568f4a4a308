"""Database tables. Query tables (open tasks, holders, movements) are what pages read;
workflow state is a blob only the engine touches."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Stores UTC; always hands back an aware datetime (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime,
                                                     dict[str, Any]: JSON}


# ---------------------------------------------------------------- organisation


class Department(Base):
    __tablename__ = "departments"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # a retired department keeps its records; nothing new is created in it
    retired_at: Mapped[datetime | None]


class Section(Base):
    __tablename__ = "sections"
    __table_args__ = (UniqueConstraint("department_id", "code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    code: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    # the office the section works in (engine/store/admin_models.py); NULL: the
    # department's secretariat, as before offices existed
    office_id: Mapped[int | None] = mapped_column(ForeignKey("offices.id"), index=True)
    department: Mapped[Department] = relationship()


class Post(Base):
    """A position. Files sit with posts, not persons."""

    __tablename__ = "posts"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    section_id: Mapped[int] = mapped_column(ForeignKey("sections.id"))
    superior_post_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id"))
    can_approve: Mapped[bool] = mapped_column(Boolean, default=False)
    # 1 dealing hand, 2 section officer, 3 under secretary, 4 deputy, 5 joint, 6 secretary
    rank: Mapped[int] = mapped_column(Integer, default=1)
    # A monitoring post (e.g. a Collector) reads everything in its 'department',
    # 'section', 'office' (its office and the offices under it) or the whole 'state',
    # read-only (engine/domain/visibility.py); NULL for ordinary posts.
    monitors: Mapped[str | None] = mapped_column(String(16))
    section: Mapped[Section] = relationship()


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(256))
    post_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id"), index=True)
    # officer | designer | auditor | admin
    role: Mapped[str] = mapped_column(String(16), default="officer")
    email: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(32))
    language: Mapped[str] = mapped_column(String(8), default="en")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Bumped whenever all of the user's sessions and API tokens must end (sign off
    # everywhere, password change or reset, deactivation); a web session carries the
    # value it started with and is refused once it differs.
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    post: Mapped[Post | None] = relationship()


class Counter(Base):
    """Serial numbers (diary numbers, file serials) per scope."""

    __tablename__ = "counters"
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


# ---------------------------------------------------------------- engine


class ProcessDefinition(Base):
    __tablename__ = "process_definitions"
    __table_args__ = (UniqueConstraint("process_id", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    process_id: Mapped[str] = mapped_column(String(128), index=True)
    version: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)
    bpmn_xml: Mapped[str] = mapped_column(Text)
    # What the engine reads from the diagram (assignees, actions, handlers), so a
    # request never re-reads XML.
    meta: Mapped[dict[str, Any]] = mapped_column(JSON)
    deployed_at: Mapped[datetime] = mapped_column(default=utcnow)
    deployed_by: Mapped[str | None] = mapped_column(String(64))
    # The version new instances start on (one per process; rollback moves it), and
    # whether the version is suspended (no new instances, its timer start events stop).
    is_current: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    suspended: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class Instance(Base):
    __tablename__ = "instances"
    # an item's instances (its history, its state), migration 0019
    __table_args__ = (Index("ix_instances_subject", "subject_kind", "subject_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("process_definitions.id"), index=True)
    process_id: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16), default="running")  # running|completed|failed
    # What the instance is about: a file or a receipt (no FK: files point back here).
    subject_kind: Mapped[str | None] = mapped_column(String(16))
    subject_id: Mapped[int | None] = mapped_column(Integer)
    # SpiffWorkflow state without the spec (re-attached from the cache); NULL once completed.
    state: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None]
    last_event_hash: Mapped[str | None] = mapped_column(String(64))
    event_count: Mapped[int] = mapped_column(Integer, default=0)
    definition: Mapped[ProcessDefinition] = relationship()

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - read once, by the mapper


class OpenTask(Base):
    """A ready user task, indexed by holder post so an inbox never loads a workflow."""

    __tablename__ = "open_tasks"
    __table_args__ = (
        # The inbox index covers only tasks still open; done ones stay for "already acted".
        # With received_at it also answers the pendency counts per post from the index
        # alone (migration 0019).
        Index("ix_open_tasks_inbox", "post_id", "due_at", "received_at",
              sqlite_where=text("closed_at IS NULL"), postgresql_where=text("closed_at IS NULL")),
        UniqueConstraint("instance_id", "task_uuid"),
        # the inbox pages by post, open state and arrival (migration 0012)
        Index("ix_open_tasks_post_open", "post_id", "closed_at", "received_at"),
        # the latest actions taken after the limit (pendency report), migration 0019
        Index("ix_open_tasks_late", "closed_at",
              sqlite_where=text("closed_at > due_at"), postgresql_where=text("closed_at > due_at")),
        # the warning sweep reads only open tasks still to be warned (migration 0019)
        Index("ix_open_tasks_warning", "warn_at",
              sqlite_where=text("closed_at IS NULL AND warn_at IS NOT NULL"),
              postgresql_where=text("closed_at IS NULL AND warn_at IS NOT NULL")),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"), index=True)
    task_uuid: Mapped[str] = mapped_column(String(36))
    task_spec: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))  # file | receipt
    file_id: Mapped[int | None] = mapped_column(ForeignKey("files.id"), index=True)
    receipt_id: Mapped[int | None] = mapped_column(ForeignKey("receipts.id"), index=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"))
    actions: Mapped[str] = mapped_column(String(200))
    priority: Mapped[str] = mapped_column(String(16), default="Normal")
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    due_at: Mapped[datetime | None]
    opened_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str | None] = mapped_column(String(32))
    # The holder parked the file: out of the active inbox list, still with the post.
    parked: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # the reason given when acting after due_at (shown in reports)
    reason: Mapped[str | None] = mapped_column(Text)
    # when the holder is told the limit is near; NULL once told (or no limit)
    warn_at: Mapped[datetime | None]


class Timer(Base):
    """A waiting BPMN timer and its due time (firing is the scheduler's job)."""

    __tablename__ = "timers"
    # the sweep reads only pending timers; fired and cancelled ones stay out of the index
    __table_args__ = (UniqueConstraint("instance_id", "task_uuid"),
                      Index("ix_timers_pending_due", "due_at",
                            sqlite_where=text("status = 'pending'"),
                            postgresql_where=text("status = 'pending'")))
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"), index=True)
    task_uuid: Mapped[str] = mapped_column(String(36))
    task_spec: Mapped[str] = mapped_column(String(128))
    due_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|fired|cancelled


class HistoryEvent(Base):
    """Append-only; each event carries the hash of the one before it in its instance."""

    __tablename__ = "history_events"
    # the heads index covers the hash: `sanchika verify` finds every checkpointed head in
    # its chain by an index-only lookup instead of reading every event
    __table_args__ = (UniqueConstraint("instance_id", "seq"),
                      Index("ix_history_events_head", "instance_id", "seq", "hash"))
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str | None] = mapped_column(String(64))
    task_spec: Mapped[str | None] = mapped_column(String(128))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class OutboxMessage(Base):
    """Side effects written in the action's transaction, delivered after commit
    (engine/notify/delivery.py). Channel 'app' rows are born 'sent'; 'email' and 'sms' rows go
    pending -> sending -> sent, or back to pending with a backoff, or to 'failed' (kept)."""

    __tablename__ = "outbox"
    # The worker's query: pending rows that are due, and 'sending' rows whose lease ran out.
    # A user's notifications by channel, newest first (migration 0012).
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),
                      Index("ix_outbox_user_channel", "user_id", "channel", "id"))
    id: Mapped[int] = mapped_column(primary_key=True)
    event_key: Mapped[str] = mapped_column(String(200), unique=True)
    channel: Mapped[str] = mapped_column(String(16))  # email | sms | app
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recipient: Mapped[str | None] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    # pending | sending | sent | failed
    status: Mapped[str] = mapped_column(String(16), default="pending")
    # delivery attempts started (the successful one included)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    # pending: not before this time (NULL = now); sending: the claim's lease runs out then;
    # sent/failed: NULL
    next_attempt_at: Mapped[datetime | None]
    # what the message is about (a link) and how to say it again in another language:
    # the catalogue key and its parameters (engine/notify/messages.py)
    item_kind: Mapped[str | None] = mapped_column(String(16))
    item_id: Mapped[int | None] = mapped_column(Integer)
    message_key: Mapped[str | None] = mapped_column(String(64))
    params: Mapped[dict[str, Any] | None] = mapped_column(JSON)


# ---------------------------------------------------------------- dak and files


class Document(Base):
    """An uploaded PDF, stored under the data folder by its SHA-256 (engine/domain/uploads.py)."""

    __tablename__ = "documents"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(Integer)
    pages: Mapped[int] = mapped_column(Integer)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    uploaded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)


class Receipt(Base):
    __tablename__ = "receipts"
    # the unique index migration 0006 made (an index, not a table constraint: same rule);
    # the visibility lookups carry the id (PostgreSQL INCLUDE, migration 0025): a post's
    # receipts come from the index alone (SQLite's indexes hold the rowid anyway)
    __table_args__ = (Index("uq_receipts_ack_no", "ack_no", unique=True),
                      Index("ix_receipts_diarised_post_id", "diarised_post_id",
                            postgresql_include=["id"]),
                      Index("ix_receipts_holder_post_id", "holder_post_id",
                            postgresql_include=["id"]),
                      Index("ix_receipts_file_id", "file_id", postgresql_include=["id"]))
    id: Mapped[int] = mapped_column(primary_key=True)
    diary_no: Mapped[str] = mapped_column(String(64), unique=True)
    section_id: Mapped[int] = mapped_column(ForeignKey("sections.id"))
    sender: Mapped[str] = mapped_column(String(300))
    subject: Mapped[str] = mapped_column(String(500))
    mode: Mapped[str] = mapped_column(String(16))
    category: Mapped[str | None] = mapped_column(String(64))
    letter_ref: Mapped[str | None] = mapped_column(String(200))
    letter_date: Mapped[str | None] = mapped_column(String(10))
    language: Mapped[str] = mapped_column(String(16), default="en")
    grading: Mapped[str] = mapped_column(String(16), default="Normal")
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    diarised_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    diarised_post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"))
    holder_post_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id"))
    holder_since: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(16), default="open")  # open|filed|closed
    file_id: Mapped[int | None] = mapped_column(ForeignKey("files.id"))
    remark: Mapped[str | None] = mapped_column(Text)
    pdf_sha256: Mapped[str | None] = mapped_column(String(64))
    # the scan's name as this receipt's uploader gave it (identical scans share one
    # stored document, whose own name is only the first uploader's)
    pdf_name: Mapped[str | None] = mapped_column(String(200))
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("instances.id"))
    # electronic (carries its scan) | physical (the paper is tracked, not scanned)
    form: Mapped[str] = mapped_column(String(16), default="physical",
                                      server_default="physical")
    ack_no: Mapped[str | None] = mapped_column(String(64))  # unique: uq_receipts_ack_no
    # where the paper of a physical receipt is now
    paper_location: Mapped[str | None] = mapped_column(String(200))
    # a copy sent along with a forward, and the receipt a new one was diarised from
    copy_of_id: Mapped[int | None] = mapped_column(ForeignKey("receipts.id"), index=True)
    from_receipt_id: Mapped[int | None] = mapped_column(ForeignKey("receipts.id"))


class File(Base):
    __tablename__ = "files"
    # columns whose change re-indexes the file (engine/search/index.py)
    SEARCHED: ClassVar[tuple[str, ...]] = ("file_no", "subject")
    # the dashboard's files per department per month, from the index alone (migration 0019)
    # and a post's files by creator or holder from the index alone (INCLUDE id, 0025)
    __table_args__ = (Index("ix_files_created_at", "created_at", "section_id"),
                      Index("ix_files_creator_post_id", "creator_post_id",
                            postgresql_include=["id"]),
                      Index("ix_files_holder_post_id", "holder_post_id",
                            postgresql_include=["id"]))
    id: Mapped[int] = mapped_column(primary_key=True)
    file_no: Mapped[str] = mapped_column(String(100), unique=True)
    section_id: Mapped[int] = mapped_column(ForeignKey("sections.id"))
    head: Mapped[str] = mapped_column(String(32))
    serial: Mapped[int] = mapped_column(Integer)
    year: Mapped[int] = mapped_column(Integer)
    subject: Mapped[str] = mapped_column(String(500))
    priority: Mapped[str] = mapped_column(String(16), default="Normal")
    creator_post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"))
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    holder_post_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id"))
    holder_since: Mapped[datetime | None]
    # open | approved | rejected | closed
    status: Mapped[str] = mapped_column(String(16), default="open")
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    locked_at: Mapped[datetime | None]
    approved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    record_category: Mapped[str | None] = mapped_column(String(1))
    closed_at: Mapped[datetime | None]
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("instances.id"))
    kind: Mapped[str] = mapped_column(String(16), default="electronic",
                                      server_default="electronic")  # electronic | physical
    # A part file: its main file and its part number (file_no = main file_no + "/P<n>").
    parent_file_id: Mapped[int | None] = mapped_column(ForeignKey("files.id"), index=True)
    part_no: Mapped[int | None] = mapped_column(Integer)
    parked_at: Mapped[datetime | None]
    parked_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    digitised_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    digitised_at: Mapped[datetime | None]
    # The last note paragraph written and the one up to which notes are sealed: a file
    # with nothing unsealed moves on without touching its note rows (engine/domain/files.py).
    last_para_no: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    sealed_para_no: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class Note(Base):
    """A green note paragraph. Sealed (immutable) once the file moves on; every note is
    read-only once the file is locked — both enforced by database triggers too."""

    __tablename__ = "notes"
    __table_args__ = (UniqueConstraint("file_id", "para_no"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("files.id"), index=True)
    para_no: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    author_post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sealed: Mapped[bool] = mapped_column(Boolean, default=False)
    # the correspondence item (PUC/FR) the paragraph speaks of
    ref_correspondence_id: Mapped[int | None] = mapped_column(ForeignKey("correspondence.id"))


class Correspondence(Base):
    __tablename__ = "correspondence"
    __table_args__ = (UniqueConstraint("file_id", "receipt_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("files.id"), index=True)
    receipt_id: Mapped[int] = mapped_column(ForeignKey("receipts.id"))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)
    added_by: Mapped[int] = mapped_column(ForeignKey("users.id"))


class Movement(Base):
    """One send of a file or receipt from one post to another."""

    __tablename__ = "movements"
    # the sent view: what a post sent, newest first (migration 0012)
    # what was sent to a post (visibility, the desk), migration 0019; both carry the
    # item ids (PostgreSQL INCLUDE, migration 0025): visibility reads a post's items from
    # the index alone instead of one heap page per movement
    __table_args__ = (Index("ix_movements_from_post", "from_post_id", "sent_at",
                            postgresql_include=["file_id", "receipt_id"]),
                      Index("ix_movements_to_post", "to_post_id", "sent_at",
                            postgresql_include=["file_id", "receipt_id"]))
    id: Mapped[int] = mapped_column(primary_key=True)
    file_id: Mapped[int | None] = mapped_column(ForeignKey("files.id"), index=True)
    receipt_id: Mapped[int | None] = mapped_column(ForeignKey("receipts.id"), index=True)
    from_post_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id"))
    to_post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"))
    action: Mapped[str] = mapped_column(String(32))
    remark: Mapped[str | None] = mapped_column(Text)
    sent_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
    opened_at: Mapped[datetime | None]
    # physical receipts: where the paper went with this movement
    paper_location: Mapped[str | None] = mapped_column(String(200))


# Tables of the people/access/search area, the audit tables and those of the web sign-in
# (sign-ins, failed-attempt throttle) live in their own modules; importing them here puts
# them in Base.metadata for Alembic and create_all.
# The officer's desk: user settings (channels, session generation) and read marks; the
# administrator's office: offices, password-reset codes, weekly reviews.
from engine.store import (  # noqa: E402, F401
    access_models,
    admin_models,
    audit_models,
    desk_models,
    web_models,
)

# The exchange between installations (partners, outgoing and received packages).
from engine.store.exchange_models import ExchangeIn, ExchangeOut, Partner  # noqa: E402,F401

# Tables of files in depth (subject heads, yellow notes, drafts, dispatch, links, scans):
# imported here so Base.metadata knows them wherever models is imported.
from engine.store.file_models import (  # noqa: E402,F401
    Dispatch,
    Draft,
    DraftVersion,
    FileDocument,
    FileLink,
    SubjectHead,
    YellowNote,
)

# E-mail diarisation (mailbox cursors, taken mails and their attachments).
from engine.store.intake_models import EmailAttachment, EmailReceipt, MailboxCursor  # noqa: E402,F401

# Recognised text of stored PDFs (text layer or OCR), per page, and the reading's progress.
from engine.store.ocr_models import DocumentPage, DocumentText  # noqa: E402,F401

# SLA rules, the working calendar and the scheduler lease live in their own module.
from engine.store.sla_models import Holiday, SchedulerLease, SlaRule, WorkCalendar  # noqa: E402,F401
