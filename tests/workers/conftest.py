"""Fixtures for tests that run real Celery workers: the server pair (PostgreSQL + Redis), the
test media and the settings every run shares."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.factories.media import speech_and_caption_video
from video_qa import migrate
from video_qa.db import make_engine
from video_qa.models import Base

SPEECH_AT, WORDS = 5.0, "the quarterly budget is approved"
CAPTION = (18.0, 26.0, "EXIT 12")


@pytest.fixture(scope="session")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("archive")
    speech_and_caption_video(root / "talk.mp4", seconds=30, speech=(SPEECH_AT, WORDS), caption=CAPTION)
    return root


@pytest.fixture(scope="session")
def shared_settings(archive: Path, tiny_model_dir: Path) -> dict[str, object]:
    """Short clips (several per video), the tiny vision twin, fast liveness for the crash tests."""
    return {"archive_roots": archive, "clip_seconds": 10, "vlm_model": tiny_model_dir, "worker_heartbeat": 0.5,
            "worker_stale_after": 2, "requeue_after": 5}


@pytest.fixture()
def server(pg_database_url: str, redis_url: str) -> Iterator[dict[str, object]]:
    """PostgreSQL (migrated, emptied afterwards) and an empty Redis database."""
    import redis

    migrate.upgrade(pg_database_url)
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    yield {"database_url": pg_database_url, "broker_url": redis_url}
    client.flushdb()
    engine = make_engine(pg_database_url)
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())
    engine.dispose()


@pytest.fixture()
def server_engine(server: dict[str, object]) -> Iterator[Engine]:
    engine = make_engine(str(server["database_url"]))
    yield engine
    engine.dispose()
