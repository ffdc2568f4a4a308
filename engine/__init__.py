"""Sanchika engine: BPMN runtime, domain records and services (no web imports)."""
