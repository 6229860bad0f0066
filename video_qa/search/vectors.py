"""The vector part of a search: every embedded moment's vector in an in-process index."""

from __future__ import annotations

import logging
import threading
import time

import numpy as np
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from video_qa.models import Moment, MomentEmbedding, Video
from video_qa.moments import EMBEDDING_DTYPE
from video_qa.search import ivf
from video_qa.search.hits import CANDIDATES, KINDS, Filters

log = logging.getLogger(__name__)


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

