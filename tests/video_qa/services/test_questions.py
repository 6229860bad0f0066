"""Asking through the services module: stored as a Question whose status goes queued -> running ->
done | failed; answered in this process (embedded mode, or no vision model: an extractive answer)
or by whoever runs the sent task (server mode), the caller waiting with a time limit and progress."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from model.vlm import Answer, Span, answer_from_text
from tests.factories.media import speech_and_caption_video
from tests.factories.moments import Spec, write_moments
from tests.factories.pipeline import quiet_settings
from tests.factories.rows import make_video
from video_qa.analyzers import Backends, get_embedder
from video_qa.ask import EXTRACTIVE, NO_MODEL
from video_qa.db import unit_of_work
from video_qa.media.probe import probe
from video_qa.models import Question
from video_qa.services.questions import (
    AnswerFailed, AnswerTimedOut, answer_question, answers_remotely, ask, submit_question,
)

REDIS = "redis://127.0.0.1:6379/15"  # never reached: these tests send through a callable


class PoolWatchingModel:
    """Cites 2-4 s of span 1 and records how many database connections were checked out meanwhile."""

    name, is_test_model = "watching", False

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.connections_during_generation: int | None = None

    def answer(self, question: str, spans: list[Span], context: str = "") -> Answer:
        self.connections_during_generation = self.engine.pool.checkedout()
        return answer_from_text("On screen [span 1, 2 to 4 seconds].", spans, self.name)


@pytest.fixture(scope="module")
def invoice_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return speech_and_caption_video(tmp_path_factory.mktemp("q") / "quarterly-invoice.mp4", seconds=30, audio=False,
                                    caption=(10.0, 15.0, "INVOICE 4711"))


@pytest.fixture()
def video_id(engine: Engine, invoice_file: Path, tmp_path: Path) -> int:
    info = probe(invoice_file)
    with unit_of_work(engine) as session:
        video = make_video(session, path=str(invoice_file), title="quarterly-invoice.mp4", duration=info.duration,
                           probe=info.to_dict(), status="ready")
        write_moments(session, video, [Spec("invoice", "text", 10.0, 15.0, "INVOICE 4711")],
                      get_embedder(quiet_settings(tmp_path, embed_model="bundled")))
        return video.id


def _row(engine: Engine, question_id: int) -> dict[str, Any]:
    with unit_of_work(engine) as session:
        row = session.get(Question, question_id)
        return {"status": row.status, "answer": row.answer, "error": row.error, "meta": row.meta,
                "started": row.started_at, "finished": row.finished_at, "moments": row.moments}


def test_embedded_mode_answers_in_this_process_holding_no_session_while_the_model_runs(
        engine: Engine, video_id: int, tmp_path: Path) -> None:
    settings = quiet_settings(tmp_path, embed_model="bundled", vlm_model="auto")
    assert settings.embedded_broker and not answers_remotely(settings)
    model = PoolWatchingModel(engine)
    progress: list[str] = []
    sent: list[int] = []
    result = ask(engine, settings, sent.append, video_id, "  when is the invoice shown? ",
                 lambda: Backends(model, None, None, get_embedder(settings)), on_progress=lambda s, _: progress.append(s))
    assert sent == [] and progress == ["running"]
    assert model.connections_during_generation == 0
    cited = result.moments[0]
    assert cited["source"] == "cited" and (cited["start"], cited["end"]) == (pytest.approx(9.0, abs=0.05),
                                                                            pytest.approx(11.0, abs=0.05))
    row = _row(engine, result.question_id)
    assert row["status"] == "done" and row["answer"] == result.answer and row["moments"] == result.moments
    assert row["started"] <= row["finished"]


def test_without_a_vision_model_the_stored_answer_quotes_the_moment_with_its_time(
        engine: Engine, video_id: int, tmp_path: Path) -> None:
    settings = quiet_settings(tmp_path, embed_model="bundled")
    assert not settings.vlm_model and not answers_remotely(settings)
    sent: list[int] = []
    result = ask(engine, settings, sent.append, video_id, "which invoice number is shown?",
                 lambda: Backends(None, None, None, get_embedder(settings)))
    assert sent == [] and result.model is None
    assert result.answer == f"{EXTRACTIVE}\n0:00:10.0 on screen: INVOICE 4711"
    cited = [m for m in result.moments if m["source"] == "cited"]
    assert [(m["kind"], m["start"], m["end"], m["text"]) for m in cited] == [("text", 10.0, 15.0, "INVOICE 4711")]
    row = _row(engine, result.question_id)
    assert row["status"] == "done" and row["answer"] == result.answer and row["moments"] == result.moments
    assert row["meta"]["notes"] == [NO_MODEL]


def test_server_mode_sends_the_question_and_waits_for_the_worker(engine: Engine, video_id: int, tmp_path: Path) -> None:
    settings = quiet_settings(tmp_path, embed_model="bundled", vlm_model="auto", broker_url=REDIS)
    assert answers_remotely(settings)
    worker_model = PoolWatchingModel(engine)
    seen_queued: list[str] = []
    threads: list[threading.Thread] = []

    def send(question_id: int) -> None:  # what the gpu worker does with the task, in another thread
        seen_queued.append(_row(engine, question_id)["status"])
        backends = Backends(worker_model, None, None, get_embedder(settings))
        thread = threading.Thread(target=answer_question, args=(engine, settings, question_id, backends, "gpu@test"))
        threads.append(thread)
        thread.start()

    def caller_backends() -> Backends:
        raise AssertionError("the caller must not load a model in server mode")

    progress: list[str] = []
    result = ask(engine, settings, send, video_id, "when is the invoice shown?", caller_backends, timeout=60,
                 on_progress=lambda status, waited: progress.append(status))
    threads[0].join(10)
    assert seen_queued == ["queued"] and progress[-1] == "done"
    assert result.answer == "On screen [span 1, 2 to 4 seconds]." and result.notes == []
    assert (result.moments[0]["start"], result.moments[0]["end"]) == (pytest.approx(9.0, abs=0.05),
                                                                      pytest.approx(11.0, abs=0.05))
    assert _row(engine, result.question_id)["meta"]["worker"] == "gpu@test"


def test_no_worker_means_a_timeout_and_the_question_stays_queued(engine: Engine, video_id: int, tmp_path: Path) -> None:
    settings = quiet_settings(tmp_path, embed_model="bundled", vlm_model="auto", broker_url=REDIS)
    sent: list[int] = []
    with pytest.raises(AnswerTimedOut, match="gpu queue"):
        ask(engine, settings, sent.append, video_id, "invoice?", lambda: None, timeout=0.5)
    assert _row(engine, sent[0])["status"] == "queued"


def test_a_failed_answer_is_stored_and_raised_in_the_videos_own_name(engine: Engine, video_id: int,
                                                                   tmp_path: Path, invoice_file: Path) -> None:
    settings = quiet_settings(tmp_path, embed_model="bundled", vlm_model="auto", broker_url=REDIS)
    invoice_file.rename(invoice_file.with_suffix(".gone"))  # the worker cannot read the frames
    try:
        def send(question_id: int) -> None:
            with pytest.raises(Exception):
                answer_question(engine, settings, question_id,
                                Backends(PoolWatchingModel(engine), None, None, get_embedder(settings)))

        with pytest.raises(AnswerFailed) as failed:
            ask(engine, settings, send, video_id, "invoice?", lambda: None, timeout=30)
    finally:
        invoice_file.with_suffix(".gone").rename(invoice_file)
    assert "quarterly-invoice.mp4" in str(failed.value) and str(invoice_file.parent) not in str(failed.value)
    with unit_of_work(engine) as session:
        row = session.query(Question).order_by(Question.id.desc()).first()
        assert row.status == "failed" and row.error == str(failed.value)


def test_a_broker_that_is_away_fails_the_question(engine: Engine, video_id: int, tmp_path: Path) -> None:
    settings = quiet_settings(tmp_path, embed_model="bundled", vlm_model="auto", broker_url=REDIS)

    def send(question_id: int) -> None:
        raise ConnectionError("broker away")

    with pytest.raises(ConnectionError):
        ask(engine, settings, send, video_id, "invoice?", lambda: None)
    with unit_of_work(engine) as session:
        assert session.query(Question).one().status == "failed"


def test_a_question_needs_a_video_and_words(engine: Engine, video_id: int, tmp_path: Path) -> None:
    settings = quiet_settings(tmp_path)
    with pytest.raises(LookupError):
        submit_question(engine, settings, video_id + 1000, "invoice?")
    with pytest.raises(ValueError):
        submit_question(engine, settings, video_id, "   ")


def test_in_this_process_unreadable_media_fails_in_the_videos_own_name_too(engine: Engine, video_id: int,
                                                                          tmp_path: Path, invoice_file: Path) -> None:
    settings = quiet_settings(tmp_path, embed_model="bundled", vlm_model="auto")  # embedded: answered here
    invoice_file.rename(invoice_file.with_suffix(".gone"))
    try:
        with pytest.raises(AnswerFailed) as failed:
            ask(engine, settings, None, video_id, "invoice?",
                lambda: Backends(PoolWatchingModel(engine), None, None, get_embedder(settings)), timeout=30)
    finally:
        invoice_file.with_suffix(".gone").rename(invoice_file)
    assert "quarterly-invoice.mp4" in str(failed.value) and str(invoice_file.parent) not in str(failed.value)
