"""Audit actions of the service layer (a mixin of `Sanchika`): checkpoints, signed
approvals, public keys, replay, export, and the full verification."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.audit import checkpoints, export, history, replay, signing
from engine.audit.keys import AuditKeys
from engine.commands.executor import CommandRunner
from engine.domain import files as files_mod
from engine.domain import org, uploads, visibility
from engine.domain import receipts as receipts_mod
from engine.errors import NotFound
from engine.store.audit_models import UserKey
from engine.store.db import get_or_404
from engine.store.models import Correspondence, Document, File, Instance, Note, Receipt, User

if TYPE_CHECKING:
    from engine.audit.verify import Report
    from engine.bpm.definitions import Definitions
    from engine.config import Settings
    from engine.store.db import Database

FILE_PROCESS = "file_approval"


class AuditServices(CommandRunner):
    db: Database
    settings: Settings
    definitions: Definitions

    # ------------------------------------------------------------ keys

    @cached_property
    def audit_keys(self) -> AuditKeys:
        return AuditKeys(self.settings.data_dir)

    @cached_property
    def key_ring(self) -> signing.KeyRing:
        return signing.KeyRing(self.audit_keys)

    def public_key(self, actor: User, username: str) -> dict[str, Any]:
        """A user's current public key (PEM) and its id."""
        with self.db.reader() as s:
            user = org.user_by_username(s, username)
            key = s.scalar(select(UserKey).where(UserKey.user_id == user.id)
                           .order_by(UserKey.id.desc()).limit(1))
            if key is None:
                raise NotFound(f"user '{username}' has not signed anything yet, so has no key")
            return {"username": user.username, "key_id": key.key_id, "pem": key.public_pem,
                    "created_at": key.created_at.isoformat()}

    def export_public_keys(self, dest: Path) -> list[Path]:
        """Every user's public key as `<username>-<key id prefix>.pem`, with keys.json."""
        import json

        dest.mkdir(parents=True, exist_ok=True)
        written, index = [], []
        with self.db.reader() as s:
            rows = s.execute(select(UserKey, User.username).join(User, User.id == UserKey.user_id)
                             .order_by(User.username, UserKey.id)).all()
            for key, username in rows:
                path = dest / f"{username}-{key.key_id[:16]}.pem"
                path.write_text(key.public_pem)
                written.append(path)
                index.append({"username": username, "key_id": key.key_id, "file": path.name,
                              "created_at": key.created_at.isoformat()})
        (dest / "keys.json").write_text(json.dumps(index, indent=1))
        return written

    # ------------------------------------------------------------ hooks in actions

    def _sign_approval(self, s: Session, actor: User, task: Any, action: str) -> None:
        """Called by `_act` after an approval on a file, in its transaction. The approval of
        a reopening is signed too, as `approve:<process>`."""
        instance = get_or_404(s, Instance, task.instance_id)
        if instance.process_id != FILE_PROCESS:
            action = f"{action}:{instance.process_id}"
        signing.sign_approval(s, self.key_ring, actor, files_mod.get_file(s, task.file_id),
                              action, instance)

    def _record_note(self, s: Session, file: File, note: Note, actor: User) -> None:
        """A note added outside an action goes into the file's history (for replay)."""
        if file.instance_id is None:
            return
        instance = get_or_404(s, Instance, file.instance_id)
        history.append(s, instance, "note_added", actor=actor.username,
                       data={"para_no": note.para_no, "text": note.text,
                             "author_post_id": note.author_post_id})

    # ------------------------------------------------------------ checkpoints, verify

    def checkpoint(self, actor: User | None = None) -> dict[str, Any]:
        """Record a checkpoint over every history chain. A person asking must be an auditor
        or admin; the scheduler and the CLI ask as the system (no actor)."""
        if actor is not None:
            org.require_role(actor, "auditor", "admin")
        with self.command(actor) as s:
            cp = checkpoints.create(s, self.audit_keys)
            return {"seq": cp.seq, "at": cp.at.isoformat(), "instances": cp.instances,
                    "events": cp.events, "hash": cp.hash}

    def verify_report(self, *, full: bool = True, workers: int = 1) -> Report:
        """`sanchika verify`: everything (`full`), or what changed since the last intact
        run (engine/audit/verify_run.py). An intact run leaves a verification mark."""
        from engine.audit import marks, verify_run

        report = verify_run.run(self.db, keys=self.audit_keys, definitions=self.definitions,
                                full=full, workers=workers)
        if report.intact:
            with self.command() as s:
                marks.record(s, self.audit_keys, at=report.started, mode=report.mode,
                             checkpoint_seq=report.checkpoint_seq, event_id=report.event_id,
                             instances=report.instances)
        return report

    # ------------------------------------------------------------ replay, export

    def replay_file(self, actor: User, file_id: int, at: int | None = None) -> dict[str, Any]:
        with self.db.reader() as s:
            file = files_mod.get_file(s, file_id)
            visibility.require_read_file(s, actor, file)
            return replay.replay(s, "file", file, at)

    def replay_receipt(self, actor: User | None, receipt_id: int, at: int | None = None
                       ) -> dict[str, Any]:
        with self.db.reader() as s:
            receipt = receipts_mod.get_receipt(s, receipt_id)
            if actor is not None:
                visibility.require_read_receipt(s, actor, receipt)
            return replay.replay(s, "receipt", receipt, at)

    def replay_any(self, ref: str, at: int | None, receipt: bool) -> dict[str, Any]:
        """For the CLI: a file by id or number, a receipt by id or diary number."""
        with self.db.reader() as s:
            if receipt:
                found = s.scalar(select(Receipt).where(Receipt.diary_no == ref))
                if found is None and ref.isdigit():
                    found = s.get(Receipt, int(ref))
                if found is None:
                    raise NotFound(f"no receipt '{ref}'")
                return replay.replay(s, "receipt", found, at)
            file = s.scalar(select(File).where(File.file_no == ref))
            if file is None and ref.isdigit():
                file = s.get(File, int(ref))
            if file is None:
                raise NotFound(f"no file '{ref}'")
            return replay.replay(s, "file", file, at)

    def export_file(self, actor: User | None, file_id: int) -> tuple[str, bytes]:
        """(file number, zip bytes). `actor` None is the command line (trusted)."""
        with self.db.reader() as s:
            file = files_mod.get_file(s, file_id)
            if actor is not None:
                visibility.require_read_file(s, actor, file)
            return file.file_no, export.build(s, file, self._pdfs(s, file))

    def _pdfs(self, s: Session, file: File) -> dict[str, bytes]:
        """The stored PDFs of the file's correspondence, by SHA-256, each re-checked
        against its hash as it is read (engine/domain/uploads.py); one missing or altered on
        disk is left out, and the export declares it missing."""
        digests = s.scalars(select(Receipt.pdf_sha256).join(
            Correspondence, Correspondence.receipt_id == Receipt.id).where(
            Correspondence.file_id == file.id, Receipt.pdf_sha256.is_not(None)))
        found: dict[str, bytes] = {}
        for digest in digests:
            if digest is None:  # excluded by the query; narrows the type
                continue
            document = s.get(Document, digest)
            if document is None:
                continue
            try:
                found[digest] = uploads.read(self.settings.data_dir,
                                             document)
            except uploads.StoredFileAltered:
                continue
        return found
