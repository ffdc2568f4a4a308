"""Handlers that BPMN service tasks call by name (camunda:topic)."""

from engine.bpm.handler_api import HandlerRegistry

registry = HandlerRegistry()

# Importing the modules registers their handlers.
from . import escalate, lock_file, notify, put_in_file, reopen_file  # noqa: E402,F401
