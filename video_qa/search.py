"""Search over every moment of the archive: full text and vector similarity, fused by rank.

Full text: SQLite FTS5 (porter stemming) or PostgreSQL's stored ``text_tsv`` column
(``to_tsvector('english', text)``, generated) with its GIN index (migrations 0003, 0004). A user's query never reaches either engine as syntax: it is cut into
words and each word is quoted (FTS5) or passed as a plain lexeme, so quotes, ``*``, ``NEAR`` or
SQL come back as results or nothing, never as an error.

Vectors: the moments' embeddings (``video_qa.moments``) in an in-process index, one per database
per process, brought up to date incrementally (new rows by id) before each query; cosine
similarity by one matrix product. (pgvector is not used: the extension is not installed on the
servers this was built and tested on.)

Relevance (``relevant``): every full-text match counts; a moment only the vectors found counts when
its cosine similarity reaches ``VECTOR_FLOOR`` and lies within ``VECTOR_MARGIN`` of the query's best
similarity (calibrated on the evaluation set in ``tests/factories/moments.py``; docs/search.md).
Everything else is dropped, so a query that matches nothing returns nothing.

Fusion: reciprocal rank, ``sum(1 / (60 + rank))`` over the two lists. Hits keep their own times:
only matching moments of one video that overlap or lie less than ``MERGE_GAP`` seconds apart merge,
into their union, never longer than ``MERGE_MAX_SECONDS`` (``merge_adjacent``). A chapter saying the
same sentence as a precise hit it contains collapses into that hit (``collapse_chapters``); any
other chapter ranks after the precise hits of its video inside its span (``rank_hits``).
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import math
import re
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import Engine, event, func, select, text
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction
from sqlalchemy.sql.elements import TextClause

from video_qa import ivf
from video_qa.models import Moment, MomentEmbedding, MomentKind, Video
from video_qa.moments import EMBEDDING_DTYPE

log = logging.getLogger(__name__)

RRF_K = 60
MERGE_GAP = 2.0
MERGE_MAX_SECONDS = 30.0  # a merged hit never spans more (no chain of matches across a video)
VECTOR_FLOOR = 0.30  # cosine similarity a moment only the vectors found must reach (docs/search.md)
VECTOR_MARGIN = 0.15  # ... and how far below the query's best similarity it may lie
CHAPTER_SLACK = 0.05  # seconds: a chapter "contains" a moment up to float rounding
CANDIDATES = 50  # from each list before fusion
WORD = re.compile(r"[^\W_]+", re.UNICODE)
KINDS = tuple(k.value for k in MomentKind)
MARK_OPEN, MARK_CLOSE = "[", "]"


@dataclass(frozen=True)
class Filters:
    video_id: int | None = None
    kinds: tuple[str, ...] = ()
    start: float | None = None  # moments ending after this time in the video
    end: float | None = None  # moments starting before this time in the video
    uploaded_after: datetime | None = None
    uploaded_before: datetime | None = None


@dataclass
class Hit:
    video_id: int
    title: str
    start: float
    end: float
    kind: str
    text: str
    marked: str  # text with the matched words in [brackets]
    score: float
    moment_ids: list[int] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    start_uncertainty: float = 0.0  # seconds the true start may lie before ``start``
    end_uncertainty: float = 0.0  # seconds the true end may lie after ``end``
    # each moment merged in: (start, end, text); not part of the JSON, nor of equality
    parts: list[tuple[float, float, str]] = field(default_factory=list, repr=False, compare=False)

    def own_parts(self) -> list[tuple[float, float, str]]:
        return self.parts or [(self.start, self.end, self.text)]

    def to_dict(self) -> dict[str, Any]:
        return {"video_id": self.video_id, "title": self.title, "start": round(self.start, 3),
                "end": round(self.end, 3), "kind": self.kind, "text": self.text, "marked": self.marked,
                "score": round(self.score, 6), "moment_ids": self.moment_ids, "kinds": self.kinds,
                "start_uncertainty": round(self.start_uncertainty, 3),
                "end_uncertainty": round(self.end_uncertainty, 3)}


def uncertainty(meta: Any, key: str) -> float:
    """A moment's ``start_uncertainty`` / ``end_uncertainty`` (seconds) from its meta; 0.0 when
    missing or not a non-negative number."""
    value = meta.get(key) if isinstance(meta, dict) else None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        return 0.0
    return float(value)


def words(query: str) -> list[str]:
    return [w.lower() for w in WORD.findall(query)][:32]


@functools.lru_cache(maxsize=65536)
def _forms(word: str) -> frozenset[str]:
    """The word and what it is with one common English ending taken off."""
    w = word.lower()
    forms = {w}
    for suffix in ("ingly", "edly", "ing", "ies", "ied", "ed", "es", "ly", "s"):
        if len(w) > len(suffix) + 2 and w.endswith(suffix):
            forms.add(w[: -len(suffix)])
    return frozenset(forms)


def mark(text_: str, query_words: list[str]) -> str:
    """``text_`` with every word matching a query word (up to a common ending) in brackets."""
    wanted = frozenset().union(*(_forms(w) for w in query_words))
    if not wanted:
        return text_
    return WORD.sub(lambda m: f"{MARK_OPEN}{m.group(0)}{MARK_CLOSE}" if _forms(m.group(0)) & wanted else m.group(0), text_)


# ---- full text

def _filter_sql(filters: Filters, alias: str = "m") -> tuple[str, dict[str, Any]]:
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


STOPWORDS = frozenset(
    "a an and are as at be but by for from has have he her his i in is it its of on or our she so that the their "
    "them then there these they this to was we were what when where which who why will with you your "
    "do does did done how can could would should about into not no been being had me my us".split()
)


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
    where, params = _filter_sql(filters)
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


# ---- vectors

class VectorIndex:
    """Every embedded moment's vector with the fields filters need, kept in numpy arrays. Large
    indexes (``ivf.MIN_ROWS`` rows and up) also get coarse lists (``video_qa.ivf``), built in a
    background thread so no search waits for it; until then, and for rows added since, the search
    is exact."""

    REFRESH_COUNT_EVERY_S = 300.0  # a full count: ~0.5 s at 1M rows on PostgreSQL
    REFRESH_BATCH = 50_000
    EXACT_MAX = 100_000  # a filter leaving at most this many rows is searched exactly
    REBUILD_TAIL = 0.2  # rebuild the lists when rows added since the build exceed this share

    def __init__(self, background: bool = True) -> None:
        self.lock = threading.RLock()  # reentrant: a synchronous build installs under its caller's hold
        self.background = background
        self.generation = 0
        self.building = False
        self._reset()

    def _reset(self) -> None:
        self.ids = np.zeros(0, dtype=np.int64)
        self.video_ids = np.zeros(0, dtype=np.int64)
        self.kinds = np.zeros(0, dtype=np.int8)
        self.starts = np.zeros(0, dtype=np.float64)
        self.ends = np.zeros(0, dtype=np.float64)
        self.vectors = np.zeros((0, 0), dtype=EMBEDDING_DTYPE)
        self.max_id = 0
        self.checked_count_at = 0.0
        self.coarse: ivf.CoarseLists | None = None
        self.sorted_ids = self.sorted_positions = np.zeros(0, dtype=np.int64)
        self.generation += 1

    def _append(self, rows: list[tuple[int, int, str, float, float, bytes]]) -> None:
        if not rows:
            return
        vecs = np.stack([np.frombuffer(r[5], dtype=EMBEDDING_DTYPE) for r in rows])
        self.ids = np.concatenate([self.ids, np.array([r[0] for r in rows], dtype=np.int64)])
        self.video_ids = np.concatenate([self.video_ids, np.array([r[1] for r in rows], dtype=np.int64)])
        self.kinds = np.concatenate([self.kinds, np.array([KINDS.index(r[2]) for r in rows], dtype=np.int8)])
        self.starts = np.concatenate([self.starts, np.array([r[3] for r in rows])])
        self.ends = np.concatenate([self.ends, np.array([r[4] for r in rows])])
        self.vectors = vecs if self.vectors.size == 0 else np.concatenate([self.vectors, vecs])
        self.max_id = max(self.max_id, int(self.ids.max()))

    def refresh(self, session: Session) -> None:
        """Add rows newer than the last seen id; rebuild when rows were deleted (counted every
        ``REFRESH_COUNT_EVERY_S`` seconds; between counts, ``verify`` catches a deleted or changed
        row the moment a search returns it: a replaced part deletes and re-inserts its rows)."""
        now = time.monotonic()
        if now - self.checked_count_at > self.REFRESH_COUNT_EVERY_S:
            self.checked_count_at = now
            count = session.scalar(select(func.count()).select_from(MomentEmbedding).where(
                MomentEmbedding.moment_id <= self.max_id)) or 0
            if count != len(self.ids):
                self._reset()
                self.checked_count_at = now
        while True:  # in batches, ORDER BY id LIMIT: the primary key's index even without statistics
            rows = session.execute(
                select(Moment.id, Moment.video_id, Moment.kind, Moment.start, Moment.end, MomentEmbedding.embedding)
                .join(Moment, Moment.id == MomentEmbedding.moment_id)
                .where(MomentEmbedding.moment_id > self.max_id).order_by(MomentEmbedding.moment_id)
                .limit(self.REFRESH_BATCH)
            ).all()
            self._append([tuple(r) for r in rows])  # type: ignore[misc]
            if len(rows) < self.REFRESH_BATCH:
                break
        self._maybe_build()

    # ---- coarse lists

    def _maybe_build(self) -> None:
        """Called with the lock held."""
        n = len(self.ids)
        built = self.coarse.rows if self.coarse is not None else 0
        if self.building or n < ivf.MIN_ROWS or (self.coarse is not None and n - built <= self.REBUILD_TAIL * built):
            return
        self.building = True
        args = (self.vectors[:n], self.ids[:n], self.generation)
        if self.background:
            threading.Thread(target=self._build, args=args, name="vector-lists", daemon=True).start()
        else:
            self._build(*args)

    def _build(self, snapshot: np.ndarray, snapshot_ids: np.ndarray, generation: int) -> None:
        started = time.monotonic()
        try:
            coarse = ivf.build(snapshot)
            grouped_ids = snapshot_ids[coarse.order]
            by_id = np.argsort(grouped_ids, kind="stable")  # position lookup for verify (ids are no longer sorted)
            sorted_ids = grouped_ids[by_id]
            with self.lock:
                rows = coarse.rows
                if self.generation != generation or len(self.ids) < rows:
                    return  # the index was rebuilt from the database meanwhile
                order = coarse.order
                for name in ("ids", "video_ids", "kinds", "starts", "ends", "vectors"):
                    array = getattr(self, name)
                    setattr(self, name, np.concatenate([array[:rows][order], array[rows:]]))
                self.coarse = coarse
                self.sorted_ids, self.sorted_positions = sorted_ids, by_id
            log.info("vector index: coarse lists over %d rows built in %.1f s", rows, time.monotonic() - started)
        finally:
            with self.lock:  # only now may another build start (its snapshot must see this order)
                self.building = False

    def verify(self, returned: list[int], rows: list[tuple[int, int, float]]) -> bool:
        """After a query: forget everything when an id it ``returned`` has no row any more, or a
        fetched row differs from what the index holds under its id (SQLite may give a deleted
        row's id to a new row). True when it did; the caller asks again."""
        if not len(self.ids):
            return False
        with self.lock:
            if set(returned) - {r[0] for r in rows}:
                log.info("vector index: moments were deleted under it; rebuilding")
                self._reset()
                return True
            positions = self._positions_of([r[0] for r in rows])
            held = {int(self.ids[p]): (int(self.video_ids[p]), float(self.starts[p])) for p in positions}
            for moment_id, video_id, start in rows:
                if moment_id in held and held[moment_id] != (video_id, start):
                    log.info("vector index: moment %d changed under it; rebuilding", moment_id)
                    self._reset()
                    return True
        return False

    def _positions_of(self, wanted: list[int]) -> list[int]:
        """Where these ids are held: rows covered by coarse lists are grouped by list and found
        through the sorted copy made at the build; later rows are in id order."""
        built = self.coarse.rows if self.coarse is not None else 0
        ids = np.asarray(wanted, dtype=np.int64)
        grouped = self.sorted_positions[_matches(self.sorted_ids, ids)]
        return [int(p) for p in grouped] + [built + int(i) for i in _matches(self.ids[built:], ids)]

    def similarities(self, vector: np.ndarray, wanted: list[int]) -> dict[int, float]:
        """Cosine similarity of ``vector`` to each held row of the ``wanted`` ids."""
        positions = np.asarray(self._positions_of(wanted), dtype=np.int64)
        if not len(positions):
            return {}
        scores = self.vectors[positions] @ vector.astype(EMBEDDING_DTYPE)
        return {int(i): float(s) for i, s in zip(self.ids[positions], scores)}

    def _mask(self, filters: Filters, allowed_videos: set[int] | None) -> np.ndarray | None:
        if not (filters.video_id is not None or allowed_videos is not None or filters.kinds
                or filters.start is not None or filters.end is not None):
            return None
        mask = np.ones(len(self.ids), dtype=bool)
        if filters.video_id is not None:
            mask &= self.video_ids == filters.video_id
        if allowed_videos is not None:
            mask &= np.isin(self.video_ids, np.fromiter(allowed_videos, dtype=np.int64))
        if filters.kinds:
            mask &= np.isin(self.kinds, [KINDS.index(k) for k in filters.kinds])
        if filters.start is not None:
            mask &= self.ends >= filters.start
        if filters.end is not None:
            mask &= self.starts <= filters.end
        return mask

    def query(self, vector: np.ndarray, filters: Filters, allowed_videos: set[int] | None, limit: int) -> list[int]:
        return [moment_id for moment_id, _ in self.query_scored(vector, filters, allowed_videos, limit)]

    def query_scored(self, vector: np.ndarray, filters: Filters, allowed_videos: set[int] | None, limit: int
                     ) -> list[tuple[int, float]]:
        """The ``limit`` nearest moments as (id, cosine similarity), best first."""
        n = len(self.ids)
        if not n:
            return []
        v = vector.astype(EMBEDDING_DTYPE)
        mask = self._mask(filters, allowed_videos)
        selected = None if mask is None else int(mask.sum())
        if selected == 0:
            return []
        coarse = self.coarse
        with _single_threaded_blas():
            if coarse is not None and (selected is None or selected > self.EXACT_MAX):
                slices = coarse.probe(v) + ([(coarse.rows, n)] if n > coarse.rows else [])
                positions = np.concatenate([np.arange(a, b) for a, b in slices])
                scores = np.concatenate([self.vectors[a:b] @ v for a, b in slices])
                if mask is not None:
                    keep = mask[positions]
                    positions, scores = positions[keep], scores[keep]
            else:
                positions = np.arange(n) if mask is None else np.flatnonzero(mask)
                scores = (self.vectors if mask is None else self.vectors[positions]) @ v
        if not len(scores):
            return []
        k = min(limit, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(i), float(score)) for i, score in zip(self.ids[positions[top]], scores[top])]


