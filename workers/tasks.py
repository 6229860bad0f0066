"""The pipeline's Celery tasks: each names one work item and hands it to ``video_qa.pipeline``.

acks_late with reject-on-worker-lost: a message is acknowledged only after its item is done (or
failed for good), so a killed worker's message is delivered again; the ledger's claim makes that
harmless. Transient errors (database, broker) are retried with exponential backoff; the item's
claim is released first so whichever worker gets the retry can take it.
"""

from __future__ import annotations

import logging

from celery import Celery, Task

from video_qa.analyzers import get_backends
from video_qa.db import engine_for, unit_of_work
from video_qa.models import ItemPart, ItemStatus, WorkItem
from video_qa.logs import log_context
from video_qa.pipeline import VIDEO_LEVEL, ItemRef, is_transient, run_item

log = logging.getLogger(__name__)


def _release(task: Task, ref: ItemRef) -> None:
    """Best effort: put a claimed item back to queued before a retry (the database may be the
    thing that is down; then the claim stays and the retry, or recovery after the time limit,
    takes it over)."""
    from sqlalchemy import update
    from sqlalchemy.exc import SQLAlchemyError

    from workers.app import settings_of

    settings = settings_of(task.app)
    try:
        with unit_of_work(engine_for(settings.resolved_database_url)) as session:
            session.execute(
                update(WorkItem)
                .where(WorkItem.video_id == ref.video_id, WorkItem.clip_index == ref.clip_index,
                       WorkItem.part == ref.part, WorkItem.status == ItemStatus.running.value,
                       WorkItem.worker == task.request.hostname)
                .values(status=ItemStatus.queued.value, worker=None)
            )
    except SQLAlchemyError as error:
        log.warning("%s: could not release the claim before retrying (%s)", ref.label(), error)


def execute(task: Task, ref: ItemRef) -> None:
    from workers.app import send_items, settings_of

    settings = settings_of(task.app)
    engine = engine_for(settings.resolved_database_url)
    worker = task.request.hostname or "unknown-worker"
    try:
        with log_context(task_id=task.request.id):
            follow = run_item(engine, ref, worker, settings, lambda: get_backends(settings))
    except Exception as error:  # re-raised: as a retry when transient, else as the task's failure
        if is_transient(error) and task.request.retries < task.max_retries:
            countdown = min(60, 2 ** task.request.retries)
            log.warning("%s: transient error (%s: %s); retry %d in %d s", ref.label(), type(error).__name__, error,
                        task.request.retries + 1, countdown)
            _release(task, ref)
            raise task.retry(exc=error, countdown=countdown) from error
        raise
    send_items(task.app, follow)


def register(app: Celery) -> None:
    options = {"bind": True, "shared": False, "acks_late": True, "reject_on_worker_lost": True, "max_retries": 5}

    @app.task(name="videoqa.ingest", **options)
    def ingest(self: Task, video_id: int, clip_index: int = VIDEO_LEVEL) -> None:
        """Probe, plan, store the clips, fan out their parts."""
        execute(self, ItemRef(int(video_id), VIDEO_LEVEL, ItemPart.ingest.value))

    @app.task(name="videoqa.analyze_clip", **options)
    def analyze_clip(self: Task, video_id: int, clip_index: int) -> None:
        """One clip's audio and sampled frames: speech, on-screen text, embeddings (cpu queue)."""
        execute(self, ItemRef(int(video_id), int(clip_index), ItemPart.hear_read.value))

    @app.task(name="videoqa.see_clip", **options)
    def see_clip(self: Task, video_id: int, clip_index: int) -> None:
        """One clip's planned frames through the vision-language model (gpu queue)."""
        execute(self, ItemRef(int(video_id), int(clip_index), ItemPart.see.value))

    @app.task(name="videoqa.finalize", **options)
    def finalize(self: Task, video_id: int, clip_index: int = VIDEO_LEVEL) -> None:
        """Summary and chapters; the video becomes ready."""
        execute(self, ItemRef(int(video_id), VIDEO_LEVEL, ItemPart.finalize.value))
