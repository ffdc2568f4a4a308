"""Deployed process versions: validate once, store by content hash, parse once per version."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from engine.bpm import contracts, graph, routing
from engine.bpm.reader import ReadBpmn, parse_document, problem, read_bpmn
from engine.errors import ActionNotAllowed, InvalidBpmn, NotFound
from engine.store import config_cache
from engine.store.models import ProcessDefinition


def _load_current(session: Session) -> dict[str, tuple[int, int, bool]]:
    """(id, version, suspended) of each process's current version: the one marked current,
    else the newest (the order `Definitions.current` uses; the last row of a process wins)."""
    found: dict[str, tuple[int, int, bool]] = {}
    for id_, process_id, version, suspended in session.execute(
            select(ProcessDefinition.id, ProcessDefinition.process_id, ProcessDefinition.version,
                   ProcessDefinition.suspended)
            .order_by(ProcessDefinition.is_current, ProcessDefinition.version)):
        found[process_id] = (id_, version, suspended)
    return found


# Parsed versions shared by every `Definitions` of the process, by (content hash, handler
# names, size limit, stored): a deployed document never changes and its parsed spec is
# never mutated, so a second facade in one process (the test suite makes one per test)
# need not parse it again.
_PARSED: dict[tuple[str, frozenset[str], int, bool], ReadBpmn] = {}
_PARSED_LOCK = threading.Lock()


def _suspended(process_id: str, version: int) -> ActionNotAllowed:
    return ActionNotAllowed(
        f"process '{process_id}' version {version} is suspended: no new instances start on "
        "it until a designer resumes it or makes another version current")


class Definitions:
    def __init__(self, handler_names: set[str], max_bytes: int,
                 contracts_dir: Path | None = None):
        self.handler_names = handler_names
        self.max_bytes = max_bytes
        # processes/<id>.contract.toml: what the application relies on (contracts.py)
        self.contracts_dir = contracts_dir
        self._specs: dict[str, ReadBpmn] = {}
        self._by_id: dict[int, tuple[dict, ReadBpmn]] = {}
        self._lock = threading.Lock()
        self.parse_count = 0  # observable in tests: one parse per version per process

    def deploy(self, session: Session, xml: bytes, deployed_by: str | None
               ) -> tuple[ProcessDefinition, bool]:
        """Returns (definition, created). The same document deployed twice is one version."""
        digest = hashlib.sha256(xml).hexdigest()
        existing = session.scalar(
            select(ProcessDefinition).where(ProcessDefinition.content_hash == digest))
        if existing is not None:
            return existing, False
        read = self.check(xml)
        unknown = routing.unknown_names(session, read.routed)
        if unknown:
            raise routing.refusal(unknown)
        process_id = read.process_id
        latest = session.scalar(
            select(func.max(ProcessDefinition.version)).where(
                ProcessDefinition.process_id == process_id)) or 0
        # A new version becomes current: new instances start on it (rollback: make_current).
        session.execute(update(ProcessDefinition).where(
            ProcessDefinition.process_id == process_id).values(is_current=False))
        definition = ProcessDefinition(
            process_id=process_id, version=latest + 1, content_hash=digest,
            bpmn_xml=xml.decode("utf-8"), meta=read.meta, deployed_by=deployed_by,
            is_current=True, suspended=False)
        session.add(definition)
        session.flush()
        with self._lock:
            self._specs[digest] = read
        return definition, True

    def check(self, xml: bytes) -> ReadBpmn:
        """Everything deploy refuses: the reader's checks, then the shape of the graph
        (reachable, able to end) and the process's contract. Raises InvalidBpmn."""
        read = self._read(xml)
        root = parse_document(xml, self.max_bytes)
        contract = (contracts.load(self.contracts_dir, read.process_id)
                    if self.contracts_dir is not None else None)
        # The contract first: a missing step explains the unreachable ones after it.
        found = contracts.problems(contract, root, read.meta) if contract is not None else []
        found += graph.shape_problems(root)
        if found:
            details = [problem(p.element, p.message) for p in found]
            first = details[0]
            more = f"; and {len(details) - 1} more" if len(details) > 1 else ""
            raise InvalidBpmn(f"BPMN rejected: {first['message']} (element "
                              f"{first['element_id']}, line {first['line']}){more}", details)
        return read

    def latest(self, session: Session, process_id: str) -> ProcessDefinition:
        """The version new instances start on: the current one (refused if suspended)."""
        definition = self.current(session, process_id)
        if definition.suspended:
            raise _suspended(process_id, definition.version)
        return definition

    def current(self, session: Session, process_id: str) -> ProcessDefinition:
        definition = session.scalar(
            select(ProcessDefinition).where(ProcessDefinition.process_id == process_id)
            .order_by(ProcessDefinition.is_current.desc(), ProcessDefinition.version.desc())
            .limit(1))
        if definition is None:
            raise NotFound(f"process '{process_id}' is not deployed; run 'sanchika init'")
        return definition

    def latest_ref(self, session: Session, process_id: str) -> tuple[int, int]:
        """(id, version) of the version new instances start on (`latest`), from the
        configuration cache (a deploy, rollback or suspension in this process drops it;
        another process sees it within seconds). Refused while that version is suspended."""
        found = config_cache.get("current_definitions", session, _load_current).get(process_id)
        if found is None:  # deployed in another process within the cache's lifetime
            definition = self.latest(session, process_id)
            return definition.id, definition.version
        definition_id, version, suspended = found
        if suspended:
            raise _suspended(process_id, version)
        return definition_id, version

    def of_instance(self, session: Session, definition_id: int) -> tuple[dict, ReadBpmn]:
        """(meta, parsed spec) of a stored version by id: versions never change, so they
        are kept in-process after the first read (no query per action)."""
        found = self._by_id.get(definition_id)
        if found is None:
            definition = session.get(ProcessDefinition, definition_id)
            if definition is None:
                raise NotFound(f"no process definition {definition_id}")
            found = (definition.meta, self.loaded(definition))
            with self._lock:
                self._by_id[definition_id] = found
        return found

    def loaded(self, definition: ProcessDefinition) -> ReadBpmn:
        """The parsed spec for a stored version, parsed at most once per process."""
        read = self._specs.get(definition.content_hash)
        if read is None:
            key = (definition.content_hash, frozenset(self.handler_names), self.max_bytes,
                   True)
            read = _PARSED.get(key)
            if read is None:
                read = self._read(definition.bpmn_xml.encode("utf-8"), stored=True)
                with _PARSED_LOCK:
                    read = _PARSED.setdefault(key, read)
            with self._lock:
                read = self._specs.setdefault(definition.content_hash, read)
        return read

    def _read(self, xml: bytes, *, stored: bool = False) -> ReadBpmn:
        self.parse_count += 1
        return read_bpmn(xml, self.handler_names, self.max_bytes, stored=stored)
