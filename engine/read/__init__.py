"""Reads for the API, the CLI and the pages: JSON shapes of records (views, file_views) and
reports. Nothing here writes.
"""
