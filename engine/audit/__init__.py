"""The audit trail: the hash-chained history, checkpoints, signed approvals and their keys,
replay, tamper verification and the verifiable export.
"""
