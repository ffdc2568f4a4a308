"""bench/scale.py's copies are chains of their own: every copied event's hash is recomputed
for its new instance id and date (in SQL on PostgreSQL, in Python on SQLite) and each
copied instance records its new head, so `sanchika verify` re-hashes them as intact."""

from __future__ import annotations

import random
import sys
from pathlib import Path

from sqlalchemy import func, select

from engine.audit import history, verify_run
from engine.store.models import Instance

BENCH = Path(__file__).resolve().parents[2] / "bench"


def test_copied_histories_verify_as_chains_of_their_own(demo):
    sys.path.insert(0, str(BENCH))
    try:
        import scale
    finally:
        sys.path.remove(str(BENCH))
    with demo.db.reader() as s:
        before = s.scalar(select(func.max(Instance.id)))
    scale.build(demo, 10, random.Random(3), lambda _msg: None)  # noqa: S311 - a bench's choices
    with demo.db.reader() as s:
        copies = list(s.execute(select(Instance.id, Instance.event_count,
                                       Instance.last_event_hash)
                                .where(Instance.id > before).order_by(Instance.id)))
        assert len(copies) > 20  # the two templates' instances and their ten copies
        heads = set()
        for row in copies:
            events = history.events(s, row.id)
            assert history.verify_chain(events) is None, row.id
            assert (row.event_count, row.last_event_hash) == (events[-1].seq, events[-1].hash)
            heads.add(row.last_event_hash)
        assert len(heads) == len(copies)  # no copy shares a template's chain
    # what the verification itself says: every chain intact, every instance re-executes
    # to its stored state. Only a copy's signature and its lock record still name the
    # template's file (the copier neither signs nor rewrites event data): the bench's
    # baseline re-checks the copies' chains, not those (bench/README.md, verify.py).
    report = verify_run.run(demo.db, keys=demo.audit_keys, definitions=demo.definitions,
                            full=True)
    assert report.instances == len(copies) + before
    chain_words = ("was altered", "missing or out of order", "last event hash",
                   "not counted", "re-executing")
    assert not [p for p in report.problems if any(w in p for w in chain_words)]
    template_only = ("signature does not verify", "belongs to another user", "not this one")
    assert all(any(w in p for w in template_only) for p in report.problems), report.problems
