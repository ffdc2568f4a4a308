"""Sanchika engine: BPMN runtime, domain records and services (no web imports)."""

# The one place the version is written; setup.cfg reads it (version = attr:).
__version__ = "0.2.0"
