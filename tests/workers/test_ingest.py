"""The pipeline through real Celery workers: embedded (SQLite, no server, the CLI working in its
own process) and server mode (PostgreSQL, Redis, separate `videoqa worker` processes)."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import OperationalError

from tests.factories.pipeline import moment_rows
from tests.factories.processes import kill_group, run_cli, start_cli, videoqa_env, wait_until, worker_process
from tests.workers.conftest import CAPTION, SPEECH_AT
from video_qa.db import make_engine, unit_of_work
from video_qa.models import Clip, Job, Moment, Video, WorkItem


def _ingest_json(env: dict[str, str], *paths: Path, wait: bool = True) -> tuple[int, list[dict]]:
    out = run_cli(env, "ingest", *map(str, paths), *(["--wait"] if wait else []), "--json")
    assert out.stdout, out.stderr[-3000:]
    return out.returncode, json.loads(out.stdout)


def _check_ready_video(engine: Engine, video_id: int) -> None:
    """Ready, clips cover the timeline, speech and text at the right times, progress 1, all parts done."""
    with unit_of_work(engine) as session:
        video = session.get(Video, video_id)
        assert video.status == "ready" and video.duration == pytest.approx(30.0, abs=0.1)
        clips = session.scalars(select(Clip).where(Clip.video_id == video_id).order_by(Clip.index)).all()
        assert len(clips) == 3 and clips[0].start == 0.0 and clips[-1].end == pytest.approx(video.duration)
        assert all(a.end == b.start for a, b in zip(clips, clips[1:]))
        assert all(c.status == "done" and c.caption is not None and "tiny" in (c.model or "") for c in clips)
        speech = session.scalars(select(Moment).where(Moment.video_id == video_id, Moment.kind == "speech")).all()
        budget = [m for m in speech if "budget" in m.text.lower()]
        assert budget and budget[0].start == pytest.approx(SPEECH_AT, abs=1.0)
        text = [m for m in session.scalars(select(Moment).where(Moment.video_id == video_id, Moment.kind == "text"))
                if "EXIT" in m.text.upper()]
        interval = 2.0  # on-screen text is sampled at 0.5 fps: its times are true within one interval
        assert text and abs(min(m.start for m in text) - CAPTION[0]) <= interval
        assert abs(max(m.end for m in text) - CAPTION[1]) <= interval
        assert all(m.vector is not None for m in speech)
        job = session.scalars(select(Job).where(Job.video_id == video_id).order_by(Job.id.desc())).first()
        assert job.progress == 1.0 and job.status == "done"
        parts = session.execute(select(WorkItem.part, WorkItem.status).where(WorkItem.video_id == video_id)).all()
        assert sorted(p for p, _ in parts) == ["finalize", "hear_read", "hear_read", "hear_read", "ingest",
                                               "look", "look", "look", "see", "see", "see"]  # look: done by hear_read
        assert {s for _, s in parts} == {"done"}


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory, archive: Path, shared_settings: dict) -> list[tuple]:
    """An uninterrupted embedded run: `videoqa ingest --wait` with no worker does the work itself."""
    data = tmp_path_factory.mktemp("baseline-data")
    env = videoqa_env(data_dir=data, **shared_settings)
    code, rows = _ingest_json(env, archive / "talk.mp4")
    assert code == 0 and [r["status"] for r in rows] == ["ready"], rows
    engine = make_engine(f"sqlite:///{data / 'videoqa.db'}")
    try:
        _check_ready_video(engine, rows[0]["id"])
        return moment_rows(engine, rows[0]["id"])
    finally:
        engine.dispose()


def test_embedded_cli_alone_ingests_to_ready(baseline: list[tuple]) -> None:
    kinds = {row[0] for row in baseline}
    assert {"speech", "text", "chapter"} <= kinds


def test_server_mode_worker_gives_the_same_moments(tmp_path: Path, archive: Path, shared_settings: dict,
                                                   server: dict, server_engine: Engine, baseline: list[tuple]) -> None:
    env = videoqa_env(data_dir=tmp_path / "data", **shared_settings, **server)
    with worker_process(env, tmp_path / "worker.log"):
        code, rows = _ingest_json(env, archive / "talk.mp4")
    assert code == 0 and rows[0]["status"] == "ready", (tmp_path / "worker.log").read_text()[-3000:]
    _check_ready_video(server_engine, rows[0]["id"])
    assert moment_rows(server_engine, rows[0]["id"]) == baseline


def _clip_parts(engine: Engine, status: str) -> int:
    try:
        with unit_of_work(engine) as session:
            return session.scalar(select(func.count()).select_from(WorkItem).where(
                WorkItem.clip_index >= 0, WorkItem.status == status)) or 0
    except OperationalError:  # the embedded database is still being created
        return 0


def _done_parts(engine: Engine) -> int:
    return _clip_parts(engine, "done")


def test_a_worker_killed_mid_ingest_is_taken_over_and_nothing_is_lost(
    tmp_path: Path, archive: Path, shared_settings: dict, server: dict, server_engine: Engine, baseline: list[tuple],
) -> None:
    env = videoqa_env(data_dir=tmp_path / "data", **shared_settings, **server)
    log = tmp_path / "workers.log"
    first = start_cli(env, "worker", "--name", "first", log=log)
    try:
        code, rows = _ingest_json(env, archive / "talk.mp4", wait=False)
        assert code == 0
        # one part done and the next in flight: killed between two parts, nothing would be running
        wait_until(lambda: _done_parts(server_engine) >= 1 and _clip_parts(server_engine, "running") >= 1,
                   180, 0.05, "a first clip part done and another running")
        assert _done_parts(server_engine) < 6, "the ingest finished before the kill; nothing was tested"
    finally:
        kill_group(first, signal.SIGKILL)
    with unit_of_work(server_engine) as session:
        running = session.scalars(select(WorkItem).where(WorkItem.status == "running")).all()
        assert running, "no part was in flight when the worker died"
    with worker_process(env, log, "--name", "second"):
        wait_until(lambda: run_cli(env, "videos", "--json").stdout.count('"ready"') == 1, 240, 1.0, "ready")
    assert moment_rows(server_engine, rows[0]["id"]) == baseline
    _check_ready_video(server_engine, rows[0]["id"])


def test_a_corrupt_file_fails_with_its_reason_and_the_rest_carries_on(
    tmp_path: Path, archive: Path, shared_settings: dict, server: dict,
) -> None:
    bad = archive / "corrupt.mp4"
    bad.write_bytes((archive / "talk.mp4").read_bytes()[:4000] + b"\x00garbage" * 500)
    env = videoqa_env(data_dir=tmp_path / "data", **{**shared_settings, "vlm_model": ""}, **server)
    with worker_process(env, tmp_path / "worker.log") as worker:
        code, rows = _ingest_json(env, bad, archive / "talk.mp4")
        assert worker.poll() is None, "the worker stopped"
        assert run_cli(env, "workers").returncode == 0
    by_name = {Path(r["path"]).name: r for r in rows}
    assert code == 1
    assert by_name["corrupt.mp4"]["status"] == "failed" and "corrupt.mp4" in by_name["corrupt.mp4"]["error"]
    assert by_name["talk.mp4"]["status"] == "ready" and by_name["talk.mp4"]["error"] is None


def test_a_path_outside_the_archive_roots_is_refused(tmp_path: Path, archive: Path, shared_settings: dict) -> None:
    outside = tmp_path / "elsewhere.mp4"
    outside.write_bytes((archive / "talk.mp4").read_bytes())
    env = videoqa_env(data_dir=tmp_path / "data", **shared_settings)
    code, rows = _ingest_json(env, outside)
    assert code == 1
    assert rows == [{"id": None, "path": str(outside), "status": "refused", "duplicate": False, "notice": None,
                     "error": rows[0]["error"]}] and "outside the archive roots" in rows[0]["error"]


def test_an_embedded_run_killed_midway_completes_when_run_again(
    tmp_path: Path, archive: Path, shared_settings: dict, baseline: list[tuple],
) -> None:
    data = tmp_path / "data"
    env = videoqa_env(data_dir=data, **shared_settings)
    engine = make_engine(f"sqlite:///{data / 'videoqa.db'}")
    try:
        process = start_cli(env, "ingest", str(archive / "talk.mp4"), "--wait", log=tmp_path / "first.log")
        try:
            wait_until(lambda: _done_parts(engine) >= 1, 180, 0.05, "a clip part")
        finally:
            kill_group(process, signal.SIGKILL)
        code, rows = _ingest_json(env, archive / "talk.mp4")
        assert code == 0 and rows[0]["status"] == "ready" and rows[0]["duplicate"]
        assert moment_rows(engine, rows[0]["id"]) == baseline
    finally:
        engine.dispose()
