"""Full-text search over files and receipts, in Hindi and English.

Each file and receipt has one row in `search_docs`: its number, subject, sender and (for a
file) the text of its green notes, plus `terms`, the same text cut into words by
`words()` and lower-cased. The database indexes `terms`: SQLite with an FTS5 table whose
tokenizer keeps Devanagari vowel signs inside words, PostgreSQL with the stored column
`vector` = to_tsvector('simple', terms) (set by a trigger, GIN-indexed; 'simple' does no
stemming, so it works for both languages). A query ranks a bounded set of candidates, the
newest matches the actor may read (see `matching_query`). For a reader of a part (an
officer) on PostgreSQL, rare words are looked up in the index first and only their few
matches checked against the visibility rules; common words walk the reader's own items
newest (highest item id) first and stop at the CANDIDATES-th match. So when more match,
the ranked set is the reader's most recent visible matches, not the best of all of them.
Numbers are indexed by their parts too, so "11011" finds GAD/EST/11011/7/2026.

The index is kept in step inside the writing command: `SearchIndexer`, one of the command's
listeners, notes every new or changed file, receipt and note at each flush and brings their
documents in step just before commit. Code that confirms a note some other way can call
`index_note(session, note)`.
"""

from __future__ import annotations

import time
import unicodedata
from collections.abc import Iterable, Iterator
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    Table,
    TextClause,
    and_,
    bindparam,
    case,
    column,
    delete,
    false,
    func,
    insert,
    inspect,
    select,
    table,
    text,
    union_all,
    update,
)
from sqlalchemy.orm import Session

from engine.domain import visibility
from engine.ocr import text as ocr_text
from engine.store.access_models import SearchDoc
from engine.store.db import rows_changed
from engine.store.driver_sql import driver_statement
from engine.store.models import File, FileDocument, Note, Receipt, User

SNIPPET_CHARS = 160
MAX_QUERY_WORDS = 12
# the SQLite FTS5 table (created by the migration, kept in step by triggers on search_docs)
FTS = table("search_fts", column("rowid"), column("rank"))


def words(value: str | None) -> list[str]:
    """Lower-cased words: runs of letters, digits and combining marks (matras, virama,
    nukta). Everything else (spaces, punctuation, '/', '-', the danda) separates."""
    out: list[str] = []
    current: list[str] = []
    for ch in (value or "").lower():
        if unicodedata.category(ch)[0] in "LNM":
            current.append(ch)
        elif current:
            out.append("".join(current))
            current = []
    if current:
        out.append("".join(current))
    return out


def green_notes() -> ColumnElement:
    """Which notes are searchable: only green (confirmed) ones. Every row of `notes` is a
    green note today; if drafts ever share the table, narrow this clause."""
    return Note.id.is_not(None)


# ------------------------------------------------------------------ documents


def _file_docs(conn: Connection | Session, ids: Iterable[int] | None, scans: bool = True
               ) -> Iterator[dict[str, Any]]:
    query = select(File.id, File.file_no, File.subject)
    if ids is not None:
        query = query.where(File.id.in_(list(ids)))
    for file_id, number, subject in conn.execute(query).all():
        notes = conn.execute(select(Note.text).where(Note.file_id == file_id, green_notes())
                             .order_by(Note.para_no, Note.id)).scalars().all()
        scanned = ocr_text.text_for(conn, "file", file_id) if scans else ""
        body = "\n".join([*notes, scanned]).strip()
        yield _doc("file", file_id, number, subject, None, body, [])


def _receipt_docs(conn: Connection | Session, ids: Iterable[int] | None, scans: bool = True
                  ) -> Iterator[dict[str, Any]]:
    query = select(Receipt.id, Receipt.diary_no, Receipt.subject, Receipt.sender,
                   Receipt.letter_ref, Receipt.ack_no)
    if ids is not None:
        query = query.where(Receipt.id.in_(list(ids)))
    for rid, number, subject, sender, letter_ref, ack_no in conn.execute(query).all():
        # the scanned letter's own words (its text layer or OCR), once it has been read
        scanned = ocr_text.text_for(conn, "receipt", rid) if scans else ""
        yield _doc("receipt", rid, number, subject, sender, scanned, [letter_ref, ack_no])


