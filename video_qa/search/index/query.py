"""The nearest moments to a query's vector under filters, every score the exact cosine of the row
as the database holds it now.

A query takes the ``RERANK`` best candidates of the generation and of the tail (``candidates``),
reads their rows (embedding, and the moment's fields when there are filters) from the database and
ranks them by the exact cosine: a deleted moment cannot come back (it has no row), a changed one is
scored by what the database holds now, and a row whose vector differs from the one indexed under
its id (crc32 fingerprints) is handed back to the index (``note_changed``). Filters are applied in
that same SQL (``Filters.apply``); when they leave too few candidates the depth grows; a filter on
one video (or any filter leaving at most ``EXACT_MAX`` rows) is searched exactly over its rows. An
index without a usable generation for a large archive (``VectorIndex.scanning``) is answered by an
exact scan of the database.
"""

from __future__ import annotations

import numpy as np
from sqlalchemy.orm import Session

from video_qa.moments.values import EMBEDDING_DTYPE
from video_qa.search.filters import Filters
from video_qa.search.hits import CANDIDATES
from video_qa.search.index.live import VectorIndex
from video_qa.search.index.rows import Arrays, embeddings, rows_by_id, stream_rows, to_arrays
from video_qa.search.index.space import TEXT, Space

RERANK = 256  # candidates re-ranked exactly (unfiltered)
WIDE = 8192  # unfiltered: asked of the generation, before runs of equal scores collapse
FILTERED_RERANK, WIDEN_MAX = 2048, 65_536  # filtered: first depth, deepest
EXACT_MAX = 20_000  # a filter leaving at most this many rows is searched exactly

Scored = list[tuple[int, float]]


def candidates(index: VectorIndex, vector: np.ndarray, k: int, collapse: bool = False
               ) -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """Ids of the ``k`` best of the generation (dead ones left out) and the ``k`` best of the
    tail, by approximate (generation) or exact (tail) score. ``collapse``: the generation is
    asked for ``WIDE`` and each run of equal approximate scores (the same product code in the
    same list: in practice the same vector, a sentence said again) counts once, its first id
    standing for it; the others come back as ``{first id: the others}`` (see ``nearest``). Call
    with ``index.lock`` held."""
    found, groups = [], {}
    gen, dead = index.gen, index.dead
    if gen is not None and gen.count:
        scores, ids = gen.index.search(vector[None, :], min(max(k, WIDE if collapse else k) + len(dead), gen.count))
        keep = ids[0] >= 0
        scores, ids = scores[0][keep], ids[0][keep]
        if len(dead):
            alive = ~np.isin(ids, dead)
            scores, ids = scores[alive], ids[alive]
        if collapse and len(ids):
            starts = np.flatnonzero(np.r_[True, scores[1:] != scores[:-1]])
            ends = np.r_[starts[1:], len(ids)]
            for a, b in zip(starts[:k], ends[:k]):
                if b - a > 1:
                    groups[int(ids[a])] = ids[a + 1:b]
            found.append(ids[starts[:k]])
        else:
            found.append(ids[:k])
    if len(index.tail_ids):
        with _single_threaded_blas():
            scores = index.tail_vectors @ vector
        top = np.argpartition(-scores, min(k, len(scores)) - 1)[:k] if len(scores) > k else np.arange(len(scores))
        found.append(index.tail_ids[top])
    return (np.unique(np.concatenate(found)) if found else np.zeros(0, np.int64)), groups


def _top(ids: np.ndarray, scores: np.ndarray, limit: int) -> Scored:
    order = np.lexsort((ids, -scores))[:limit]  # best first; ties by id, so answers are repeatable
    return [(int(ids[i]), float(scores[i])) for i in order]


def _exact_filtered(session: Session, space: Space, vector: np.ndarray, filters: Filters, limit: int
                    ) -> Scored | None:
    """Every row of the space the filter leaves, scored exactly; None when it leaves more than
    ``EXACT_MAX``."""
    ids, vectors, _ = to_arrays(session.execute(embeddings(space, filters).limit(EXACT_MAX + 1)).all())
    if len(ids) > EXACT_MAX:
        return None
    return _top(ids, vectors @ vector, limit) if len(ids) else []


