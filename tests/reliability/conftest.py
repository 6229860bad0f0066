"""One server-mode stack for the reliability suite: a private PostgreSQL and Redis (so tests may kill
them), `videoqa serve --no-worker` with login on, and `videoqa worker` processes started by each
test. Every run's outcome is also written to test-artifacts/reliability/ for docs/reliability.md."""

from __future__ import annotations

import base64
import json
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from tests.factories.browser import ARTIFACTS
from tests.factories.media import ffmpeg, speech_and_caption_video
from tests.factories.pipeline import moment_rows
from tests.factories.processes import free_port, kill_group, multipart_file, start_cli, videoqa_env, wait_until, worker_process
from tests.factories.services import PrivatePostgres, PrivateRedis
from video_qa import migrate
from video_qa.db import make_engine

USER, PASSWORD = "ops", "s3cret"
SPEECH = (2.0, "the quarterly budget is approved")
CAPTION = (6.0, 10.0, "EXIT 12")
UPLOAD_LIMIT = 30 * 1024 * 1024


@dataclass
class Stack:
    base: str
    env: dict[str, str]
    engine: Engine
    root: Path
    pg: PrivatePostgres
    redis: PrivateRedis
    logs: Path
    _workers: int = field(default=0)

    # ---- HTTP, with the stack's credentials unless told otherwise

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None,
                auth: bool = True, timeout: float = 120) -> tuple[int, Any]:
        headers = dict(headers or {})
        if auth:
            headers["Authorization"] = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        request = urllib.request.Request(self.base + path, data=body, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - local test server
                raw = response.read()
                status = response.status
        except urllib.error.HTTPError as error:
            raw, status = error.read(), error.code
        except (urllib.error.URLError, ConnectionError) as error:  # not listening (yet)
            return 0, str(error)
        try:
            return status, json.loads(raw)
        except ValueError:
            return status, raw

    def get(self, path: str, **kw: Any) -> tuple[int, Any]:
        return self.request("GET", path, **kw)

    def post_json(self, path: str, payload: dict[str, Any], **kw: Any) -> tuple[int, Any]:
        return self.request("POST", path, json.dumps(payload).encode(), {"Content-Type": "application/json"}, **kw)

    def upload(self, content: bytes, filename: str, **kw: Any) -> tuple[int, Any]:
        body, content_type = multipart_file(content, filename)
        return self.request("POST", "/api/v1/videos", body, {"Content-Type": content_type}, **kw)

    def video(self, video_id: int) -> dict[str, Any]:
        status, body = self.get(f"/api/v1/videos/{video_id}")
        assert status == 200, (status, body)
        return body

    def wait_done(self, video_id: int, timeout: float = 180) -> dict[str, Any]:
        """Wait until the video is ready or failed (a 503 while a server restarts is waited out)."""

        def finished() -> dict[str, Any] | None:
            status, body = self.get(f"/api/v1/videos/{video_id}")
            assert status in (200, 503), (status, body)
            return body if status == 200 and body["status"] in ("ready", "failed") else None

        return wait_until(finished, timeout, 0.3, f"video {video_id} to finish")

    # ---- workers

    @contextmanager
    def worker(self, *args: str) -> Iterator[subprocess.Popen[bytes]]:
        self._workers += 1
        with worker_process(self.env, self.logs / f"worker-{self._workers}.log", *args) as process:
            yield process

    def start_worker(self) -> subprocess.Popen[bytes]:
        self._workers += 1
        return start_cli(self.env, "worker", log=self.logs / f"worker-{self._workers}.log")

    def live_workers(self) -> int:
        status, body = self.get("/healthz", auth=False)
        return body["workers"] if status == 200 else -1

    def moments(self, video_id: int) -> list[tuple[Any, ...]]:
        return moment_rows(self.engine, video_id)


def variant(source: Path, folder: Path, tag: str) -> Path:
    """The same streams (so the same moments) in a file with different bytes (so a new video)."""
    target = folder / f"{source.stem}-{tag}{source.suffix}"
    if not target.exists():
        ffmpeg("-i", str(source), "-map", "0", "-c", "copy", "-metadata", f"comment={tag}", str(target))
    return target


def report(name: str, data: dict[str, Any]) -> None:
    folder = ARTIFACTS / "reliability"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.json").write_text(json.dumps(data, indent=2, default=str))


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("reliability")
    (root / "archive").mkdir()
    logs = root / "logs"
    logs.mkdir()
    pg = PrivatePostgres().init()
    redis = PrivateRedis().start()
    migrate.upgrade(pg.url)
    port = free_port()
    env = videoqa_env(database_url=pg.url, broker_url=redis.url, data_dir=root / "data", web_port=port,
                      archive_roots=root / "archive", clip_seconds=4, worker_heartbeat=0.5, worker_stale_after=2,
                      requeue_after=5, auth=f"{USER}:{PASSWORD}", upload_max_bytes=UPLOAD_LIMIT, log_format="json")
    web = start_cli(env, "serve", "--no-worker", log=logs / "web.log")
    engine = make_engine(pg.url)
    stack = Stack(f"http://127.0.0.1:{port}", env, engine, root, pg, redis, logs)
    try:
        wait_until(lambda: stack.get("/healthz", auth=False, timeout=5)[0] == 200, 60, 0.5, "the web server")
        yield stack
    finally:
        kill_group(web, 15)
        engine.dispose()
        redis.stop()
        pg.stop()


@pytest.fixture(scope="session")
def talk(stack: Stack) -> Path:
    """12 s: speech at 2 s, a caption 6–10 s; three 4 s clips."""
    return speech_and_caption_video(stack.root / "talk.mp4", seconds=12, speech=SPEECH, caption=CAPTION)


@pytest.fixture(scope="session")
def baseline(stack: Stack, talk: Path) -> dict[str, Any]:
    """An uninterrupted run of the talk with one worker: its moments and how long it took."""
    with stack.worker():
        wait_until(lambda: stack.live_workers() >= 1, 60, 0.3, "a worker")
        started = time.monotonic()
        status, body = stack.upload(variant(talk, stack.root, "baseline").read_bytes(), "talk.mp4")
        assert status == 201, body
        row = stack.wait_done(body["id"])
        seconds = time.monotonic() - started
    assert row["status"] == "ready", row
    moments = stack.moments(body["id"])
    kinds = {m[0] for m in moments}
    assert {"speech", "text", "chapter"} <= kinds, moments
    return {"moments": moments, "seconds": seconds}


class Searcher(threading.Thread):
    """Runs ``count`` searches, recording each latency and status."""

    def __init__(self, stack: Stack, queries: list[str]) -> None:
        super().__init__(daemon=True)
        self.stack, self.queries = stack, queries
        self.results: list[tuple[int, float]] = []

    def run(self) -> None:
        for q in self.queries:
            started = time.perf_counter()
            status, _ = self.stack.get("/api/v1/search?q=" + urllib.request.quote(q))
            self.results.append((status, time.perf_counter() - started))
