"""Versions under control (a mixin of Sanchika): make any deployed version current
(rollback), suspend and resume a version, and migrate running instances from one version
to another — a dry run listing where each token would land, then one command per
instance. Designers and administrators only, as deploying is; each act is in the audit
log, and each move is in the instance's history."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine.commands.executor import CommandRunner
from engine.commands.people import audit
from engine.domain import org
from engine.errors import Conflict, InvalidInput, NotFound, SanchikaError
from engine.store.models import File, Instance, ProcessDefinition, Receipt, User

if TYPE_CHECKING:
    from engine.bpm.runtime import Runtime
    from engine.store.db import Database

VERSION_ROLES = ("designer", "admin")
MAX_MAPPING = 200


def _version(s: Session, process_id: str, version: Any, field: str = "version"
             ) -> ProcessDefinition:
    try:
        number = int(version)
    except (TypeError, ValueError):
        raise InvalidInput(f"{field}: a version number") from None
    definition = s.scalar(select(ProcessDefinition).where(
        ProcessDefinition.process_id == process_id, ProcessDefinition.version == number))
    if definition is None:
        raise NotFound(f"{field}: no version {number} of process '{process_id}'")
    return definition


def clean_mapping(mapping: Any) -> dict[str, str]:
    """An explicit mapping {step in the running version: step in the target}."""
    if mapping is None:
        return {}
    if not isinstance(mapping, dict) or len(mapping) > MAX_MAPPING or not all(
            isinstance(k, str) and isinstance(v, str) and 0 < len(k) <= 128
            and 0 < len(v) <= 128 for k, v in mapping.items()):
        raise InvalidInput(f"mapping: an object of at most {MAX_MAPPING} element ids, "
                           "{\"old step\": \"new step\"}")
    return dict(mapping)


def _subject(s: Session, instance: Instance) -> str | None:
    if instance.subject_kind == "file" and instance.subject_id is not None:
        return s.scalar(select(File.file_no).where(File.id == instance.subject_id))
    if instance.subject_kind == "receipt" and instance.subject_id is not None:
        return s.scalar(select(Receipt.diary_no).where(Receipt.id == instance.subject_id))
    return None


class VersionServices(CommandRunner):
    db: Database
    runtime: Runtime

    def make_current(self, actor: User, process_id: str, version: Any) -> dict[str, Any]:
        """New instances of the process start on this version from now on (rollback)."""
        org.require_role(actor, *VERSION_ROLES)
        with self.command() as s:
            definition = _version(s, process_id, version)
            if definition.suspended:
                raise Conflict(f"version {definition.version} is suspended; resume it first")
            s.execute(update(ProcessDefinition).where(
                ProcessDefinition.process_id == process_id).values(is_current=False))
            definition.is_current = True
            audit(s, actor, "process_version_current", f"{process_id} v{definition.version}",
                  {"process_id": process_id, "version": definition.version})
            return self._version_row(definition)

    def suspend_version(self, actor: User, process_id: str, version: Any,
                        suspended: bool = True) -> dict[str, Any]:
        """A suspended version starts no new instance and its timer start events wait;
        instances already running on it go on. Resuming undoes both."""
        org.require_role(actor, *VERSION_ROLES)
        with self.command() as s:
            definition = _version(s, process_id, version)
            if definition.suspended == suspended:  # asked twice: already so
                return self._version_row(definition)
            definition.suspended = suspended
            audit(s, actor, "process_version_suspended" if suspended
                  else "process_version_resumed", f"{process_id} v{definition.version}",
                  {"process_id": process_id, "version": definition.version})
            return self._version_row(definition)

    @staticmethod
    def _version_row(d: ProcessDefinition) -> dict[str, Any]:
        return {"process_id": d.process_id, "version": d.version, "current": d.is_current,
                "suspended": d.suspended}

    def migrate_instances(self, actor: User, process_id: str, from_version: Any,
                          to_version: Any, mapping: Any = None, *, dry_run: bool = True,
                          limit: int = 500) -> dict[str, Any]:
        """Every running instance of one version, planned onto another (dry run) or moved
        there one command per instance: an instance whose tokens cannot all be mapped, or
        that changed meanwhile, stays where it is and says why."""
        org.require_role(actor, *VERSION_ROLES)
        moves = clean_mapping(mapping)
        with self.db.reader() as s:
            source = _version(s, process_id, from_version, "from_version")
            target = _version(s, process_id, to_version, "to_version")
            if source.id == target.id:
                raise InvalidInput("to_version: the instances already run on that version")
            ids = list(s.scalars(select(Instance.id).where(
                Instance.definition_id == source.id, Instance.status == "running")
                .order_by(Instance.id).limit(limit)))
        rows = [self._migrate_one(actor, i, target.id, moves, dry_run) for i in ids]
        return {"process_id": process_id, "from_version": source.version,
                "to_version": target.version, "dry_run": dry_run, "instances": rows,
                "movable": sum(1 for r in rows if r["can_migrate"]),
                "migrated": sum(1 for r in rows if r["migrated"])}

    def migrate_instance(self, actor: User, instance_id: int, to_version: Any,
                         mapping: Any = None, *, dry_run: bool = True) -> dict[str, Any]:
        org.require_role(actor, *VERSION_ROLES)
        moves = clean_mapping(mapping)
        with self.db.reader() as s:
            instance = s.get(Instance, instance_id)
            if instance is None:
                raise NotFound(f"no instance {instance_id}")
            target = _version(s, instance.process_id, to_version, "to_version")
        return self._migrate_one(actor, instance_id, target.id, moves, dry_run)

    def _migrate_one(self, actor: User, instance_id: int, target_id: int,
                     moves: dict[str, str], dry_run: bool) -> dict[str, Any]:
        row: dict[str, Any] = {"instance_id": instance_id, "subject": None, "tokens": [],
                               "problems": [], "can_migrate": False, "migrated": False}
        try:  # a dry run only reads (and so reads in a reader's snapshot)
            with (self.db.reader() if dry_run else self.command()) as s:
                instance = s.get(Instance, instance_id)
                target = s.get(ProcessDefinition, target_id)
                if instance is None or target is None:
                    raise NotFound(f"no instance {instance_id}")
                row.update(subject_kind=instance.subject_kind, subject=_subject(s, instance),
                           from_version=instance.definition.version)
                if instance.definition_id == target.id:
                    raise Conflict("already runs on that version")
                plan = self.runtime.migrate(s, instance, target, moves, actor=actor,
                                            dry_run=dry_run)
                row.update(tokens=[t.as_dict() for t in plan.tokens], problems=plan.problems,
                           can_migrate=not plan.problems)
                if not dry_run and not plan.problems:
                    row["migrated"] = True
                    audit(s, actor, "instance_migrated", f"instance {instance_id}",
                          {"to_version": target.version, "moves": plan.mapping})
        except SanchikaError as exc:
            row.update(problems=[exc.message], can_migrate=False, migrated=False)
        return row
