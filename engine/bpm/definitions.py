"""Deployed process versions: validate once, store by content hash, parse once per version."""

from __future__ import annotations

import hashlib
import threading

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.bpm.reader import ReadBpmn, read_bpmn
from engine.errors import NotFound
from engine.store import config_cache
from engine.store.models import ProcessDefinition


def _load_latest(session: Session) -> dict[str, tuple[int, int]]:
    found: dict[str, tuple[int, int]] = {}
    for id_, process_id, version in session.execute(
            select(ProcessDefinition.id, ProcessDefinition.process_id, ProcessDefinition.version)
            .order_by(ProcessDefinition.version)):
        found[process_id] = (id_, version)
    return found


class Definitions:
    def __init__(self, handler_names: set[str], max_bytes: int):
        self.handler_names = handler_names
        self.max_bytes = max_bytes
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
        read = self._read(xml)
        process_id = read.process_id
        latest = session.scalar(
            select(func.max(ProcessDefinition.version)).where(
                ProcessDefinition.process_id == process_id)) or 0
        definition = ProcessDefinition(
            process_id=process_id, version=latest + 1, content_hash=digest,
            bpmn_xml=xml.decode("utf-8"), meta=read.meta, deployed_by=deployed_by)
        session.add(definition)
        session.flush()
        with self._lock:
            self._specs[digest] = read
        return definition, True

    def latest(self, session: Session, process_id: str) -> ProcessDefinition:
        definition = session.scalar(
            select(ProcessDefinition).where(ProcessDefinition.process_id == process_id)
            .order_by(ProcessDefinition.version.desc()).limit(1))
        if definition is None:
            raise NotFound(f"process '{process_id}' is not deployed; run 'sanchika init'")
        return definition

    def latest_ref(self, session: Session, process_id: str) -> tuple[int, int]:
        """(id, version) of the process's latest version, from the configuration cache (a
        deploy in this process drops it; another process sees it within seconds)."""
        found = config_cache.get("latest_definitions", session, _load_latest).get(process_id)
        if found is None:  # deployed in another process within the cache's lifetime
            definition = self.latest(session, process_id)
            return definition.id, definition.version
        return found

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
            read = self._read(definition.bpmn_xml.encode("utf-8"))
            with self._lock:
                read = self._specs.setdefault(definition.content_hash, read)
        return read

    def _read(self, xml: bytes) -> ReadBpmn:
        self.parse_count += 1
        return read_bpmn(xml, self.handler_names, self.max_bytes)
