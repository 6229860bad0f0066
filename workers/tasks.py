"""The Celery tasks: each pipeline task names one work item and hands it to ``video_qa.pipeline``;
``videoqa.answer_question`` answers one stored question (``video_qa.services.questions``) on the
``gpu`` queue, so the web process never runs the vision-language model.

acks_late with reject-on-worker-lost: a message is acknowledged only after its item is done (or
failed for good), so a killed worker's message is delivered again; the ledger's claim makes that
harmless. Transient errors (database, broker) are retried with exponential backoff, at most
``max_retries`` times; the item's claim is released first so whichever worker gets the retry can
take it.

``register(app, settings, send, max_retries)`` defines the tasks on one app: the settings and the
function that sends follow-up items come in as arguments (this module imports nothing from
``workers.app``, which imports it).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from celery import Celery, Task
from sqlalchemy.exc import SQLAlchemyError

from video_qa.analyzers import get_backends
from video_qa.config import Settings
from video_qa.db import engine_for
from video_qa.logs import log_context
from video_qa.models import ItemPart
from video_qa.pipeline import VIDEO_LEVEL, ItemRef, is_transient, release_claim, run_item
from video_qa.services.questions import answer_question

log = logging.getLogger(__name__)

ASK_TASK = "videoqa.answer_question"
SendItems = Callable[[Celery, list[ItemRef]], None]


def _backoff(retries: int) -> int:
    return min(60, 2 ** retries)


def _release(settings: Settings, task: Task, ref: ItemRef) -> None:
    """Best effort: put a claimed item back to queued before a retry (the database may be the
    thing that is down; then the claim stays and the retry, or recovery after the time limit,
    takes it over)."""
    try:
        release_claim(engine_for(settings.resolved_database_url), ref, task.request.hostname or "unknown-worker")
    except SQLAlchemyError as error:
        log.warning("%s: could not release the claim before retrying (%s)", ref.label(), error)


def execute(settings: Settings, send: SendItems, task: Task, ref: ItemRef) -> None:
    engine = engine_for(settings.resolved_database_url)
    worker = task.request.hostname or "unknown-worker"
    try:
        with log_context(task_id=task.request.id):
            follow = run_item(engine, ref, worker, settings, lambda: get_backends(settings))
    except Exception as error:  # re-raised: as a retry when transient, else as the task's failure
        if is_transient(error) and task.request.retries < task.max_retries:
            countdown = _backoff(task.request.retries)
            log.warning("%s: transient error (%s: %s); retry %d in %d s", ref.label(), type(error).__name__, error,
                        task.request.retries + 1, countdown)
            _release(settings, task, ref)
            raise task.retry(exc=error, countdown=countdown) from error
        raise
    send(task.app, follow)


def answer(settings: Settings, task: Task, question_id: int) -> None:
    """Answer one question; its row says queued -> running -> done (or failed, with the reason)."""
    engine = engine_for(settings.resolved_database_url)
    retries_left = task.request.retries < task.max_retries
    try:
        with log_context(task_id=task.request.id):
            answer_question(engine, settings, question_id, get_backends(settings),
                            worker=task.request.hostname or "unknown-worker",
                            will_retry=lambda error: retries_left and is_transient(error))
    except Exception as error:  # re-raised: as a retry when transient, else as the task's failure
        if retries_left and is_transient(error):
            countdown = _backoff(task.request.retries)
            log.warning("question %d: transient error (%s); retry in %d s", question_id, error, countdown)
            raise task.retry(exc=error, countdown=countdown) from error
        raise


def register(app: Celery, settings: Settings, send: SendItems, max_retries: int) -> None:
    options = {"bind": True, "shared": False, "acks_late": True, "reject_on_worker_lost": True,
               "max_retries": max_retries}

    @app.task(name="videoqa.ingest", **options)
    def ingest(self: Task, video_id: int, clip_index: int = VIDEO_LEVEL) -> None:
        """Probe, plan, store the clips, fan out their parts."""
        execute(settings, send, self, ItemRef(int(video_id), VIDEO_LEVEL, ItemPart.ingest.value))

    @app.task(name="videoqa.analyze_clip", **options)
    def analyze_clip(self: Task, video_id: int, clip_index: int) -> None:
        """One clip's audio and sampled frames: speech, on-screen text, embeddings (cpu queue)."""
        execute(settings, send, self, ItemRef(int(video_id), int(clip_index), ItemPart.hear_read.value))

    @app.task(name="videoqa.see_clip", **options)
    def see_clip(self: Task, video_id: int, clip_index: int) -> None:
        """One clip's planned frames through the vision-language model (gpu queue)."""
        execute(settings, send, self, ItemRef(int(video_id), int(clip_index), ItemPart.see.value))

    @app.task(name="videoqa.look_clip", **options)
    def look_clip(self: Task, video_id: int, clip_index: int) -> None:
        """One clip's visual moments alone, where its hear_read part did not make them (cpu queue)."""
        execute(settings, send, self, ItemRef(int(video_id), int(clip_index), ItemPart.look.value))

    @app.task(name="videoqa.finalize", **options)
    def finalize(self: Task, video_id: int, clip_index: int = VIDEO_LEVEL) -> None:
        """Summary and chapters; the video becomes ready."""
        execute(settings, send, self, ItemRef(int(video_id), VIDEO_LEVEL, ItemPart.finalize.value))

    @app.task(name=ASK_TASK, **options)
    def answer_question_task(self: Task, question_id: int) -> None:
        """One question about a video, answered by the vision-language model (gpu queue)."""
        answer(settings, self, int(question_id))