def _doc(kind: str, item_id: int, number: str, subject: str, sender: str | None, body: str,
         extra: list[str | None]) -> dict[str, Any]:
    terms = " ".join(words(" ".join(filter(None, [number, subject, sender, body, *extra]))))
    return {"kind": kind, "item_id": item_id, "number": number, "subject": subject,
            "sender": sender, "body": body, "terms": terms}


def document_rows(conn: Connection) -> Iterator[dict[str, Any]]:
    """Every document, for building the index from scratch (the migration uses this,
    before the recognised-text tables exist; the OCR job re-indexes what it reads)."""
    yield from _file_docs(conn, None, scans=False)
    yield from _receipt_docs(conn, None, scans=False)


def reindex(session: Session, kind: str, ids: Iterable[int]) -> None:
    ids = sorted(set(ids))
    if not ids:
        return
    docs = list(_file_docs(session, ids) if kind == "file" else _receipt_docs(session, ids))
    session.execute(delete(SearchDoc).where(SearchDoc.kind == kind, SearchDoc.item_id.in_(ids)))
    if docs:
        session.execute(insert(SearchDoc), docs)


def index_note(session: Session, note: Note) -> None:
    """Re-index the note's file now (e.g. right after a note is confirmed green)."""
    session.flush()
    reindex(session, "file", [note.file_id])


# ------------------------------------------------------------------ keeping in step

# Columns whose change re-indexes the item; None: any column (a note turning green, by
# whatever column says so, must reach the index).
_WATCHED: dict[type, tuple[str, ...] | None] = {
    File: File.SEARCHED,
    Receipt: ("diary_no", "subject", "sender", "letter_ref", "ack_no"),
    Note: None,
}


def _changed(obj: Any, fields: tuple[str, ...] | None) -> bool:
    state = inspect(obj)
    names = fields if fields is not None else [a.key for a in state.mapper.column_attrs]
    return any(state.attrs[name].history.has_changes() for name in names)


class SearchIndexer:
    """A command listener (engine/commands/executor.py): notes what each flush changed
    and brings the documents in step just before the command commits.

    Incremental where it can be: a new file or receipt gets its document from the object
    itself, and a new note is appended to its file's document with one UPDATE. Anything
    else (a changed subject, an edited note) rebuilds that item's document."""

    def __init__(self) -> None:
        self.created: dict[tuple[str, int], Any] = {}
        self.rebuild: set[tuple[str, int]] = set()
        self.appended: dict[int, list[str]] = {}
        self.scans = False  # documents were attached: their recognised text may count

    def flushed(self, ctx: Any) -> None:
        session = ctx.session
        for obj in session.new:
            self._new(obj)
        for obj in session.dirty:
            kind = _KINDS.get(type(obj))
            if kind is None or not _changed(obj, _WATCHED[type(obj)]):
                continue
            self.rebuild.add(("file", obj.file_id) if kind == "note" else (kind, obj.id))

    def inserted(self, _ctx: Any, objects: list[Any]) -> None:
        """New rows written outside the ORM's flush (engine/store/db.py)."""
        for obj in objects:
            self._new(obj)

    def _new(self, obj: Any) -> None:
        if isinstance(obj, FileDocument):
            self.scans = True
        kind = _KINDS.get(type(obj))
        if kind is None or obj.id is None:  # not in this (partial) flush
            return
        if kind == "note":
            self.appended.setdefault(obj.file_id, []).append(obj.text)
        else:
            self.created[(kind, obj.id)] = obj

    def before_commit(self, ctx: Any) -> None:
        session = ctx.session
        rebuild = set(self.rebuild)
        docs = []
        for key, obj in self.created.items():
            if key in rebuild:
                continue
            if key[0] == "file" and self.scans:
                rebuild.add(key)  # notes and recognised text come from the tables
            elif key[0] == "file":
                # made in this command: its notes are the ones appended here, in order
                notes = self.appended.pop(obj.id, [])
                docs.append(_doc("file", obj.id, obj.file_no, obj.subject, None,
                                 "\n".join(notes).strip(), []))
            else:
                docs.append(_doc("receipt", obj.id, obj.diary_no, obj.subject, obj.sender, "",
                                 [obj.letter_ref, obj.ack_no]))
        for file_id, texts in self.appended.items():
            if ("file", file_id) in rebuild:
                continue
            if not _append_notes(session, file_id, texts):
                rebuild.add(("file", file_id))
        if docs:  # one shape (_doc): one driver executemany (engine/store/driver_sql.py)
            conn = session.connection()
            driver_statement(conn, _INSERT_DOC, list(docs[0])).executemany(conn, docs)
        for kind in ("file", "receipt"):
            reindex(session, kind, [i for k, i in rebuild if k == kind])


