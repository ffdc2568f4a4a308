"""The BPMN runtime, knowing nothing of files or dak: reading and validating uploaded diagrams
(reader), deployed versions parsed once (definitions), running instances and their query
rows (runtime), workflow state without its spec (codec), the restricted script engine
(sandbox), the handler API, and deterministic re-execution.
"""
