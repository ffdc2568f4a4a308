"""What a service-task handler receives, and the registry of handlers by name."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from engine.store.models import Instance, User


@dataclass
class HandlerContext:
    session: Session
    instance: Instance
    task_spec: str          # BPMN id of the service task
    data: dict[str, Any]    # the task's data; a handler may add to it
    actor: User | None      # who caused this step (None for timers)
    results: dict[str, Any] = field(default_factory=dict)  # recorded in history


Handler = Callable[[HandlerContext], None]


class HandlerRegistry:
    def __init__(self) -> None:
        self._handlers: dict[str, Handler] = {}
        self.descriptions: dict[str, str] = {}

    def register(self, name: str, description: str) -> Callable[[Handler], Handler]:
        def wrap(fn: Handler) -> Handler:
            self._handlers[name] = fn
            self.descriptions[name] = description
            return fn
        return wrap

    def get(self, name: str) -> Handler:
        return self._handlers[name]

    def names(self) -> set[str]:
        return set(self._handlers)
