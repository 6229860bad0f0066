"""One ``WordsIndex`` per PostgreSQL database per process, with its background writer (none where
the settings' ``words_index`` is off: the database's own full text ranks). SQLite archives have none: FTS5 ranks by BM25 in the database's own file, and SQLite gives a deleted
row's id to the next row, which a folder keyed by id would not see."""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterable
from pathlib import Path

from sqlalchemy import Engine

from video_qa.config import get_settings
from video_qa.search.index.writer import BackgroundWriter
from video_qa.search.words import sync
from video_qa.search.words.live import WordsIndex
from video_qa.search.words.store import words_folder

_indexes: dict[str, WordsIndex | None] = {}
_lock = threading.Lock()


def _catch_up(engine: Engine, folder: Path, dead: Iterable[int]) -> None:
    sync.catch_up(engine, folder, dead)


def words_index(engine: Engine) -> WordsIndex | None:
    """This process's words index of the engine's database; None on SQLite or when the settings
    turn it off (module doc)."""
    key = engine.url.render_as_string(hide_password=False)
    with _lock:
        if key not in _indexes:
            wanted = engine.dialect.name == "postgresql" and get_settings().words_index
            folder = words_folder(engine) if wanted else None
            _indexes[key] = None if folder is None else WordsIndex(
                folder, BackgroundWriter(functools.partial(_catch_up, engine, folder), "words-sync"))
        return _indexes[key]


def release_words_index(engine: Engine) -> None:
    """Forget this database's words index in this process (the folder stays)."""
    with _lock:
        _indexes.pop(engine.url.render_as_string(hide_password=False), None)
