"""Reading a space's embeddings from the database, as arrays: (ids, vectors, fingerprints)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
from sqlalchemy import Engine, Select, func, select
from sqlalchemy.orm import Session

from video_qa.models import VisualEmbedding
from video_qa.moments.values import EMBEDDING_DTYPE
from video_qa.search.filters import Filters
from video_qa.search.index.generation import fingerprint
from video_qa.search.index.space import Space

STREAM_BATCH = 20_000
IN_CHUNK = 5_000

Arrays = tuple[np.ndarray, np.ndarray, np.ndarray]


def count_rows(session: Session, space: Space, above: int | None = None, upto: int | None = None) -> int:
    stmt = select(func.count()).select_from(space.table).where(*space.conditions)
    if above is not None:
        stmt = stmt.where(space.moment_id > above)
    if upto is not None:
        stmt = stmt.where(space.moment_id <= upto)
    return int(session.scalar(stmt) or 0)


def max_id(session: Session, space: Space) -> int:
    return int(session.scalar(select(func.max(space.moment_id)).where(*space.conditions)) or 0)


def embeddings(space: Space, filters: Filters = Filters()) -> Select[Any]:
    """``SELECT moment_id, vector`` of the space's rows of the moments ``filters`` keep."""
    stmt = select(space.moment_id, space.vector).where(*space.conditions)
    return filters.apply(stmt, moment_id=space.moment_id)


def rows_after(session: Session, space: Space, last: int, upto: int | None, batch: int,
               filters: Filters = Filters()) -> Arrays:
    """One batch: the first ``batch`` rows with ``last < id <= upto`` that ``filters`` keep, in id order."""
    stmt = embeddings(space, filters).where(space.moment_id > last).order_by(space.moment_id).limit(batch)
    if upto is not None:
        stmt = stmt.where(space.moment_id <= upto)
    return to_arrays(session.execute(stmt).all())


def _pages(read: Callable[[int], Arrays], above: int, batch: int) -> Iterator[Arrays]:
    """Keyset pagination on the primary key: ``read(last)`` gives the batch after id ``last``."""
    last = above
    while True:
        page = read(last)
        if not len(page[0]):
            return
        yield page
        last = int(page[0][-1])
        if len(page[0]) < batch:
            return


def stream_rows(session: Session, space: Space, above: int, upto: int | None = None, batch: int = STREAM_BATCH,
                filters: Filters = Filters()) -> Iterator[Arrays]:
    """The rows with ``above < id <= upto`` that ``filters`` keep, in id order, in batches, all in
    ``session`` (a query's refresh and exact scan)."""
    return _pages(lambda last: rows_after(session, space, last, upto, batch, filters), above, batch)


def stream_rows_apart(engine: Engine, space: Space, above: int, upto: int | None = None, batch: int = STREAM_BATCH
                      ) -> Iterator[Arrays]:
    """As ``stream_rows``, each batch read in a short transaction of its own (a fresh ``Session``,
    closed before the batch is yielded): a build or fold never holds one read transaction (and
    its table locks, or SQLite's snapshot) across the whole stream."""
    def read(last: int) -> Arrays:
        with Session(engine) as session:
            return rows_after(session, space, last, upto, batch)

    return _pages(read, above, batch)


def newest_rows(session: Session, space: Space, upto: int, limit: int) -> Arrays:
    """The ``limit`` rows with the highest ids up to ``upto``, highest first."""
    stmt = embeddings(space).where(space.moment_id <= upto).order_by(space.moment_id.desc()).limit(limit)
    return to_arrays(session.execute(stmt).all())


def rows_by_id(session: Session, space: Space, wanted: np.ndarray, filters: Filters = Filters()) -> Arrays:
    """Those of the ``wanted`` ids that have a row in the space and that ``filters`` keep."""
    found = []
    for a in range(0, len(wanted), IN_CHUNK):
        part = [int(i) for i in wanted[a:a + IN_CHUNK]]
        found += session.execute(embeddings(space, filters).where(space.moment_id.in_(part))).all()
    return to_arrays(found)


def to_arrays(rows: Any) -> Arrays:
    if not rows:
        return np.zeros(0, np.int64), np.zeros((0, 0), EMBEDDING_DTYPE), np.zeros(0, np.uint32)
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    vectors = np.frombuffer(b"".join(r[1] for r in rows), dtype=EMBEDDING_DTYPE).reshape(len(rows), -1)
    fps = np.fromiter((fingerprint(r[1]) for r in rows), dtype=np.uint32, count=len(rows))
    return ids, vectors, fps


def all_ids(session: Session, space: Space, upto: int) -> np.ndarray:
    """Every id up to ``upto``, sorted (the full diff of a consistency check)."""
    result = session.execute(select(space.moment_id).where(*space.conditions, space.moment_id <= upto)
                             .order_by(space.moment_id))
    return np.fromiter((r[0] for r in result), dtype=np.int64)


def visual_models(session: Session) -> list[str]:
    """The image models whose vectors the database holds (each one a visual space), sorted."""
    return sorted(session.scalars(select(VisualEmbedding.model).distinct()))
