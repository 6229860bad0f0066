"""Full text: SQLite FTS5 or PostgreSQL's ``text_tsv`` column, the query's words as plain terms."""

from __future__ import annotations

from sqlalchemy import Select, column, func, literal_column, select, table, true
from sqlalchemy.orm import Session

from video_qa.models import Moment
from video_qa.search.filters import Filters
from video_qa.search.hits import CANDIDATES
from video_qa.search.query import STOPWORDS

TEXT_RANK_CAP = 1000  # full-text matches ranked per query at most (see text_matches)


def text_matches(session: Session, query_words: list[str], filters: Filters, limit: int = CANDIDATES,
                 any_word: bool = True) -> tuple[list[int], list[int]]:
    """Moment ids by full-text rank, best first, in two lists: the moments with every word, and,
    when those are few and ``any_word``, or when no moment holds every word, moments with any word
    (together at most ``limit``).

    Stop words are left out: they match nearly every moment and rank none (a query of stop words
    only is searched by its vector alone, or, with no vectors, by its words). The cost is bounded
    on any archive: at most ``TEXT_RANK_CAP`` matches are ranked (all of them when there are fewer;
    else the first ones the index yields), so a query of common words cannot rank a million rows."""
    terms = list(dict.fromkeys(w for w in query_words if w not in STOPWORDS))
    if not terms:
        if not any_word:
            return [], []
        terms = list(dict.fromkeys(query_words))
    if not terms:
        return [], []
    every = _text_query(session, terms, filters, limit, every=True)[:limit]
    some: list[int] = []
    if len(terms) > 1 and (not every or (any_word and len(every) < limit // 2)):
        seen = set(every)
        some = [i for i in _text_query(session, terms, filters, limit, every=False) if i not in seen]
    return every, some[:limit - len(every)]


def _text_query(session: Session, terms: list[str], filters: Filters, limit: int, every: bool) -> list[int]:
    """Ranks at most ``TEXT_RANK_CAP`` matches: no ORDER BY in SQL (that would rank every match
    first), the capped rows with their scores, sorted here."""
    if session.get_bind().dialect.name == "sqlite":
        stmt = _fts5_query((" AND " if every else " OR ").join('"' + w.replace('"', "") + '"' for w in terms), filters)
    else:
        stmt = _tsvector_query((" & " if every else " | ").join(terms), filters)
    scored = session.execute(stmt.limit(TEXT_RANK_CAP)).all()
    scored.sort(key=lambda r: (-r[1], r[0]))
    return [int(r[0]) for r in scored[:limit]]


def _fts5_query(match: str, filters: Filters) -> Select[tuple[int, float]]:
    """SQLite: the external-content FTS5 table ``moments_fts`` (rowid = the moment's id), ranked by
    bm25; joined with ``moments`` only when a filter needs the moment's columns (the join would
    double the cost)."""
    fts = table("moments_fts", column("rowid"))
    score = -func.bm25(literal_column("moments_fts"))
    matches = literal_column("moments_fts").op("MATCH")(match)
    if not filters.active:
        return select(fts.c.rowid, score).where(matches)
    stmt = select(Moment.id, score).select_from(fts).join(Moment, Moment.id == fts.c.rowid).where(matches)
    return filters.apply(stmt)


def _tsvector_query(terms: str, filters: Filters) -> Select[tuple[int, float]]:
    """PostgreSQL: the stored ``text_tsv`` column (generated, not mapped) and its GIN index,
    ranked by ``ts_rank_cd``."""
    tsv = literal_column("moments.text_tsv")
    query = func.to_tsquery(literal_column("'english'"), terms).alias("q")  # parsed once, in the FROM clause
    stmt = (select(Moment.id, func.ts_rank_cd(tsv, query.column)).select_from(Moment).join(query, true())
            .where(tsv.op("@@")(query.column)))
    return filters.apply(stmt)
