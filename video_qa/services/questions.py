"""Asking a question about a video: the one use case the JSON API, the Gradio app and the CLI call.

``ask`` stores the question (``Question``, status ``queued``) and then either

- **sends it to a worker** (server mode with a vision-language model configured): ``send_ask``,
  built by the caller from the Celery app (``workers.app.ask_sender``), queues the
  ``videoqa.answer_question`` task on the ``gpu`` queue, and ``wait_for_answer`` polls the row
  in short units of work until it is ``done`` or ``failed``, with a time limit and a progress
  callback; the web process needs no GPU and holds no database session while the model runs; or
- **answers in this process** (embedded mode, or without a vision model: the extractive answer,
  quoted from the matching moments, ``video_qa.ask.extractive``):
  ``answer_question``, which is also what the worker's task runs.

``answer_question`` marks the row ``running``, retrieves the moments and spans in one unit of
work, lets the model answer with no session open, and stores the answer, its moments and notes
(or the failure's reason) in a last one. Status: queued -> running -> done | failed.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass


from sqlalchemy import Engine

from video_qa.analyzers import Backends
from video_qa.ask import AskResult, answer, retrieve
from video_qa.config import Settings
from video_qa.db import unit_of_work
from video_qa.media.errors import MediaError
from video_qa.models import Question, Video, utcnow
from video_qa.pipeline.failures import file_name, without_paths
from video_qa.services.videos import analysed_video

log = logging.getLogger(__name__)

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
POLL_S = 0.25

SendAsk = Callable[[int], None]  # queues the ask task for a question id
OnProgress = Callable[[str, float], None]  # (status, seconds waited so far)
BackendsFactory = Callable[[], Backends]


class AnswerFailed(RuntimeError):
    """The question could not be answered; the message is the stored reason."""


class AnswerTimedOut(TimeoutError):
    """No answer within the time limit (the question may still be answered later)."""


@dataclass(frozen=True)
class Submitted:
    question_id: int
    remote: bool  # True: a worker of the gpu queue answers it (send the ask task)


def answers_remotely(settings: Settings) -> bool:
    """Server mode with a vision-language model: the model runs on a gpu worker, not here."""
    return bool(settings.vlm_model) and not settings.embedded_broker


def submit_question(engine: Engine, settings: Settings, video_id: int, question: str) -> Submitted:
    """Store ``question`` as queued (LookupError: no such video; ValueError: an empty question;
    ``VideoFailed``, a ValueError too: the video's analysis failed, it has nothing to ask about)."""
    question = (question or "").strip()
    if not question:
        raise ValueError("the question is empty")
    with unit_of_work(engine) as session:
        if session.get(Video, video_id) is None:
            raise LookupError(f"no video {video_id}")
        analysed_video(session, video_id)
        row = Question(video_id=video_id, question=question, moments=[], status=QUEUED)
        session.add(row)
        session.flush()
        question_id = row.id
    return Submitted(question_id, answers_remotely(settings))


def result_of(row: Question) -> AskResult:
    meta = row.meta or {}
    return AskResult(row.id, row.answer, row.model, bool(meta.get("test_model")), list(row.moments or []),
                     list(meta.get("notes") or []))


def _reason(error: BaseException, video: Video | None) -> str:
    """What the user is told: the error in the video's own name, never a server path."""
    if isinstance(error, (LookupError, ValueError, MediaError)):
        if video is None:
            return without_paths(str(error))
        return without_paths(str(error), video.path, file_name(video.title, video.path))
    return f"the answer failed ({type(error).__name__}); the worker's log has the details"


def _fail(engine: Engine, question_id: int, error: BaseException) -> str:
    """Store the failure on the question; the reason as the user is told it."""
    with unit_of_work(engine) as session:
        row = session.get(Question, question_id)
        if row is None:
            return _reason(error, None)
        row.status, row.error, row.finished_at = FAILED, _reason(error, session.get(Video, row.video_id)), utcnow()
        return row.error


def answer_question(engine: Engine, settings: Settings, question_id: int, backends: Backends, worker: str | None = None,
                    will_retry: Callable[[BaseException], bool] = lambda error: False) -> AskResult:
    """Answer a stored question and store the result (what the gpu task and the in-process path
    run). A failure is stored on the row and raised, unless ``will_retry(error)`` (the task will
    run again: the row stays running)."""
    try:
        with unit_of_work(engine) as session:
            row = session.get(Question, question_id)
            if row is None:
                raise LookupError(f"no question {question_id}")
            if row.status == DONE:  # a message delivered again after the answer was stored
                return result_of(row)
            row.status, row.started_at, row.error = RUNNING, utcnow(), None
            prepared = retrieve(session, engine, row.video_id, row.question, backends.embedder)
        result = answer(prepared, settings, backends.vlm)  # no session open while the model runs
    except Exception as error:  # stored and re-raised
        if not will_retry(error):
            log.exception("question %d failed", question_id)
            told = _fail(engine, question_id, error)
            if isinstance(error, MediaError):  # its message names the server's path: the user's words instead
                raise AnswerFailed(told) from error
        raise
    with unit_of_work(engine) as session:
        row = session.get(Question, question_id)
        if row is None:  # the video was deleted meanwhile
            raise LookupError(f"no question {question_id}")
        row.answer, row.model, row.moments = result.answer, result.model, result.moments
        row.meta = {"notes": result.notes, "test_model": result.test_model, "worker": worker, "pid": os.getpid()}
        row.status, row.finished_at = DONE, utcnow()
    result.question_id = question_id
    return result


def wait_for_answer(engine: Engine, question_id: int, timeout: float,
                    on_progress: OnProgress | None = None, poll: float = POLL_S) -> AskResult:
    """Poll the question's row (one short unit of work each time) until it is done (its result)
    or failed (``AnswerFailed``); ``AnswerTimedOut`` after ``timeout`` seconds."""
    began = time.monotonic()
    while True:
        with unit_of_work(engine) as session:
            row = session.get(Question, question_id)
            if row is None:
                raise LookupError(f"no question {question_id}")
            status, error = row.status, row.error
            result = result_of(row) if status == DONE else None
        waited = time.monotonic() - began
        if on_progress is not None:
            on_progress(status, waited)
        if result is not None:
            return result
        if status == FAILED:
            raise AnswerFailed(error or "the answer failed")
        if waited >= timeout:
            raise AnswerTimedOut(f"no answer after {timeout:.0f} s (the question is {status}); is a worker "
                                 "taking the gpu queue running (`videoqa workers --queue gpu`)?")
        time.sleep(min(poll, max(0.0, timeout - waited)))


def ask(engine: Engine, settings: Settings, send_ask: SendAsk | None, video_id: int, question: str,
        backends_factory: BackendsFactory, timeout: float | None = None,
        on_progress: OnProgress | None = None) -> AskResult:
    """Store the question and answer it: on a gpu worker (server mode with a vision model and a
    ``send_ask``), waiting for it; else in this process with ``backends_factory()``.

    ``timeout`` defaults to ``settings.ask_timeout`` (VIDEOQA_ASK_TIMEOUT).
    Raises LookupError (no such video), ValueError (empty question), AnswerFailed, AnswerTimedOut."""
    submitted = submit_question(engine, settings, video_id, question)
    if submitted.remote and send_ask is not None:
        try:
            send_ask(submitted.question_id)
        except Exception as error:  # the broker is away: the question is failed, the caller told
            _fail(engine, submitted.question_id, error)
            raise
        return wait_for_answer(engine, submitted.question_id, settings.ask_timeout if timeout is None else timeout,
                               on_progress)
    if on_progress is not None:
        on_progress(RUNNING, 0.0)
    return answer_question(engine, settings, submitted.question_id, backends_factory())
