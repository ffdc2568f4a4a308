"""The `sanchika` command: main (init, demo, serve, deploy, verify, backup, restore) and its
audit and backup sub-commands.
"""
