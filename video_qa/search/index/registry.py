"""One ``VectorIndex`` per database and space per process, each with its background writer, and
the vector part of a search run on it (``vector_candidates``)."""

from __future__ import annotations

import functools
import threading
from pathlib import Path

import numpy as np
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from video_qa.search.filters import Filters
from video_qa.search.hits import CANDIDATES
from video_qa.search.index import build
from video_qa.search.index.live import VectorIndex
from video_qa.search.index.location import index_folder
from video_qa.search.index.query import nearest
from video_qa.search.index.space import TEXT, Space
from video_qa.search.index.writer import BackgroundWriter

_indexes: dict[tuple[str, str], VectorIndex] = {}
_indexes_lock = threading.Lock()


def _key(engine: Engine, space: Space) -> tuple[str, str]:
    return engine.url.render_as_string(hide_password=False), space.key


def _fold(engine: Engine, folder: Path, space: Space, stale: np.ndarray) -> None:
    build.fold_index(engine, folder, stale, False, space)


def vector_index(engine: Engine, space: Space = TEXT) -> VectorIndex:
    """This process's ``VectorIndex`` of the engine's database in ``space`` (opened at its first
    refresh)."""
    with _indexes_lock:
        key = _key(engine, space)
        held = _indexes.get(key)
        if held is None:
            folder = index_folder(engine, space=space)
            writer = BackgroundWriter(functools.partial(_fold, engine, folder, space), "vector-fold") if folder else None
            held = _indexes[key] = VectorIndex(space, folder, writer)
        return held


def release_vector_index(engine: Engine) -> None:
    """Forget this database's indexes (every space's) in this process (their mappings and tails):
    the next query opens the published generation again and re-reads the tail. The files stay."""
    url = engine.url.render_as_string(hide_password=False)
    with _indexes_lock:
        for key in [k for k in _indexes if k[0] == url]:
            del _indexes[key]


def vector_candidates(session: Session, engine: Engine, vector: np.ndarray | None, filters: Filters = Filters(),
                      limit: int = CANDIDATES, space: Space = TEXT) -> list[tuple[int, float]]:
    """``query.nearest`` on this process's index of the engine's database in ``space``."""
    return nearest(session, vector_index(engine, space), vector, filters, limit)
