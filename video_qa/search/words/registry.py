"""One ``WordsIndex`` per PostgreSQL database per process, with its background writer (none where
the settings' ``words_index`` is off: the database's own full text ranks). SQLite archives have none: FTS5 ranks by BM25 in the database's own file, and SQLite gives a deleted
row's id to the next row, which a folder keyed by id would not see."""

from __future__ import annotations

import functools
import threading
import time
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


CHECK_EVERY_S = 300.0  # a background catch-up checks the folder's count against the database at most this often
_checked: dict[Path, float] = {}


def _catch_up(engine: Engine, folder: Path, dead: Iterable[int]) -> None:
    """The background writer's step: ``sync.catch_up``, and every ``CHECK_EVERY_S`` ``sync.check``
    (a late commit further down than the window a catch-up re-reads, found within that time)."""
    if sync.catch_up(engine, folder, dead) is None:
        return
    if time.monotonic() - _checked.get(folder, float("-inf")) >= CHECK_EVERY_S:
        _checked[folder] = time.monotonic()
        sync.check(engine, folder)


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