def _matches(sorted_ids: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Indexes in ``sorted_ids`` of the ``wanted`` ids that are there."""
    at = np.searchsorted(sorted_ids, wanted)
    inside = at < len(sorted_ids)
    return at[inside][sorted_ids[at[inside]] == wanted[inside]]


_blas_controller = None


def _single_threaded_blas():  # type: ignore[no-untyped-def]
    """OpenBLAS's threads spin after a product and starve the query embedding (torch) on a small
    machine: measured here, p95 of a search fell from 103 to 23 ms at 10k moments with one thread."""
    global _blas_controller
    if _blas_controller is None:
        from threadpoolctl import ThreadpoolController

        _blas_controller = ThreadpoolController()
    return _blas_controller.limit(limits=1, user_api="blas")


_indexes: dict[str, VectorIndex] = {}
_indexes_lock = threading.Lock()


def _index_key(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def vector_index(engine: Engine) -> VectorIndex:
    with _indexes_lock:
        return _indexes.setdefault(_index_key(engine), VectorIndex())


def release_vector_index(engine: Engine) -> None:
    """Forget this database's in-process vector index, and the memory it holds (a database that
    is dropped, or a process done with it)."""
    with _indexes_lock:
        _indexes.pop(_index_key(engine), None)


def vector_candidates(session: Session, engine: Engine, vector: np.ndarray | None, filters: Filters,
                      limit: int = CANDIDATES) -> list[tuple[int, float]]:
    """(moment id, cosine similarity) of the moments nearest the query's ``vector``, best first
    (None: no embedder or an empty query)."""
    if vector is None:
        return []
    allowed = None
    if filters.uploaded_after is not None or filters.uploaded_before is not None:
        stmt = select(Video.id)
        if filters.uploaded_after is not None:
            stmt = stmt.where(Video.created_at >= filters.uploaded_after)
        if filters.uploaded_before is not None:
            stmt = stmt.where(Video.created_at <= filters.uploaded_before)
        allowed = set(session.scalars(stmt))
    index = vector_index(engine)
    with index.lock:
        index.refresh(session)
        return index.query_scored(vector, filters, allowed, limit)


def vector_similarities(engine: Engine, vector: np.ndarray | None, moment_ids: list[int]) -> dict[int, float]:
    """The query vector's cosine similarity to each of these moments the index holds (a few ids:
    found by binary search, no scan of the index)."""
    if vector is None or not moment_ids:
        return {}
    index = vector_index(engine)
    with index.lock:
        return index.similarities(vector, moment_ids)


def _passes(row: Any, f: Filters) -> bool:
    return ((f.video_id is None or row.video_id == f.video_id) and (not f.kinds or row.kind in f.kinds)
            and (f.start is None or row.end >= f.start) and (f.end is None or row.start <= f.end)
            and (f.uploaded_after is None or row.created_at >= f.uploaded_after)
            and (f.uploaded_before is None or row.created_at <= f.uploaded_before))


# ---- fusion

def fuse(*ranked: list[int]) -> dict[int, float]:
    scores: dict[int, float] = {}
    for ids in ranked:
        for rank, moment_id in enumerate(ids, 1):
            scores[moment_id] = scores.get(moment_id, 0.0) + 1.0 / (RRF_K + rank)
    return scores


def relevant(every_word: list[int], some_words: list[int], by_vector: list[tuple[int, float]],
             similarity: dict[int, float] | None = None, floor: float = VECTOR_FLOOR,
             margin: float = VECTOR_MARGIN) -> set[int]:
    """The candidates that match the query on their own merit:

    - every full-text match of the whole query (``every_word``: each of its words);
    - a moment holding only some of the words (``some_words``) whose embedding is at least
      ``floor`` similar to the query's (``similarity``; one with no known similarity, or every one
      when there is no query vector, passes: the words are all there is to judge by);
    - a moment only the vectors found (``by_vector``, with its similarity) that reaches ``floor``
      and lies within ``margin`` of the best similarity: a vector neighbour at the bottom of the
      list is not a match."""
    best = max((s for _, s in by_vector), default=0.0)
    cut = max(floor, best - margin)
    known = {**(similarity or {}), **dict(by_vector)}
    some = {i for i in some_words if not by_vector or known.get(i, floor) >= floor}
    return set(every_word) | some | {moment_id for moment_id, s in by_vector if s >= cut}


def merge_adjacent(hits: list[Hit], gap: float = MERGE_GAP, max_seconds: float = MERGE_MAX_SECONDS) -> list[Hit]:
    """Hits of one video and one kind that overlap or lie less than ``gap`` seconds apart become one: their
    union in time (no second more), best score and kind, joined text, all moments and kinds. A
    merged hit never grows past ``max_seconds``: the next match starts a hit of its own.

    Every hit given must match the query on its own (``search`` passes only ``relevant`` ones), so
    no unrelated neighbour can stretch a hit. Chapters span whole stretches: they never merge (see
    ``collapse_chapters``). Kinds never merge with each other: a sentence said while a slide is
    shown keeps its own time (the slide's hit would otherwise seek to the slide's start). The hits
    given are left as they were."""
    merged: list[Hit] = []
    last_of: dict[tuple[int, str], Hit] = {}
    for hit in sorted(hits, key=lambda h: (h.video_id, h.start, h.end)):
        hit = dataclasses.replace(hit, moment_ids=list(hit.moment_ids), kinds=list(hit.kinds),
                                  parts=list(hit.own_parts()))
        if hit.kind == MomentKind.chapter.value:
            merged.append(hit)
            continue
        last = last_of.get((hit.video_id, hit.kind))
        if last is not None and hit.start <= last.end + gap and max(last.end, hit.end) - last.start <= max_seconds:
            _absorb(last, hit)
            continue
        merged.append(hit)
        last_of[(hit.video_id, hit.kind)] = hit
    return rank_hits(collapse_chapters(merged))


def _absorb(into: Hit, hit: Hit) -> None:
    """``hit`` (starting no earlier than ``into``) merged into ``into``."""
    if hit.start == into.start:
        into.start_uncertainty = max(into.start_uncertainty, hit.start_uncertainty)
    if hit.end > into.end:
        into.end, into.end_uncertainty = hit.end, hit.end_uncertainty
    elif hit.end == into.end:
        into.end_uncertainty = max(into.end_uncertainty, hit.end_uncertainty)
    if hit.text not in into.text:
        into.text = f"{into.text} … {hit.text}"
        into.marked = f"{into.marked} … {hit.marked}"
    if hit.score > into.score:
        into.kind = hit.kind
    into.score = max(into.score, hit.score)
    into.moment_ids += hit.moment_ids
    into.kinds = list(dict.fromkeys(into.kinds + hit.kinds))
    into.parts += hit.own_parts()


def normalised(text_: str) -> list[str]:
    """The words of ``text_``, lower case (punctuation, case and spacing do not count)."""
    return [w.lower() for w in WORD.findall(text_)]


def same_sentence(chapter_text: str, text_: str) -> bool:
    """Equal once normalised; a title cut short with an ellipsis ("The budget is appr…") equals
    the sentence it starts."""
    title, words_ = normalised(chapter_text), normalised(text_)
    if not title:
        return False
    if title == words_:
        return True
    if not chapter_text.rstrip().endswith(("…", "...")) or len(title) > len(words_):
        return False
    return title[:-1] == words_[:len(title) - 1] and words_[len(title) - 1].startswith(title[-1])


def collapse_chapters(hits: list[Hit], slack: float = CHAPTER_SLACK) -> list[Hit]:
    """A chapter whose text is the same sentence as a precise hit of its video that it contains
    is that hit listed twice: it collapses into the precise hit, which keeps its own times, moments
    and kinds (a chapter's moment id among them would make ``ask`` cite the whole chapter) and
    takes the chapter's score if better."""
    precise = [h for h in hits if h.kind != MomentKind.chapter.value]
    kept: list[Hit] = []
    for hit in hits:
        if hit.kind == MomentKind.chapter.value:
            twin = next((p for p in precise if p.video_id == hit.video_id and any(
                hit.start - slack <= a and b <= hit.end + slack and same_sentence(hit.text, t)
                for a, b, t in p.own_parts())), None)
            if twin is not None:
                twin.score = max(twin.score, hit.score)
                continue
        kept.append(hit)
    return kept


def rank_hits(hits: list[Hit]) -> list[Hit]:
    """Best first; but a chapter never ranks above a precise hit (speech, text, event) of the same
    video that lies inside its span: the chapter only names the stretch the moment is in (its text
    is often that very sentence), so it follows the moment instead of taking the click."""
    precise = [h for h in hits if h.kind != MomentKind.chapter.value]

    def key(h: Hit) -> tuple[float, int, int, float]:
        if h.kind == MomentKind.chapter.value:
            inside = [p.score for p in precise if p.video_id == h.video_id and h.start <= p.start < h.end]
            if inside:
                return (-min(h.score, max(inside)), 1, h.video_id, h.start)
            return (-h.score, 1, h.video_id, h.start)
        return (-h.score, 0, h.video_id, h.start)

    return sorted(hits, key=key)


# ---- the full-text query beside the query's embedding
#
# The full-text query's work is the database's (PostgreSQL's server process, or SQLite's C code,
# which releases the GIL), the embedding and the vector product are this process's: on a session
# that has written nothing, the text query runs on its own connection in a helper thread while
# this thread embeds the query and searches the vectors. A session holding its own uncommitted
# writes keeps the text query on itself (another connection would not see them), as does an
# in-memory SQLite database (another connection is another database).

_WROTE = "videoqa.search.wrote"
_text_pool: ThreadPoolExecutor | None = None
_text_pool_lock = threading.Lock()


@event.listens_for(Session, "after_flush")
def _flushed(session: Session, _context: Any) -> None:
    session.info[_WROTE] = True


@event.listens_for(Session, "do_orm_execute")
def _executed(state: ORMExecuteState) -> None:
    statement = state.statement
    if isinstance(statement, TextClause):
        writes = not statement.text.lstrip().lower().startswith(("select", "with"))
    else:
        writes = state.is_insert or state.is_update or state.is_delete
    if writes:
        state.session.info[_WROTE] = True


@event.listens_for(Session, "after_transaction_end")
def _ended(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_WROTE, None)


def _own_connection_sees_all(session: Session, engine: Engine) -> bool:
    url = engine.url
    if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
        return False
    if session.get_bind() is not engine:
        return False
    return not (session.new or session.dirty or session.deleted or session.info.get(_WROTE))


def _text_alone(engine: Engine, query_words: list[str], filters: Filters) -> tuple[list[int], list[int]]:
    with Session(engine) as own:
        return text_matches(own, query_words, filters, any_word=False)


def _text_meanwhile(session: Session, engine: Engine, query_words: list[str], filters: Filters
                    ) -> Future[tuple[list[int], list[int]]] | None:
    """The text query started on its own connection, or None where it must run on ``session``."""
    global _text_pool
    if not _own_connection_sees_all(session, engine):
        return None
    with _text_pool_lock:
        if _text_pool is None:
            _text_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="search-text")
    return _text_pool.submit(_text_alone, engine, query_words, filters)