def exact_scan(session: Session, space: Space, vector: np.ndarray, filters: Filters, limit: int) -> Scored:
    """Every row of the space the filter leaves, read in batches and scored exactly, the best ``limit`` kept
    (memory bounded by a batch, whatever the archive)."""
    best_ids, best_scores = np.zeros(0, np.int64), np.zeros(0, np.float32)
    for ids, vectors, _ in stream_rows(session, space, 0, filters=filters):
        ids, scores = np.concatenate([best_ids, ids]), np.concatenate([best_scores, vectors @ vector])
        keep = np.lexsort((ids, -scores))[:limit]
        best_ids, best_scores = ids[keep], scores[keep]
    return _top(best_ids, best_scores, limit)


def nearest(session: Session, index: VectorIndex, vector: np.ndarray | None, filters: Filters = Filters(),
            limit: int = CANDIDATES) -> Scored:
    """(moment id, cosine similarity) of the ``limit`` moments nearest the query's ``vector``
    under ``filters``, best first (None: no embedder or an empty query). Read through the caller's
    ``session``: a row it wrote and rolled back may enter the tail, but is never returned (the
    re-ranking reads rows as they are), and an id given again after it is caught by the index's
    check of its newest rows."""
    if vector is None:
        return []
    vector = np.ascontiguousarray(vector, dtype=EMBEDDING_DTYPE).reshape(-1)
    with index.lock:
        index.refresh(session)
        scanning = index.scanning
    if scanning:
        return exact_scan(session, index.space, vector, filters, limit)
    if filters.video_id is not None:
        exact = _exact_filtered(session, index.space, vector, filters, limit)
        if exact is not None:
            return exact
    filtered = filters.active
    k = FILTERED_RERANK if filtered else max(RERANK, limit)
    while True:
        with index.lock:
            found, groups = candidates(index, vector, k, collapse=not filtered)
            total = len(index)
        ids, vectors, fps = _scored_rows(index, session, found, filters)
        if groups and len(ids):  # the best vectors' repeats, best first, as many as the answer holds
            more, room = [], limit
            for i in ids[np.argsort(-(vectors @ vector), kind="stable")].tolist():
                if room <= 0:
                    break
                room -= 1
                if i in groups:
                    more.append(groups[i][:room])
                    room -= len(more[-1])
            if more:
                extra = _scored_rows(index, session, np.setdiff1d(np.concatenate(more), ids), filters)
                if len(extra[0]):
                    ids, vectors, fps = (np.concatenate([a, b]) for a, b in zip((ids, vectors, fps), extra))
        if not filtered or len(ids) >= limit or k >= total:
            break
        if k >= WIDEN_MAX:
            exact = _exact_filtered(session, index.space, vector, filters, limit)
            if exact is not None:
                return exact
            break
        k = min(WIDEN_MAX, k * 8)
    return _top(ids, vectors @ vector, limit) if len(ids) else []


def _scored_rows(index: VectorIndex, session: Session, found: np.ndarray, filters: Filters) -> Arrays:
    """The candidates' rows as the database holds them now (those the filter keeps), with any
    whose vector differs from the indexed one handed to the index (``note_changed``)."""
    ids, vectors, fps = rows_by_id(session, index.space, found, filters)
    if len(ids):
        with index.lock:
            changed = index.held_fingerprints(ids) != fps
            if changed.any():
                index.note_changed(ids[changed], vectors[changed], fps[changed])
    return ids, vectors, fps


def similarities(session: Session, vector: np.ndarray | None, moment_ids: list[int], space: Space = TEXT
                 ) -> dict[int, float]:
    """The query vector's cosine similarity to each of these moments that has a vector in ``space``
    (read from the database by primary key)."""
    if vector is None or not moment_ids:
        return {}
    vector = np.ascontiguousarray(vector, dtype=EMBEDDING_DTYPE).reshape(-1)
    ids, vectors, _ = rows_by_id(session, space, np.unique(np.asarray(moment_ids, dtype=np.int64)))
    return {int(i): float(s) for i, s in zip(ids, vectors @ vector)} if len(ids) else {}


_blas_controller = None


def _single_threaded_blas():  # type: ignore[no-untyped-def]
    """The tail's product on one BLAS thread: OpenBLAS's threads spin after a product and starve
    the query embedding on a small machine (docs/search.md)."""
    global _blas_controller
    if _blas_controller is None:
        from threadpoolctl import ThreadpoolController

        _blas_controller = ThreadpoolController()
    return _blas_controller.limit(limits=1, user_api="blas")