_KINDS: dict[type, str] = {File: "file", Receipt: "receipt", Note: "note"}


def _append_notes(session: Session, file_id: int, texts: list[str]) -> bool:
    """Append new green notes to the file's document (one UPDATE); False when the file has
    no document yet."""
    body = "\n".join(texts)
    terms = " ".join(words(body))
    # each value bound twice under two names: PostgreSQL types every parameter once
    conn = session.connection()
    result = driver_statement(conn, _APPEND_NOTES).execute(conn, {
        "b_file": file_id, "b_body": body, "b_body_more": body,
        "b_terms": terms, "b_terms_more": terms})
    return bool(rows_changed(result))


_DOCS = cast(Table, SearchDoc.__table__)
_INSERT_DOC = insert(_DOCS)
# built once (every note written with an action appends to its file's document)
_APPEND_NOTES = update(_DOCS).where(
    _DOCS.c.kind == "file", _DOCS.c.item_id == bindparam("b_file")).values(
    body=case((_DOCS.c.body == "", bindparam("b_body", type_=_DOCS.c.body.type)),
              else_=_DOCS.c.body + "\n"
              + bindparam("b_body_more", type_=_DOCS.c.body.type)),
    terms=case((_DOCS.c.terms == "", bindparam("b_terms", type_=_DOCS.c.terms.type)),
               else_=_DOCS.c.terms + " "
               + bindparam("b_terms_more", type_=_DOCS.c.terms.type)))


# ------------------------------------------------------------------ querying


# Ranking reads only this many candidates: the newest matches the actor may read (plus an
# item whose number is exactly the query). A common word matches most of a million
# documents; ranking them all took seconds, the newest few hundred take milliseconds.
CANDIDATES = 400
# how many of the newest documents are walked in order before the full-text index is asked
RECENT = 10000
# A reader of a part (an officer) whose words are all rare: at most this many matches are
# taken from the full-text index first and only those are checked against what the actor
# may read. More than this: the actor's own items are walked instead (see matching_query).
RARE_HITS = 1000
# a word shorter than this is a prefix of too many words to be called rare
RARE_MIN_CHARS = 3
# PostgreSQL's statistics of the vector column: its most common words (what the planner
# itself reads; ANALYZE keeps them). Read again after COMMON_WORDS_SECONDS: they change
# only with ANALYZE, and a stale list changes only which way a search takes.
_COMMON_WORDS = text(
    "SELECT most_common_elems::text::text[] FROM pg_stats WHERE schemaname = current_schema()"
    " AND tablename = 'search_docs' AND attname = 'vector'")
COMMON_WORDS_SECONDS = 600.0
_common_words: dict[str, tuple[float, list[str]]] = {}


def _common(session: Session) -> list[str]:
    bind = session.get_bind()
    key = str(bind.engine.url)
    now = time.monotonic()
    known = _common_words.get(key)
    if known is None or now - known[0] > COMMON_WORDS_SECONDS:
        known = (now, list(session.scalar(_COMMON_WORDS) or []))
        _common_words[key] = known
    return known[1]


def _matches(session: Session, terms: list[str], name: str) -> tuple[ColumnElement[Any]
                                                                     | TextClause, Any, Any]:
    """(WHERE clause, join target or None, rank ORDER BY) for the dialect in use; `name`
    keeps each use's bound parameter apart."""
    if session.get_bind().dialect.name == "sqlite":
        fts = " AND ".join('"' + w.replace('"', '""') + '"*' for w in terms)
        return (text(f"search_fts MATCH :{name}").bindparams(**{name: fts}),
                (FTS, FTS.c.rowid == SearchDoc.id), FTS.c.rank)
    tsq = " & ".join("'" + w.replace("'", "''").replace("\\", "\\\\") + "':*" for w in terms)
    # the stored vector (migration 0019), GIN-indexed as ix_search_docs_vector
    where = text(f"search_docs.vector @@ to_tsquery('simple', :{name})").bindparams(
        **{name: tsq})
    rank = text(f"ts_rank(search_docs.vector, to_tsquery('simple', :{name}_rank)) DESC"
                ).bindparams(**{f"{name}_rank": tsq})
    return where, None, rank


