"""Ask off the web tier: in server mode (PostgreSQL, Redis) a question that needs the vision model
is answered by a real `videoqa worker -Q gpu` process; the asking process never loads a model and
only watches the Question row go queued -> done."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.factories.pipeline import ingest, quiet_settings
from tests.factories.processes import videoqa_env, worker_process
from video_qa.db import unit_of_work
from video_qa.models import Question
from video_qa.services.questions import ask
from workers.app import ask_sender, make_celery


def test_a_server_mode_ask_is_answered_by_the_gpu_worker(tmp_path: Path, archive: Path, shared_settings: dict,
                                                         server: dict, server_engine: Engine) -> None:
    # a ready video, analysed here without any model (the ask is what this test is about)
    video_id, _ = ingest(server_engine, quiet_settings(archive, clip_seconds=10.0, **server), archive / "talk.mp4")
    settings = quiet_settings(archive, vlm_model=str(shared_settings["vlm_model"]), **server)
    assert not settings.embedded_broker

    def no_model_here():  # type: ignore[no-untyped-def]
        raise AssertionError("the asking process loaded a model")

    statuses: list[str] = []
    log = tmp_path / "gpu-worker.log"
    env = videoqa_env(data_dir=tmp_path / "data", **shared_settings, **server)
    with worker_process(env, log, "-Q", "gpu", "--concurrency", "1", "--name", "gpu"):
        try:
            result = ask(server_engine, settings, ask_sender(make_celery(settings)), video_id, "what is approved?",
                         no_model_here, timeout=240, on_progress=lambda status, waited: statuses.append(status))
        except Exception:
            print(log.read_text()[-4000:])
            raise
    assert statuses[0] == "queued" and statuses[-1] == "done"
    assert result.test_model and result.answer is not None and "meaningless" in " ".join(result.notes)
    assert all(0.0 <= m["start"] <= m["end"] <= 30.0 for m in result.moments)
    with unit_of_work(server_engine) as session:
        row = session.get(Question, result.question_id)
        assert row.status == "done" and row.answer == result.answer and row.started_at <= row.finished_at
        assert row.meta["worker"].startswith("gpu-") and row.meta["pid"] != os.getpid()
        assert "tiny" in (row.model or "").lower()
