"""One ``VectorIndex`` per database per process, each with its background writer, and the vector
part of a search run on it (``vector_candidates``)."""

from __future__ import annotations

import threading

import numpy as np
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from video_qa.search.filters import Filters
from video_qa.search.hits import CANDIDATES
from video_qa.search.index.live import VectorIndex
from video_qa.search.index.location import index_folder
from video_qa.search.index.query import nearest
from video_qa.search.index.writer import BackgroundWriter

_indexes: dict[str, VectorIndex] = {}
_indexes_lock = threading.Lock()


def _key(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def vector_index(engine: Engine) -> VectorIndex:
    """This process's ``VectorIndex`` of the engine's database (opened at its first refresh)."""
    with _indexes_lock:
        key = _key(engine)
        held = _indexes.get(key)
        if held is None:
            folder = index_folder(engine)
            held = _indexes[key] = VectorIndex(folder, BackgroundWriter(engine, folder) if folder else None)
        return held


def release_vector_index(engine: Engine) -> None:
    """Forget this database's index in this process (its mapping and tail): the next query opens
    the published generation again and re-reads the tail. The files stay."""
    with _indexes_lock:
        _indexes.pop(_key(engine), None)


def vector_candidates(session: Session, engine: Engine, vector: np.ndarray | None, filters: Filters = Filters(),
                      limit: int = CANDIDATES) -> list[tuple[int, float]]:
    """``query.nearest`` on this process's index of the engine's database."""
    return nearest(session, vector_index(engine), vector, filters, limit)