def _candidates(session: Session, terms: list[str], kind: str | None, ids: Any, n: int
                ) -> Select:
    """The newest n matching documents (of one kind, among `ids`) as ids. More matches
    than n: these are the actor's most recent visible matches (newest items first), not
    the best ranked of all. On SQLite the visible ids are a top-level IN, which the
    database turns into a join driven by the actor's own (few) items rather than a
    filter over every match."""
    where, join, _rank = _matches(session, terms, f"q_{kind}")
    query = select(SearchDoc.id)
    if join is not None:
        query = query.join(*join)
    query = query.where(where)
    if ids is not None and join is None:
        # PostgreSQL: the actor's items newest (highest id) first, each probed by (kind,
        # item id) until n match. A common word stops after a few hundred probes instead
        # of one per item of the chain; the n found are the newest visible matches.
        mine = ids.subquery()
        item = mine.c[0]
        # sorted here: the join keeps this order and the LIMIT stops it (no sort of
        # every match afterwards)
        newest = select(item.label("item_id")).distinct().order_by(item.desc()).subquery()
        query = query.join(newest, and_(SearchDoc.kind == kind,
                                        SearchDoc.item_id == newest.c.item_id))
        return query.order_by(newest.c.item_id.desc()).limit(n)
    if ids is not None:
        query = query.where(SearchDoc.kind == kind, SearchDoc.item_id.in_(ids))
        return query.order_by(SearchDoc.id.desc()).limit(n)
    if kind is not None:  # `|| ''`: a filter, never an index the database could AND in
        query = query.where(SearchDoc.kind + "" == kind)
    # Everything readable: the newest RECENT documents are walked newest first (a common
    # word fills the candidates there at once); only if they hold too few matches are the
    # older matches taken from the full-text index alone (id + 0: neither walked in
    # primary-key order nor ANDed with a primary-key range). The database runs the second
    # part only when the first comes back short.
    floor = select(func.max(SearchDoc.id)).scalar_subquery() - RECENT
    recent = query.where(SearchDoc.id > floor).order_by(SearchDoc.id.desc()).limit(n)
    older = query.where(SearchDoc.id + 0 <= floor).order_by((SearchDoc.id + 0).desc()).limit(n)
    both = union_all(select(recent.subquery().c.id), select(older.subquery().c.id)).subquery()
    return select(both.c.id).limit(n)


def _exact(q: str, kind: str, ids: Any) -> Select:
    """The document whose number is exactly the query (ix_search_docs_number)."""
    number = q.strip()
    query = select(SearchDoc.id).where(SearchDoc.kind == kind,
                                       SearchDoc.number.in_({number, number.upper()}))
    return query if ids is None else query.where(SearchDoc.item_id.in_(ids))


def _all_rare(session: Session, terms: list[str]) -> bool:
    """No word is a prefix of one of the most common words (PostgreSQL's statistics):
    the full-text index finds each word's documents in a few pages. A word in a third of
    a million documents costs the index ~200 ms to list (a prefix's matches are listed
    in full before any is read), far more than walking an officer's items."""
    if any(len(w) < RARE_MIN_CHARS for w in terms):
        return False
    return not any(word.startswith(w) for w in terms for word in _common(session))


def _rare_matches(session: Session, terms: list[str], kind: str | None
                  ) -> list[tuple[int, str, int]] | None:
    """Every matching document as (id, kind, item id) when the words are rare and match at
    most RARE_HITS documents (PostgreSQL); None: walk the actor's items instead. Which way
    is taken changes only the time, never the result."""
    if session.get_bind().dialect.name != "postgresql" or not _all_rare(session, terms):
        return None
    where, _join, _rank = _matches(session, terms, "q_rare")
    query = select(SearchDoc.id, SearchDoc.kind, SearchDoc.item_id).where(where)
    if kind is not None:
        query = query.where(SearchDoc.kind + "" == kind)
    rows = [(i, k, item) for i, k, item in session.execute(query.limit(RARE_HITS + 1))]
    return None if len(rows) > RARE_HITS else rows


