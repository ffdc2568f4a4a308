"""The search index: the words it cuts, and rebuilding it from the records (what the
migration does for existing databases) gives exactly what the write hooks keep."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select, text

from engine.search import index as search
from engine.store.access_models import SearchDoc


def test_rebuilt_index_matches_the_kept_one(demo, users):
    clerk = users["clerk"]
    file = demo.open_file(clerk, "आवास आवंटन", "11011")
    demo.add_note(clerk, file["id"], "समिति की बैठक में विचार किया जाए।")

    def snapshot() -> list[tuple]:
        with demo.db.reader() as s:
            return [tuple(r) for r in s.execute(
                select(SearchDoc.kind, SearchDoc.item_id, SearchDoc.number, SearchDoc.subject,
                       SearchDoc.sender, SearchDoc.body, SearchDoc.terms)
                .order_by(SearchDoc.kind, SearchDoc.item_id))]

    kept = snapshot()
    assert ("file", file["id"]) in {(k, i) for k, i, *_ in kept}
    with demo.db.write_engine.begin() as conn:
        conn.execute(delete(SearchDoc))
        rows = list(search.document_rows(conn))
        conn.execute(SearchDoc.__table__.insert(), rows)
    assert snapshot() == kept
    with demo.db.reader() as s:
        hits = search.matching(s, users["auditor"], "बैठक")
        assert [(d.kind, d.item_id) for d in hits] == [("file", file["id"])]
    if demo.db.is_sqlite:  # the FTS index agrees with its content table (raises if not)
        with demo.db.write_engine.begin() as conn:
            conn.execute(text("INSERT INTO search_fts(search_fts) VALUES ('integrity-check')"))


def test_postgresql_search_uses_the_gin_index(demo, users):
    """The query the service runs can be answered from the GIN index over the stored
    vector (ix_search_docs_vector), for an auditor and for an officer."""
    if demo.db.is_sqlite:
        pytest.skip("PostgreSQL only")
    for who in ("auditor", "so"):
        with demo.db.reader() as s:
            query = search.matching_query(s, users[who], "वेतन निर्धारण")
            sql = str(query.compile(dialect=s.get_bind().dialect,
                                    compile_kwargs={"literal_binds": True}))
        with demo.db.engine.connect() as conn:
            conn.execute(text("SET enable_seqscan = off"))
            plan = "\n".join(conn.execute(text("EXPLAIN " + sql)).scalars())
            assert "Seq Scan" not in plan, plan
            # the match itself is answered by the GIN index over the stored vector
            conn.execute(text("SET enable_indexscan = off"))
            plan = "\n".join(conn.execute(text(
                "EXPLAIN SELECT id FROM search_docs WHERE vector @@ to_tsquery('simple', :q)"),
                {"q": "'वेतन':*"}).scalars())
        assert "ix_search_docs_vector" in plan, plan
