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
from engine.commands.passkeys import PasskeyServices
from engine.domain import files as files_mod
from engine.domain import org, uploads, visibility
from engine.domain import receipts as receipts_mod
from engine.errors import NotFound
from engine.read import history_view
from engine.store.audit_models import UserKey
from engine.store.db import get_or_404
from engine.store.models import (
    Correspondence,
    Document,
    File,
    Instance,
    Note,
    Post,
    ProcessDefinition,
    Receipt,
    User,
)

if TYPE_CHECKING:
    from engine.audit.verify import Report
    from engine.bpm.definitions import Definitions
    from engine.config import Settings
    from engine.store.db import Database

FILE_PROCESS = "file_approval"


class AuditServices(PasskeyServices):
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

    def _sign_approval(self, s: Session, actor: User, task: Any, action: str,
                       assertion: dict[str, Any] | None = None) -> None:
        """Called by `_act` after an approval on a file, in its transaction. The approval of
        a reopening is signed too, as `approve:<process>`. With a passkey `assertion` the
        officer's device signed it; without one the server-held key signs (a fallback,
        where the installation allows it: `_passkey_or_fallback`)."""
        instance = get_or_404(s, Instance, task.instance_id)
        if instance.process_id != FILE_PROCESS:
            action = f"{action}:{instance.process_id}"
        if assertion is not None:
            self._sign_with_passkey(s, actor, "file", task.file_id, action, assertion, instance)
            return
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

    def replay_file(self, actor: User, file_id: int, at: int | None = None,
                    instance_id: int | None = None) -> dict[str, Any]:
        """`instance_id`: one of the processes the file went through (default: its
        current one)."""
        with self.db.reader() as s:
            file = files_mod.get_file(s, file_id)
            visibility.require_read_file(s, actor, file)
            if instance_id is not None:
                _require_instance_of(s, file, instance_id)
            return replay.replay(s, "file", file, at, instance_id=instance_id)

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

    # ------------------------------------------------------------ the auditor's room

    def history_page(self, actor: User, file_id: int, page: int = 1,
                     per_page: int = history_view.PER_PAGE) -> dict[str, Any]:
        """One page of the file's history (every process it went through), each event
        with its facts resolved for a plain-language sentence (engine/read/history_view)."""
        with self.db.reader() as s:
            file = files_mod.get_file(s, file_id)
            visibility.require_read_file(s, actor, file)
            names = {i["definition_id"]: self._step_names(s, i["definition_id"])
                     for i in self._definitions_of(s, file.id)}
            return history_view.file_history_page(s, file, page, per_page, names).as_dict()

    def replay_on_diagram(self, actor: User, file_id: int, instance_id: int | None = None,
                          at: int | None = None) -> dict[str, Any]:
        """The file as of event `at` of one of its processes (default: its current one),
        with the BPMN of the version that ran it and every process the file went through."""
        with self.db.reader() as s:
            file = files_mod.get_file(s, file_id)
            visibility.require_read_file(s, actor, file)
            instances = history_view.file_instances(s, file.id)
            instance_id = instance_id or file.instance_id
            if instance_id is None:
                raise NotFound(f"file {file.file_no} has no process history to replay")
            instance = _require_instance_of(s, file, instance_id)
            view = replay.replay(s, "file", file, at, instance_id=instance_id)
            definition = instance.definition
            view["diagram"] = {"process_id": definition.process_id,
                               "version": definition.version, "xml": definition.bpmn_xml}
            view["instances"] = instances
            view["step_names"] = self._step_names(s, definition.id)
            # posts in the process data (holder_post, creator_post…) by name, for reading
            post_ids = {v for k, v in view["data"].items() if k.endswith("_post")
                        and isinstance(v, int) and not isinstance(v, bool)}
            view["data_posts"] = {str(p.id): p.title for p in s.scalars(
                select(Post).where(Post.id.in_(post_ids)))} if post_ids else {}
            # the authors of notes and the signers, by name (the history records usernames)
            usernames = {n.get("author") for n in view.get("notes", [])} | {
                sig.get("signer") for sig in view.get("signatures", [])}
            usernames = {u for u in usernames if isinstance(u, str)}
            view["user_names"] = dict(s.execute(select(User.username, User.full_name).where(
                User.username.in_(usernames))).tuples().all()) if usernames else {}
            return view

    def history_event(self, actor: User, file_id: int, instance_id: int, seq: int
                      ) -> dict[str, Any]:
        """The facts of one event of the file's history, as on the history page."""
        with self.db.reader() as s:
            file = files_mod.get_file(s, file_id)
            visibility.require_read_file(s, actor, file)
            instance = _require_instance_of(s, file, instance_id)
            found = history_view.one_event(s, file, instance_id, seq,
                                           self._step_names(s, instance.definition_id))
            if found is None:
                raise NotFound(f"at: file {file.file_no} has no event #{seq} in process "
                               f"instance {instance_id}")
            return found

    def verify_file(self, actor: User, file_id: int) -> dict[str, Any]:
        """The checks of `sanchika verify` for one file (anyone who may read it)."""
        from engine.audit.verify import snapshot, verify_file

        with self.db.reader() as s:
            file = files_mod.get_file(s, file_id)
            visibility.require_read_file(s, actor, file)
        with snapshot(self.db) as s:
            file = files_mod.get_file(s, file_id)
            report = verify_file(s, file, keys=self.audit_keys, definitions=self.definitions)
            return _report_view(report, scope="file", file_no=file.file_no)

    def verify_installation(self, actor: User, reexecute: bool = True, run: bool = True
                            ) -> dict[str, Any] | None:
        """`sanchika verify` over the whole installation (auditor or admin), at once, in
        one read-only snapshot. `run` False only checks that the actor may (None)."""
        from engine.audit.verify import verify_database

        org.require_role(actor, "auditor", "admin")
        if not run:
            return None
        report = verify_database(self.db, keys=self.audit_keys,
                                 definitions=self.definitions if reexecute else None)
        return _report_view(report, scope="installation", file_no=None)

    def _definitions_of(self, s: Session, file_id: int) -> list[dict[str, Any]]:
        rows = s.execute(select(Instance.definition_id).where(
            Instance.subject_kind == "file", Instance.subject_id == file_id).distinct())
        return [{"definition_id": r.definition_id} for r in rows]

    def _step_names(self, s: Session, definition_id: int) -> dict[str, str]:
        return history_view.element_names(get_or_404(s, ProcessDefinition, definition_id))

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


def _report_view(report: Report, *, scope: str, file_no: str | None) -> dict[str, Any]:
    return {"scope": scope, "file_no": file_no, "intact": report.intact,
            "instances": report.instances, "events": report.events,
            "locked_files": report.locked_files, "checkpoints": report.checkpoints,
            "signatures": report.signatures, "reexecuted": report.reexecuted,
            "passkey_approvals": report.passkey_approvals,
            "problems": list(report.problems)}


def _require_instance_of(s: Session, file: File, instance_id: int) -> Instance:
    """The process instance, which must be one the file went through."""
    instance = s.get(Instance, instance_id)
    if instance is None or instance.subject_kind != "file" or instance.subject_id != file.id:
        raise NotFound(f"instance: file {file.file_no} went through no process instance "
                       f"{instance_id}")
    return instance
