"""Run the Alembic migrations from code (``videoqa migrate``, embedded start-up, tests)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

import migrations

if TYPE_CHECKING:
    from video_qa.config import Settings

log = logging.getLogger(__name__)


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(migrations.__file__).parent))
    # '%' is Alembic's interpolation character; URLs may carry it (escaped passwords).
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    log.info("migrating database to %s", revision)
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    log.info("downgrading database to %s", revision)
    command.downgrade(alembic_config(url), revision)


def head_revision(url: str) -> str | None:
    return ScriptDirectory.from_config(alembic_config(url)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


class SchemaOutOfDate(RuntimeError):
    """The database is not at the code's migration head."""


def prepare_database(settings: "Settings") -> Engine:
    """The engine for the configured database, ready to use.

    The embedded default (SQLite in the data folder, no URL set) migrates itself; a configured
    server database must be migrated explicitly with ``videoqa migrate`` and is checked here.
    """
    from video_qa.db import engine_for

    url = settings.resolved_database_url
    engine = engine_for(url)
    current, head = current_revision(engine), head_revision(url)
    if not settings.database_url:
        if current != head:  # (an up-to-date database is left alone: no Alembic run, no log lines)
            upgrade(url)
        return engine
    if current != head:
        raise SchemaOutOfDate(
            f"database {engine.url.render_as_string(hide_password=True)} is at revision {current or 'none'}, "
            f"the code needs {head}: run `videoqa migrate`"
        )
    return engine
