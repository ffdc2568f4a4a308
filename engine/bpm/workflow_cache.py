"""Live workflows kept in memory between actions, so a file that moves often is not
deserialized on every action.

Keyed by instance id and valid only for the exact (version, stored state) it was saved
with: the row's optimistic-lock version moves on with every write from any process, and
the stored state is compared too (a cheap string compare), so a workflow whose row was
changed in any other way since is simply not used. An entry is taken out
(not copied) when an action uses it and put back only after that action commits, so a
rolled-back action never leaves its half-run workflow behind.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from sqlalchemy.orm import Session

from engine.store.models import Instance

DEFAULT_SIZE = 512
# session.info key of the running command (engine/commands/executor.py CONTEXT_KEY)
_COMMAND = "command_context"


class WorkflowCache:
    def __init__(self, size: int = DEFAULT_SIZE):
        self.size = size
        self._lock = threading.Lock()
        self._items: OrderedDict[int, tuple[int, str | None, BpmnWorkflow]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def take(self, instance: Instance) -> BpmnWorkflow | None:
        with self._lock:
            item = self._items.pop(instance.id, None)
        if item is None or item[0] != instance.version or item[1] != instance.state:
            self.misses += 1
            return None
        self.hits += 1
        return item[2]

    def keep_after_commit(self, session: Session, instance: Instance,
                          workflow: BpmnWorkflow) -> None:
        """Put the workflow back once the running command has committed."""
        ctx = session.info.get(_COMMAND)
        if ctx is None or self.size <= 0:
            return
        ctx.after_commit.append(lambda: self._put(instance, workflow))

    def _put(self, instance: Instance, workflow: BpmnWorkflow) -> None:
        state: dict[str, Any] = instance.__dict__  # never trigger a load after the commit
        version, head = state.get("version"), state.get("state")
        if version is None or state.get("status") != "running" or state.get("id") is None:
            return
        with self._lock:
            self._items[state["id"]] = (version, head, workflow)
            self._items.move_to_end(state["id"])
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
