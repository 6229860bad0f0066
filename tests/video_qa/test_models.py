"""Model round-trips on SQLite and PostgreSQL (the ``engine`` fixture runs both)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError

from tests.factories.rows import make_clip, make_job, make_moment, make_question, make_video
from video_qa.db import unit_of_work
from video_qa.models import Clip, Job, Moment, MomentEmbedding, Question, Video, utcnow


def test_round_trip_keeps_values(engine: Engine) -> None:
    vector = np.linspace(-1, 1, 384, dtype=np.float32)
    with unit_of_work(engine) as session:
        video = make_video(session, title="Ünïcode · title", duration=3723.456)
        clip = make_clip(session, video, index=0, start=0.0, end=60.0, plan={"why": "base rate", "fps": 2.0})
        make_job(session, video, stage="probe", progress=0.25)
        make_moment(
            session, video, clip, kind="speech", start=42.0333, end=44.5, text="the quarterly budget",
            meta={"lang": "en"}, vector=MomentEmbedding(embedding=vector.tobytes()),
        )
        video_id = video.id
    with unit_of_work(engine) as session:
        video = session.get(Video, video_id)
        assert video is not None
        assert video.title == "Ünïcode · title"
        assert video.duration == pytest.approx(3723.456, abs=1e-9)
        assert video.clips[0].plan == {"why": "base rate", "fps": 2.0}
        assert video.jobs[0].progress == 0.25
        moment = video.moments[0]
        assert (moment.start, moment.end, moment.kind) == (42.0333, 44.5, "speech")
        assert moment.meta == {"lang": "en"}
        assert moment.vector is not None
        assert np.array_equal(np.frombuffer(moment.vector.embedding, dtype=np.float32), vector)


def test_timestamps_are_aware_utc(engine: Engine) -> None:
    before = datetime.now(timezone.utc)
    with unit_of_work(engine) as session:
        video_id = make_video(session).id
    with unit_of_work(engine) as session:
        video = session.get(Video, video_id)
        assert video.created_at.tzinfo is not None
        assert video.created_at.utcoffset() == timedelta(0)
        assert before - timedelta(seconds=1) <= video.created_at <= datetime.now(timezone.utc) + timedelta(seconds=1)


def test_local_time_is_stored_as_utc(engine: Engine) -> None:
    local = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=5)))
    with unit_of_work(engine) as session:
        job = make_job(session, make_video(session), started_at=local)
        job_id = job.id
    with unit_of_work(engine) as session:
        assert session.get(Job, job_id).started_at == datetime(2026, 1, 1, 22, 4, 5, tzinfo=timezone.utc)


def test_naive_datetime_rejected(engine: Engine) -> None:
    with pytest.raises(Exception, match="naive datetime"):
        with unit_of_work(engine) as session:
            make_job(session, make_video(session), started_at=datetime(2026, 1, 1))


def test_sha256_unique(engine: Engine) -> None:
    with pytest.raises(IntegrityError):
        with unit_of_work(engine) as session:
            make_video(session, sha256="a" * 64)
            make_video(session, sha256="a" * 64)


def test_moment_key_unique(engine: Engine) -> None:
    with pytest.raises(IntegrityError):
        with unit_of_work(engine) as session:
            video = make_video(session)
            clip = make_clip(session, video)
            make_moment(session, video, clip, kind="text", seq=3)
            make_moment(session, video, clip, kind="text", seq=3)


@pytest.mark.parametrize(
    ("factory", "fields"),
    [
        (make_moment, {"start": 5.0, "end": 4.0}),
        (make_moment, {"kind": "gossip"}),
        (make_clip, {"start": 10.0, "end": 10.0}),
        (make_clip, {"sample_fps": 0.0}),
        (make_job, {"progress": 1.5}),
        (make_question, {"status": "lost"}),
    ],
)
def test_check_constraints(engine: Engine, factory, fields) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(IntegrityError):
        with unit_of_work(engine) as session:
            factory(session, make_video(session), **fields)


def test_a_question_is_an_answer_given_unless_queued_for_a_worker(engine: Engine) -> None:
    with unit_of_work(engine) as session:
        video = make_video(session, file_mtime=1_700_000_000.25)
        answered = make_question(session, video, answer="at 1:02", moments=[{"start": 62.0, "end": 64.5}])
        queued = make_question(session, video, status="queued", meta={"notes": ["no speech"]})
        ids, video_id = (answered.id, queued.id), video.id
    with unit_of_work(engine) as session:
        answered, queued = (session.get(Question, i) for i in ids)
        assert (answered.status, answered.moments, answered.error) == ("done", [{"start": 62.0, "end": 64.5}], None)
        assert (queued.status, queued.answer, queued.moments, queued.finished_at) == ("queued", None, [], None)
        assert (answered.meta, queued.meta) == (None, {"notes": ["no speech"]})
        queued.status, queued.error, queued.finished_at = "failed", "the model is not loaded", utcnow()
        assert session.get(Video, video_id).file_mtime == 1_700_000_000.25


def test_foreign_keys_cascade(engine: Engine) -> None:
    with unit_of_work(engine) as session:
        video = make_video(session)
        clip = make_clip(session, video)
        make_moment(session, video, clip)
        make_job(session, video)
        make_question(session, video)
        video_id = video.id
    with engine.begin() as conn:  # delete below the ORM: the database's own cascade must act
        conn.execute(Video.__table__.delete().where(Video.id == video_id))
    with unit_of_work(engine) as session:
        for model in (Clip, Moment, Job, Question):
            assert session.scalars(select(model)).all() == []


def test_unit_of_work_rolls_back(engine: Engine) -> None:
    with pytest.raises(RuntimeError):
        with unit_of_work(engine) as session:
            make_video(session, title="never stored")
            raise RuntimeError("boom")
    with unit_of_work(engine) as session:
        assert session.scalars(select(Video)).all() == []
