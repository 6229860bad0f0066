"""Full text: SQLite FTS5 or PostgreSQL's ``text_tsv`` column, the query's words as plain terms."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from video_qa.search.hits import CANDIDATES, Filters
from video_qa.search.query import STOPWORDS


def filter_sql(filters: Filters, alias: str = "m") -> tuple[str, dict[str, Any]]:
    clauses, params = [], {}
    if filters.video_id is not None:
        clauses.append(f"{alias}.video_id = :video_id")
        params["video_id"] = filters.video_id
    if filters.kinds:
        names = [f"kind{i}" for i in range(len(filters.kinds))]
        clauses.append(f"{alias}.kind IN ({', '.join(':' + n for n in names)})")
        params.update(dict(zip(names, filters.kinds)))
    if filters.start is not None:
        clauses.append(f'{alias}."end" >= :t_start')
        params["t_start"] = filters.start
    if filters.end is not None:
        clauses.append(f"{alias}.start <= :t_end")
        params["t_end"] = filters.end
    if filters.uploaded_after is not None or filters.uploaded_before is not None:
        sub = "SELECT id FROM videos WHERE 1=1"
        if filters.uploaded_after is not None:
            sub += " AND created_at >= :up_after"
            params["up_after"] = filters.uploaded_after
        if filters.uploaded_before is not None:
            sub += " AND created_at <= :up_before"
            params["up_before"] = filters.uploaded_before
        clauses.append(f"{alias}.video_id IN ({sub})")
    return "".join(f" AND {c}" for c in clauses), params


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
    where, params = filter_sql(filters)
    params["cap"] = TEXT_RANK_CAP
    if session.get_bind().dialect.name == "sqlite":
        params["q"] = (" AND " if every else " OR ").join('"' + w.replace('"', "") + '"' for w in terms)
        if where:  # filters need the moment's columns
            sql = ("SELECT m.id, -bm25(moments_fts) FROM moments_fts f JOIN moments m ON m.id = f.rowid "
                   f"WHERE moments_fts MATCH :q{where} LIMIT :cap")
        else:  # the index alone (the join would double the cost)
            sql = "SELECT rowid, -bm25(moments_fts) FROM moments_fts WHERE moments_fts MATCH :q LIMIT :cap"
    else:
        params["q"] = (" & " if every else " | ").join(terms)
        sql = ("SELECT m.id, ts_rank_cd(m.text_tsv, q) FROM moments m, to_tsquery('english', :q) q "
               f"WHERE m.text_tsv @@ q{where} LIMIT :cap")
    scored = session.execute(text(sql), params).all()
    scored.sort(key=lambda r: (-r[1], r[0]))
    return [int(r[0]) for r in scored[:limit]]

