"""Where a database's vector index of a space lives: one folder per database and space inside an
index folder.

The index folder is the settings' ``index_dir`` (``<data_dir>/index``), unless the caller names
one (``index_folder(engine, index_dir)``) or this process was told another for that database
(``use_index_dir``: benchmarks and tests). Inside it, the folder's name is a hash of the database:
its URL without the password, or for SQLite the absolute path of the file; the text space's
folder is named by the hash alone, every other space's by the hash and the space's suffix
(``space.Space.suffix``), beside it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from sqlalchemy import Engine

from video_qa.config import get_settings
from video_qa.search.index.space import TEXT, Space

_named: dict[str, Path] = {}


def _key(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def use_index_dir(engine: Engine, index_dir: Path) -> None:
    """Keep this database's index under ``index_dir`` in this process, instead of the settings'."""
    _named[_key(engine)] = Path(index_dir)


def index_folder(engine: Engine, index_dir: Path | None = None, space: Space = TEXT) -> Path | None:
    """This database's index folder of ``space`` under ``index_dir`` (else the one named by
    ``use_index_dir``, else the settings' ``index_dir``). None for an in-memory SQLite database:
    nothing is kept."""
    url = engine.url
    if url.get_backend_name() == "sqlite":
        if url.database in (None, "", ":memory:"):
            return None
        label = f"sqlite:{Path(url.database).resolve()}"
    else:
        label = database_label(engine)
    base = index_dir if index_dir is not None else _named.get(_key(engine), get_settings().index_dir)
    return Path(base) / (hashlib.sha256(label.encode()).hexdigest()[:16] + space.suffix)


def database_label(engine: Engine) -> str:
    """The database as a manifest names it (the URL, password hidden)."""
    return engine.url.render_as_string(hide_password=True)
