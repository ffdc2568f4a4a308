"""The schema that `alembic upgrade head` builds is the schema the models describe, on
SQLite and PostgreSQL (alembic's autogenerate comparison finds nothing to change), and
migrations never import application code."""

from __future__ import annotations

import ast
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

import engine.store.access_models
import engine.store.audit_models
import engine.store.file_models
import engine.store.sla_models
import engine.store.web_models  # noqa: F401 (every model module adds its tables to Base)
from engine.store import schema
from engine.store.models import Base

VERSIONS = Path(schema.MIGRATIONS) / "versions"
# Beside the models on purpose: SQLite's full-text index (search_fts and the shadow
# tables FTS5 keeps for it), APScheduler's job store (it makes its own), and PostgreSQL's
# GIN index over the stored search vector (engine/search/index.py queries it).
NOT_MODELLED_TABLES = ("search_fts", "scheduler_jobs")
NOT_MODELLED_INDEXES = ("ix_search_docs_terms", "ix_search_docs_vector")
# SQLite cannot add a foreign key to an existing table (migration 0013 adds these two on
# PostgreSQL only); nothing else may differ.
SQLITE_ONLY_MISSING_FKS = {("receipts", "copy_of_id"), ("receipts", "from_receipt_id")}


def _include(obj, name, type_, reflected, compare_to) -> bool:  # type: ignore[no-untyped-def]
    if type_ == "table" and name and name.startswith(NOT_MODELLED_TABLES):
        return False
    return not (type_ == "index" and name in NOT_MODELLED_INDEXES)


def _expected_on(dialect: str, difference) -> bool:  # type: ignore[no-untyped-def]
    if dialect != "sqlite" or not isinstance(difference, tuple) or difference[0] != "add_fk":
        return False
    fk = difference[1]
    return {(fk.table.name, c.name) for c in fk.columns} <= SQLITE_ONLY_MISSING_FKS


def test_upgraded_schema_matches_the_models(settings):
    db = create_engine(settings.database_url)
    try:
        schema.upgrade(db)
        with db.connect() as conn:
            context = MigrationContext.configure(conn, opts={
                "compare_type": True, "include_object": _include})
            differences = [d for d in compare_metadata(context, Base.metadata)
                           if not _expected_on(conn.dialect.name, d)]
    finally:
        db.dispose()
    assert differences == [], "\n".join(map(str, differences))


def test_migrations_import_no_application_code():
    for path in sorted(VERSIONS.glob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            assert not [n for n in names if n.split(".")[0] in ("engine", "web", "handlers")], \
                f"{path.name} imports {names}: a migration must not depend on live code"


def test_the_search_backfill_cuts_words_as_the_index_does():
    """0006 keeps its own copy of the word splitter; it must agree with today's on
    Hindi and English (a deliberate change to either should be a new migration)."""
    import importlib.util

    from engine.search.index import words

    spec = importlib.util.spec_from_file_location("m0006", VERSIONS / "0006_dak_people.py")
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for text in ("GAD/EST/11011/7/2026 Pay fixation", "वार्षिक अवकाश नियमावली में संशोधन।",
                 "Court case: service matter of Shri A. K. Tiwari", "", None):
        assert module.words(text) == words(text)
