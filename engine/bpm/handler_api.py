"""What a service-task handler receives, and the registry of handlers by name."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

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
# A handler may declare the application's richer context (a HandlerContext subclass that
# the runtime is configured to build, e.g. engine/domain/handler_context.py).
C = TypeVar("C", bound=HandlerContext)


class HandlerRegistry:
    def __init__(self) -> None:
        self._handlers: dict[str, Handler] = {}
        self.descriptions: dict[str, str] = {}

    def register(self, name: str, description: str
                 ) -> Callable[[Callable[[C], None]], Callable[[C], None]]:
        def wrap(fn: Callable[[C], None]) -> Callable[[C], None]:
            self._handlers[name] = cast(Handler, fn)
            self.descriptions[name] = description
            return fn
        return wrap

    def get(self, name: str) -> Handler:
        return self._handlers[name]

    def names(self) -> set[str]:
        return set(self._handlers)
