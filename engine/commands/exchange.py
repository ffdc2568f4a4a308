"""The exchange between installations (a mixin of Sanchika): partners registered by an
administrator, a file sent to a partner's post as the signed export package through the
exchange outbox, and a package received from a partner put up as a verified electronic
receipt in that post's inbox."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from sqlalchemy import select

from engine.audit import export
from engine.commands.executor import CommandRunner
from engine.domain import files as files_mod
from engine.domain import org, receipts, uploads, visibility
from engine.errors import Conflict, InvalidInput, NotFound
from engine.exchange import envelope as envelopes
from engine.exchange import identity, receive, transport
from engine.intake.mailpdf import text_pdf
from engine.read import views
from engine.sla.policy import limit_for
from engine.store.exchange_models import ExchangeIn, ExchangeOut, Partner
from engine.store.models import Correspondence, File, OpenTask, Post, Receipt, User, utcnow

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from engine.bpm.runtime import Runtime
    from engine.config import Settings
    from engine.store.db import Database


class ExchangeServices(CommandRunner):
    db: Database
    settings: Settings
    runtime: Runtime

    if TYPE_CHECKING:  # provided by Sanchika
        def _act(self, s: Session, actor: User, task: OpenTask, body: dict[str, Any]
                 ) -> dict[str, Any]: ...
        def _pdfs(self, s: Session, file: File) -> dict[str, bytes]: ...

    # -------------------------------------------------------------- partners

    def installation(self) -> dict[str, Any]:
        """This installation's name and public key (what a partner registers)."""
        pem, key_id = identity.public(self.settings.data_dir)
        return {"name": self.settings.installation_name, "public_key": pem, "key_id": key_id}

    def register_partner(self, actor: User, name: str, url: str, public_key: str
                         ) -> dict[str, Any]:
        org.require_role(actor, "admin")
        name, url = (name or "").strip(), (url or "").strip()
        if not name or len(name) > 100:
            raise InvalidInput("name: required, at most 100 characters")
        if urlparse(url).scheme not in ("http", "https") or not urlparse(url).netloc:
            raise InvalidInput("url: an http(s) address, e.g. https://sanchika.district.gov.in")
        try:
            from engine.audit.signing import key_id_of, load_public

            key_id = key_id_of(load_public(public_key or ""))
        except ValueError:
            raise InvalidInput("public_key: not an Ed25519 public key in PEM form") from None
        with self.command() as s:
            if s.scalar(select(Partner.id).where(Partner.name == name)):
                raise Conflict(f"name: partner '{name}' is registered already")
            partner = Partner(name=name, url=url, public_pem=public_key, key_id=key_id,
                              registered_by=actor.id)
            s.add(partner)
            s.flush()
            return self._partner_row(partner)

    def partners(self, actor: User) -> list[dict[str, Any]]:
        with self.db.reader() as s:
            return [self._partner_row(p) for p in s.scalars(
                select(Partner).where(Partner.active.is_(True)).order_by(Partner.name))]

    @staticmethod
    def _partner_row(p: Partner) -> dict[str, Any]:
        return {"id": p.id, "name": p.name, "url": p.url, "key_id": p.key_id,
                "registered_at": views.iso(p.registered_at)}

    # -------------------------------------------------------------- sending

    def send_file_to_partner(self, actor: User, file_id: int, partner_name: str,
                             post: str, remark: str | None = None) -> dict[str, Any]:
        """Queue the file's signed export for a partner's post (delivered after commit
        by the exchange job, retried while the partner is down)."""
        org.require_post(actor)
        if not (post or "").strip():
            raise InvalidInput("post: the partner's post code is required")
        with self.command() as s:
            file = files_mod.get_file(s, file_id)
            visibility.require_read_file(s, actor, file)
            if file.holder_post_id not in org.acting_post_ids(s, actor):
                raise InvalidInput(f"file_id: file {file.file_no} is not with your post")
            partner = s.scalar(select(Partner).where(Partner.name == (partner_name or ""),
                                                     Partner.active.is_(True)))
            if partner is None:
                raise InvalidInput(f"partner: no registered partner '{partner_name}'")
            package = export.build(s, file, self._pdfs(s, file))
            # A file holding a receipt that came from this partner answers the partner's
            # file: the reply goes back into it.
            in_reply_to = s.scalar(select(ExchangeIn.number).join(
                Correspondence, Correspondence.receipt_id == ExchangeIn.receipt_id).where(
                Correspondence.file_id == file.id, ExchangeIn.partner_id == partner.id)
                .order_by(ExchangeIn.id.desc()).limit(1))
            sha = uploads.store_bytes(self.settings.data_dir, package)
            env = envelopes.make(
                sender=self.settings.installation_name, to=partner.name, to_post=post.strip(),
                kind="file", number=file.file_no, subject=file.subject,
                remark=(remark or "").strip()[:2000] or None,
                sent_at=utcnow().isoformat(), package=package, in_reply_to=in_reply_to)
            row = ExchangeOut(partner_id=partner.id, kind="file", item_id=file.id,
                              envelope=envelopes.canonical(env).decode(),
                              signature=envelopes.sign(
                                  identity.private_key(self.settings.data_dir), env),
                              package_sha256=sha, sent_by=actor.id, status="pending",
                              attempts=0, next_attempt_at=utcnow())
            s.add(row)
            s.flush()
            return self._out_row(row, partner)

    def exchange_outbox(self, actor: User) -> list[dict[str, Any]]:
        """Packages sent (or waiting to go): an administrator sees all, others their own."""
        with self.db.reader() as s:
            query = select(ExchangeOut, Partner).join(
                Partner, Partner.id == ExchangeOut.partner_id).order_by(
                ExchangeOut.id.desc()).limit(200)
            if actor.role != "admin":
                query = query.where(ExchangeOut.sent_by == actor.id)
            return [self._out_row(o, p) for o, p in s.execute(query).all()]

    @staticmethod
    def _out_row(o: ExchangeOut, p: Partner) -> dict[str, Any]:
        env = json.loads(o.envelope)
        return {"id": o.id, "partner": p.name, "post": env["to_post"], "kind": o.kind,
                "number": env["number"], "status": o.status, "attempts": o.attempts,
                "last_error": o.last_error, "created_at": views.iso(o.created_at),
                "delivered_at": views.iso(o.delivered_at)}

    def deliver_exchange(self) -> int:
        """Send the packages that are due (the scheduler's job)."""
        return transport.deliver_due(self.db, self.settings.data_dir)

    # -------------------------------------------------------------- receiving

    def receive_package(self, raw_envelope: str, signature: str, package: bytes
                        ) -> dict[str, Any]:
        """A partner's package: checked (engine/exchange/receive.py), then put up as an
        electronic receipt in the addressed post's inbox, all in one transaction."""
        with self.command() as s:
            partner, env, found = receive.check(s, self.settings.installation_name,
                                                raw_envelope, signature, package)
            original = self._original_file(s, partner, env)
            post = s.get(Post, original.holder_post_id) if original is not None \
                and original.holder_post_id else \
                s.scalar(select(Post).where(Post.code == env["to_post"]))
            if post is None:
                raise InvalidInput(f"to_post: no post '{env['to_post']}' here")
            holder = s.scalar(select(User).where(User.post_id == post.id,
                                                 User.active.is_(True)).limit(1))
            if holder is None:
                raise InvalidInput(f"to_post: no one holds post '{post.code}' here")
            receipt = self._put_up(s, holder, partner, env, found, package)
            if original is not None and not original.locked and original.status != "closed":
                # the reply (or the returned file) is put up in the file it answers
                s.flush()
                task = s.scalar(select(OpenTask).where(OpenTask.receipt_id == receipt.id,
                                                       OpenTask.closed_at.is_(None)))
                if task is None:
                    raise Conflict(f"receipt {receipt.diary_no} has no open task to act on")
                self._act(s, holder, task, {"action": "put_in_file", "file_id": original.id})
            s.add(ExchangeIn(partner_id=partner.id, nonce=env["nonce"], number=env["number"],
                             envelope=raw_envelope, package_sha256=env["package_sha256"],
                             receipt_id=receipt.id))
            s.flush()
            return {"receipt_id": receipt.id, "diary_no": receipt.diary_no,
                    "file_id": original.id if original is not None else None,
                    "verified": True, "events": found["events"],
                    "signatures": found["signatures"]}

    @staticmethod
    def _original_file(s: Session, partner: Partner, env: dict[str, Any]) -> File | None:
        """The file of ours a package answers: named by in_reply_to, and sent to this
        very partner before (a partner cannot put papers into any file it names)."""
        if not env.get("in_reply_to"):
            return None
        file = s.scalar(select(File).where(File.file_no == env["in_reply_to"]))
        if file is None or not s.scalar(select(ExchangeOut.id).where(
                ExchangeOut.partner_id == partner.id, ExchangeOut.kind == "file",
                ExchangeOut.item_id == file.id)):
            return None
        return file

    def _put_up(self, s: Session, holder: User, partner: Partner, env: dict[str, Any],
                found: dict[str, Any], package: bytes) -> Receipt:
        content = found["file"].get("content") or {}
        lines = [f"Received from {partner.name}, verified "
                 f"({found['events']} history events, {found['signatures']} signature(s))",
                 f"File: {env['number']}", f"Subject: {env['subject']}",
                 f"Sent: {env['sent_at']}", f"Remark: {env['remark'] or ''}", "", "Notes:"]
        lines += [f"{n.get('para_no')}. {n.get('text')}" for n in content.get("notes") or []]
        uploads.store_bytes(self.settings.data_dir, package)  # kept, by hash
        document = uploads.store_pdf(s, self.settings.data_dir,
                                     self.settings.max_upload_bytes,
                                     text_pdf(lines, env["number"]),
                                     f"{env['number'].replace('/', '-')}.pdf", holder)
        receipt = receipts.diarise(s, holder, {
            "sender": f"{partner.name} (verified)", "subject": env["subject"],
            "mode": "electronic", "form": "electronic", "letter_ref": env["number"],
            "letter_date": env["sent_at"][:10], "pdf_sha256": document.sha256})
        receipt.remark = (f"received from {partner.name}, verified: file {env['number']}"
                          + (f" — {env['remark']}" if env["remark"] else ""))[:2000]
        instance, _result = self.runtime.start(
            s, "dak_receipt",
            {"receipt_id": receipt.id, "holder_post": holder.post_id,
             "sla_duration": limit_for("Normal", self.settings.sla_default)},
            actor=holder, subject_kind="receipt", subject_id=receipt.id)
        receipt.instance_id = instance.id
        return receipt

    def received_package(self, actor: User, receipt_id: int) -> tuple[bytes, str]:
        """The package a received receipt came in (for anyone who may read the receipt)."""
        with self.db.reader() as s:
            receipt = receipts.get_receipt(s, receipt_id)
            visibility.require_read_receipt(s, actor, receipt)
            row = s.scalar(select(ExchangeIn).where(ExchangeIn.receipt_id == receipt_id))
            if row is None:
                raise NotFound(f"receipt {receipt.diary_no} did not come from a partner")
            return (uploads.read_bytes(self.settings.data_dir, row.package_sha256),
                    f"{row.number.replace('/', '-')}.zip")
