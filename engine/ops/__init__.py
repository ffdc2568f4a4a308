"""Running an installation: the background scheduler and its lease, backups and restore, the
scheduled backup job, and the demo organisation.
"""
