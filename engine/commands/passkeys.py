"""Passkey actions of the service layer (a mixin of `Sanchika`): an officer's passkeys
(register, list, revoke) and the approval challenges. The approval itself goes through the
approve commands (`_act` for a file, `approve_draft` for a draft), which verify the
assertion in their own transaction (engine/audit/passkeys.py)."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from engine.audit import passkey_proof as proof
from engine.audit import passkeys
from engine.audit.keys import AuditKeys
from engine.commands.executor import CommandRunner
from engine.commands.people import audit
from engine.domain import drafts, org, visibility
from engine.domain import files as files_mod
from engine.errors import ActionNotAllowed, Forbidden, InvalidInput, NotFound
from engine.store.models import Instance, OpenTask, User, utcnow

if TYPE_CHECKING:
    from engine.config import Settings
    from engine.store.db import Database

FILE_PROCESS = "file_approval"
REGISTER = "register"
APPROVE = "approve"


class PasskeyServices(CommandRunner):
    db: Database
    settings: Settings

    # ------------------------------------------------------------ nonces

    @cached_property
    def _nonce_key(self) -> bytes:
        return AuditKeys(self.settings.data_dir).derive("passkey-nonce")

    def _nonce_secret(self) -> bytes:
        return self._nonce_key

    def _nonce(self, purpose: str, actor: User) -> str:
        return proof.make_nonce(self._nonce_secret(), purpose, actor.id, utcnow().timestamp())

    def _check_nonce(self, nonce: Any, purpose: str, actor: User) -> str:
        problem = proof.nonce_problem(self._nonce_secret(), str(nonce or ""), purpose, actor.id,
                                      utcnow().timestamp())
        if problem:
            raise InvalidInput(f"passkey.nonce: {problem}")
        return str(nonce)

    # ------------------------------------------------------------ my passkeys

    def my_passkeys(self, actor: User) -> list[dict[str, Any]]:
        with self.db.reader() as s:
            return [passkeys.row(k) for k in passkeys.of_user(s, actor)]

    def passkey_registration_options(self, actor: User, origin: str) -> dict[str, Any]:
        with self.db.reader() as s:
            return passkeys.registration_options(s, actor, origin,
                                                 self._nonce(REGISTER, actor))

    def register_passkey(self, actor: User, credential: Any, nonce: Any, origin: str,
                         name: str = "") -> dict[str, Any]:
        nonce = self._check_nonce(nonce, REGISTER, actor)
        with self.command(actor) as s:
            key = passkeys.register(s, actor, credential, nonce, origin, name)
            audit(s, actor, "passkey_registered", actor.username,
                  {"passkey_id": key.id, "name": key.name, "rp_id": key.rp_id,
                   "credential_id": key.credential_id})
            return passkeys.row(key)

    def revoke_passkey(self, actor: User, passkey_id: int) -> dict[str, Any]:
        """Revoke one of my passkeys (the audit log records it; revoking again is a no-op)."""
        with self.command(actor) as s:
            key = passkeys.revoke(s, actor, passkey_id)
            if key.revoked_at is not None and s.is_modified(key):
                audit(s, actor, "passkey_revoked", actor.username,
                      {"passkey_id": key.id, "name": key.name,
                       "credential_id": key.credential_id})
            return passkeys.row(key)

    # ------------------------------------------------------------ approval challenges

    def task_approval_options(self, actor: User, task_id: int, origin: str) -> dict[str, Any]:
        """The challenge for approving the file of task `task_id` with a passkey."""
        with self.db.reader() as s:
            task = s.get(OpenTask, task_id)
            if task is None or task.closed_at is not None:
                raise NotFound(f"no open task with id {task_id}")
            if task.post_id not in org.acting_post_ids(s, actor):
                raise Forbidden("this task is not in your inbox")
            if task.kind != "file" or "approve" not in task.actions.split(","):
                raise ActionNotAllowed(f"action: approve is not allowed at '{task.name}'")
            action = self._approval_action(s, task, "approve")
            return passkeys.approval_options(s, actor, "file", task.file_id or 0, action,
                                             origin, self._nonce(APPROVE, actor))

    def draft_approval_options(self, actor: User, draft_id: int, origin: str
                               ) -> dict[str, Any]:
        with self.db.reader() as s:
            draft = drafts.get(s, draft_id)
            visibility.require_read_file(s, actor, files_mod.get_file(s, draft.file_id))
            return passkeys.approval_options(s, actor, "draft", draft.id, "approve", origin,
                                             self._nonce(APPROVE, actor))

    @staticmethod
    def _approval_action(s: Session, task: OpenTask, action: str) -> str:
        """The action as signed: the approval of a reopening is `approve:<process>`."""
        instance = s.get(Instance, task.instance_id)
        if instance is not None and instance.process_id != FILE_PROCESS:
            return f"{action}:{instance.process_id}"
        return action

    # ------------------------------------------------------------ inside approve commands

    def _passkey_or_fallback(self, assertion: Any) -> dict[str, Any] | None:
        """The passkey assertion sent with an approval, or None where the server-held key
        may sign instead; refuses an approval without one where passkeys are required."""
        if assertion:
            if not isinstance(assertion, dict):
                raise InvalidInput("passkey: send the nonce and the browser's credential")
            return assertion
        if self.settings.passkey_approvals == "required":
            raise InvalidInput("passkey: this installation requires approvals to be signed "
                               "with your passkey; register one under My settings")
        return None

    def _sign_with_passkey(self, s: Session, actor: User, subject: str, subject_id: int,
                           action: str, assertion: dict[str, Any], instance: Instance | None
                           ) -> None:
        nonce = self._check_nonce(assertion.get("nonce"), APPROVE, actor)
        passkeys.sign_approval(s, actor, subject=subject, subject_id=subject_id,
                               action=action, assertion={**assertion, "nonce": nonce},
                               instance=instance)