def _query_vector(embedder: Any, query: str) -> np.ndarray:
    one = getattr(embedder, "encode_query", None)
    return one(query) if one is not None else embedder.encode([query])[0]


def search(session: Session, engine: Engine, query: str, embedder: Any = None, filters: Filters = Filters(),
           limit: int = 20) -> list[Hit]:
    """The best moments for ``query`` under ``filters``, merged and ranked (see module doc)."""
    bad = [k for k in filters.kinds if k not in KINDS]
    if bad:
        raise ValueError(f"unknown kind {bad[0]!r}; kinds are {', '.join(KINDS)}")
    query_words = words(query)
    any_word = embedder is None
    pending = _text_meanwhile(session, engine, query_words, filters) if embedder is not None else None
    if pending is None:
        every, some = text_matches(session, query_words, filters, any_word=any_word)
    vector = _query_vector(embedder, query) if embedder is not None and query.strip() else None
    for _attempt in range(2):  # a second pass after a stale vector index was dropped
        by_vector = vector_candidates(session, engine, vector, filters)
        if pending is not None:  # waited for only now: the embedding and the probe ran meanwhile
            (every, some), pending = pending.result(), None
        similarity = vector_similarities(engine, vector, some) if by_vector else {}
        matching = relevant(every, some, by_vector, similarity)
        scores = {i: s for i, s in fuse(every + some, [i for i, _ in by_vector]).items() if i in matching}
        if not scores:
            return []
        rows = session.execute(
            select(Moment.id, Moment.video_id, Video.title, Moment.start, Moment.end, Moment.kind, Moment.text,
                   Moment.meta, Video.created_at)
            .join(Video, Video.id == Moment.video_id).where(Moment.id.in_(list(scores)))
        ).all()
        returned = [i for i in [*dict(by_vector), *similarity] if i in matching]  # what the index answered
        if not vector_index(engine).verify(returned, [(r.id, r.video_id, r.start) for r in rows]):
            break
    rows = [r for r in rows if _passes(r, filters)]  # the rows as they are now, whatever an index held
    hits = [Hit(r.video_id, r.title, r.start, r.end, r.kind, r.text, mark(r.text, query_words), scores[r.id],
                [r.id], [r.kind], uncertainty(r.meta, "start_uncertainty"), uncertainty(r.meta, "end_uncertainty"))
            for r in rows]
    return merge_adjacent(hits)[:limit]
