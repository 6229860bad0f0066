"""Full text: the words index (a PostgreSQL archive's tantivy folder, ``words.live``) where it can
answer, else SQLite FTS5 or PostgreSQL's ``text_tsv`` column; the query's words as plain terms."""

from __future__ import annotations

from sqlalchemy import Select, column, func, literal_column, select, table, text, true
from sqlalchemy.orm import Session

from video_qa.models import Moment
from video_qa.search.filters import Filters
from video_qa.search.hits import CANDIDATES
from video_qa.search.query import STOPWORDS
from video_qa.search.words.live import WordsIndex
from video_qa.search.words.store import analyzer

TEXT_RANK_CAP = 1000  # full-text matches ranked per query at most (see text_matches)


def text_matches(session: Session, query_words: list[str], filters: Filters, limit: int = CANDIDATES,
                 any_word: bool = True, index: WordsIndex | None = None) -> tuple[list[int], list[int]]:
    """Moment ids by full-text rank, best first, in two lists: the moments with every word, and,
    when those are few and ``any_word``, or when no moment holds every word, moments with any word
    (together at most ``limit``).

    Stop words are left out: they match nearly every moment and rank none (a query of stop words
    only is searched by its vector alone, or, with no vectors, by its words). The cost is bounded
    on any archive: at most ``TEXT_RANK_CAP`` matches are ranked (all of them when there are fewer;
    else the first ones the index yields), so a query of common words cannot rank a million rows.
    With ``index`` (a words index), it ranks where it can (BM25 over every match), the database
    where it cannot (``WordsIndex.ranked``: None)."""
    terms = list(dict.fromkeys(w for w in query_words if w not in STOPWORDS))
    if not terms:
        if not any_word:
            return [], []
        terms = list(dict.fromkeys(query_words))
    if not terms:
        return [], []
    every = _ranked(session, terms, filters, limit, True, index)[:limit]
    some: list[int] = []
    if len(terms) > 1 and (not every or (any_word and len(every) < limit // 2)):
        seen = set(every)
        some = [i for i in _ranked(session, terms, filters, limit, False, index) if i not in seen]
    return every, some[:limit - len(every)]


def _ranked(session: Session, terms: list[str], filters: Filters, limit: int, every: bool,
            index: WordsIndex | None) -> list[int]:
    if index is not None:
        found = index.ranked(session, _stems(session, terms), filters, limit, every)
        if found is not None:
            return found
    return _text_query(session, terms, filters, limit, every)


_lexemes: dict[str, bool] = {}  # word -> whether PostgreSQL's english configuration keeps it
_LEXEMES_MAX = 100_000


def _stems(session: Session, terms: list[str]) -> list[str]:
    """The words index's stems of the terms PostgreSQL's ``english`` configuration keeps (its stop
    words, a longer list than ``STOPWORDS``, are no terms there either): the index and the
    database's full text match the same words. Asked of the database once per word."""
    new = [t for t in terms if t not in _lexemes]
    if new:
        if len(_lexemes) > _LEXEMES_MAX:
            _lexemes.clear()
        kept = session.execute(text("SELECT w, to_tsvector('english', w) <> ''::tsvector "
                                    "FROM unnest(CAST(:words AS text[])) AS u(w)"), {"words": new}).all()
        _lexemes.update({w: bool(k) for w, k in kept})
    analyze = analyzer().analyze
    return [s for t in terms if _lexemes.get(t) for s in analyze(t)]


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