def _visible_hits(session: Session, actor: User, kind: str,
                  hits: list[tuple[int, str, int]], n: int) -> Select | None:
    """The newest n of these documents of one kind that the actor may read: the visibility
    rules asked about these items only."""
    mine = [(i, item) for i, k, item in hits if k == kind]
    if not mine:
        return None
    items = [item for _i, item in mine]
    ids = (visibility.file_ids(session, actor, among=items) if kind == "file"
           else visibility.receipt_ids(session, actor, among=items))
    query = select(SearchDoc.id).where(SearchDoc.id.in_([i for i, _item in mine]))
    if ids is not None:
        query = query.where(SearchDoc.item_id.in_(ids))
    # newest item first, as the walk of the actor's items (`_candidates`) takes them
    return query.order_by(SearchDoc.item_id.desc()).limit(n)


def matching(session: Session, actor: User, q: str, kind: str | None = None,
             limit: int = 50) -> list[SearchDoc]:
    """Documents matching every word of q (each as a word prefix), best first, limited
    to what the actor may read."""
    query = matching_query(session, actor, q, kind, limit)
    return [] if query is None else list(session.scalars(query))


def matching_query(session: Session, actor: User, q: str, kind: str | None = None,
                   limit: int = 50, offset: int = 0) -> Select | None:
    terms = words(q)[:MAX_QUERY_WORDS]
    if not terms:
        return None
    kinds = [kind] if kind else ["file", "receipt"]
    everything = visibility.sees_everything(actor)
    # rare words, read by a reader of a part: their few matches, then who may read them
    rare = None if everything else _rare_matches(session, terms, kind)
    numbered = any(ch.isdigit() for ch in q)
    visible: dict[str, Any] = {}
    if rare is None or numbered:
        visible = {"file": visibility.file_ids(session, actor),
                   "receipt": visibility.receipt_ids(session, actor)}
    n = max(CANDIDATES, offset + limit)
    pool: list[Any] = []
    if everything:  # one candidate set over both kinds
        pool.append(select(_candidates(session, terms, kind, None, n).subquery().c.id))
    for k in kinds:
        if rare is not None:
            found = _visible_hits(session, actor, k, rare, n)
            if found is not None:
                pool.append(select(found.subquery().c.id))
        elif not everything:
            pool.append(select(_candidates(session, terms, k, visible[k], n).subquery().c.id))
        if numbered:
            pool.append(select(_exact(q, k, visible[k]).subquery().c.id))
    if not pool:
        return select(SearchDoc).where(false())
    where, join, rank = _matches(session, terms, "q")
    query = select(SearchDoc)
    if join is not None:
        query = query.join(*join).where(where)
    # one top-level IN: a join on the primary key with the (bounded) candidates
    query = query.where(SearchDoc.id.in_(pool[0] if len(pool) == 1 else union_all(*pool)))
    # a query that is exactly an item's number (file or diary number) puts that item first
    exact = case((func.lower(SearchDoc.number) == q.strip().lower(), 0), else_=1)
    return query.order_by(exact, rank, SearchDoc.id.desc()).offset(offset).limit(limit)


def snippet(doc: SearchDoc, q: str) -> str:
    """The first place a query word occurs (notes, then subject, then sender), with some
    text around it."""
    wanted = words(q)
    for source in (doc.body, doc.subject, doc.sender or ""):
        low = source.lower()
        hits = [low.find(w) for w in wanted if low.find(w) >= 0]
        if hits:
            start = max(0, min(hits) - SNIPPET_CHARS // 3)
            piece = source[start:start + SNIPPET_CHARS].replace("\n", " ").strip()
            return ("…" if start else "") + piece + ("…" if start + SNIPPET_CHARS < len(source)
                                                     else "")
    return doc.subject[:SNIPPET_CHARS]


def result_row(doc: SearchDoc, q: str) -> dict[str, Any]:
    return {"kind": doc.kind, "id": doc.item_id, "number": doc.number, "subject": doc.subject,
            "sender": doc.sender, "snippet": snippet(doc, q)}
