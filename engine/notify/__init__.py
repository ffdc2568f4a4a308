"""Notifications: the catalogue of texts (messages), notices by event (notices), the outbox
written inside the action's transaction (outbox), and delivery after commit (delivery).
"""
