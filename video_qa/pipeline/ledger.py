"""The work ledger: what a video's work is, who holds each part, and the rules for taking it.

A video's work is a set of ``WorkItem`` rows keyed by (video, clip, part). A message only names
an item (``ItemRef``); ``claim`` takes the item with one conditional UPDATE, so a redelivered or
duplicated message for an item that is done, or running on a live worker, does nothing, and a
claim left by a dead worker is taken over (``liveness`` says who is alive).

**Takeovers.** ``WorkItem.takeovers`` counts how often the item was taken away from a holder that
died (or overran the hard time limit) since the item was last requested: by ``claim`` when it
takes a running item from a dead worker, or by ``recovery.recover`` when it queues such an item
again. Each death is counted once: after recovery queues the item, the claim takes a queued item;
after a claim takes it, the item runs under a live worker. An item already taken over
``MAX_TAKEOVERS`` times is not taken again: recovery fails it (something in it kills workers). A
new request (``request_ingest``) starts the count at 0 for every item of the video.
``WorkItem.attempts`` counts claims, for the record only; no decision reads it.

Fan-in is decided in the database: the part that finishes the last clip item moves ``finalize``
from waiting to queued with a conditional UPDATE, exactly once. Messages are sent only after
the transaction that queued their items has committed. Functions taking a ``Session`` never
commit; those taking an ``Engine`` are their own unit of work.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, case, func, or_, select, update
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from video_qa.analyzers import wants_visual
from video_qa.config import Settings
from video_qa.db import unit_of_work
from video_qa.media.errors import MediaError
from video_qa.models import (
    VIDEO_LEVEL,
    Clip,
    ClipStatus,
    ItemPart,
    ItemStatus,
    Job,
    JobStatus,
    Video,
    VideoStatus,
    WorkItem,
    utcnow,
)
from video_qa.pipeline.liveness import live_worker_names

log = logging.getLogger(__name__)

PROGRESS_EVERY = timedelta(seconds=1)
PLAN_FIELDS = (
    "clip_seconds", "base_fps", "token_budget_per_hour", "max_frames_per_clip", "min_pixels", "max_pixels",
    "max_clip_tokens", "adaptive_fps",
)
PART_FIELDS: dict[str, tuple[str, ...]] = {
    ItemPart.ingest.value: PLAN_FIELDS,
    ItemPart.hear_read.value: PLAN_FIELDS + ("speech_model", "ocr", "ocr_fps", "ocr_min_score", "ocr_det_side",
                                             "embed_model"),
    ItemPart.see.value: PLAN_FIELDS + ("vlm_model", "vlm_max_new_tokens", "embed_model"),
    ItemPart.look.value: PLAN_FIELDS + ("ocr_fps", "visual_model", "labels", "visual_max_shot", "visual_int8",
                                        "embed_model"),
    ItemPart.finalize.value: PLAN_FIELDS + (
        "speech_model", "ocr", "ocr_fps", "ocr_min_score", "ocr_det_side", "embed_model", "vlm_model",
        "vlm_max_new_tokens", "visual_model", "labels", "visual_max_shot", "visual_int8",
    ),
}
CLIP_PARTS = (ItemPart.hear_read.value, ItemPart.see.value, ItemPart.look.value)
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (OperationalError, TimeoutError, ConnectionError)
MAX_TAKEOVERS = 5  # an item taken over from this many dead holders fails when its holder dies again


class WorkGone(Exception):
    """The video, clip or work item a message names is no longer there (deleted, or re-planned
    while the message waited), or was never set up (a clip part before its video was probed)."""


@dataclass(frozen=True)
class ItemRef:
    video_id: int
    clip_index: int
    part: str

    @property
    def queue(self) -> str:
        return "gpu" if self.part == ItemPart.see.value else "cpu"

    def label(self) -> str:
        where = "" if self.clip_index == VIDEO_LEVEL else f" clip {self.clip_index}"
        return f"video {self.video_id}{where} {self.part}"


# The version of what a part computes, for the same settings: bumped when its results change
# (2: text tracks with honest intervals, noise out, content chapters), so re-ingesting an archive
# analysed by an older release recomputes those parts and leaves the others done.
# A part's version changes when its results change for the same settings: finalize 3 drops the
# changing text (clocks, counters) that hear_read 2 stored as moments, without redoing hear_read.
# look 2: a shot's labels name its colours (model.vision.labels: the colours vocabulary), so a video
# analysed before gets them on its next ingest, by look alone (speech and text stay done).
PART_VERSIONS = {ItemPart.hear_read.value: 2, ItemPart.look.value: 2, ItemPart.finalize.value: 3}


def settings_key(settings: Settings, part: str) -> str:
    values: dict[str, object] = {name: getattr(settings, name) for name in PART_FIELDS[part]}
    if part in PART_VERSIONS:
        values["version"] = PART_VERSIONS[part]
    return hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()[:32]


def wants_see(settings: Settings) -> bool:
    return bool(settings.vlm_model)


def wants_look(settings: Settings) -> bool:
    """Visual moments are made: the ``look`` part is planned (``analyzers.wants_visual``)."""
    return wants_visual(settings)


def is_transient(error: BaseException) -> bool:
    """A database or broker hiccup worth retrying (not bad media, not a bug)."""
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, TRANSIENT_ERRORS):
        return True
    if isinstance(error, MediaError) and not error.permanent:  # the media tools, not the file
        return True
    try:
        import redis
        from kombu.exceptions import OperationalError as KombuOperationalError
    except ImportError:  # pragma: no cover - both ship with celery[redis]
        return False
    return isinstance(error, (redis.ConnectionError, redis.TimeoutError, KombuOperationalError))


# ---- requests

def active_job(session: Session, video_id: int) -> Job | None:
    return session.scalars(
        select(Job).where(Job.video_id == video_id, Job.status.in_([JobStatus.queued.value, JobStatus.running.value]))
        .order_by(Job.id.desc())
    ).first()


def get_item(session: Session, video_id: int, clip_index: int, part: str) -> WorkItem | None:
    return session.scalars(
        select(WorkItem).where(WorkItem.video_id == video_id, WorkItem.clip_index == clip_index, WorkItem.part == part)
    ).first()


def queue_again(item: WorkItem, now: datetime, status: str = ItemStatus.queued.value) -> None:
    """``item`` is to run (again): queued (or waiting, for finalize), nobody holds it, no error.
    Its takeover count stays; ``request_ingest`` starts it again."""
    item.status, item.error, item.worker = status, None, None
    if status == ItemStatus.queued.value:
        item.queued_at = now


def request_ingest(session: Session, video_id: int, settings: Settings) -> tuple[Job, list[ItemRef]]:
    """Queue (or re-queue) a video's ingest; the refs are to be sent after commit.

    Ingest always runs again when asked (probe and plan are cheap) and decides per part what is
    already done with the same settings; a video that failed is retried from where it failed.
    """
    video = session.get(Video, video_id)
    if video is None:
        raise LookupError(f"no video {video_id}")
    now = utcnow()
    job = active_job(session, video_id)
    if job is None:
        job = Job(video_id=video_id, status=JobStatus.queued.value, stage="queued", progress=0.0)
        session.add(job)
    item = get_item(session, video_id, VIDEO_LEVEL, ItemPart.ingest.value)
    if item is None:
        item = WorkItem(video_id=video_id, clip_index=VIDEO_LEVEL, part=ItemPart.ingest.value, attempts=0,
                        takeovers=0)
        session.add(item)
    elif item.status == ItemStatus.running.value and item.worker in live_worker_names(session, settings, now):
        session.flush()
        return job, []  # a live worker is on it
    queue_again(item, now)
    session.execute(update(WorkItem).where(WorkItem.video_id == video_id).values(takeovers=0)
                    .execution_options(synchronize_session=False))  # a new request: deaths counted afresh
    if video.status != VideoStatus.ready.value:
        video.status = VideoStatus.processing.value
    video.error = None
    session.flush()
    return job, [ItemRef(video_id, VIDEO_LEVEL, ItemPart.ingest.value)]


# ---- claiming and finishing

def claim(engine: Engine, ref: ItemRef, worker: str, settings: Settings) -> bool:
    """Take the item if it is queued, running under this worker (its own redelivered message), or
    running under a dead worker and taken over fewer than ``MAX_TAKEOVERS`` times (a takeover,
    counted)."""
    now = utcnow()
    running = WorkItem.status == ItemStatus.running.value
    with unit_of_work(engine) as session:
        live_others = [name for name in live_worker_names(session, settings, now) if name != worker]
        other_holder = or_(WorkItem.worker.is_(None), WorkItem.worker != worker)
        dead_holder = or_(WorkItem.worker.is_(None), WorkItem.worker.not_in(live_others))
        stmt = (
            update(WorkItem)
            .where(
                WorkItem.video_id == ref.video_id, WorkItem.clip_index == ref.clip_index, WorkItem.part == ref.part,
                or_(
                    WorkItem.status == ItemStatus.queued.value,
                    and_(running, WorkItem.worker == worker),
                    and_(running, dead_holder, WorkItem.takeovers < MAX_TAKEOVERS),
                ),
            )
            .values(status=ItemStatus.running.value, worker=worker, attempts=WorkItem.attempts + 1,
                    takeovers=case((and_(running, other_holder), WorkItem.takeovers + 1), else_=WorkItem.takeovers),
                    started_at=now, error=None)
            .execution_options(synchronize_session=False)
        )
        claimed = session.execute(stmt).rowcount == 1
        if claimed:
            job = active_job(session, ref.video_id)
            if job is not None and job.status == JobStatus.queued.value:
                job.status, job.started_at = JobStatus.running.value, now
    return claimed


def release_claim(engine: Engine, ref: ItemRef, worker: str) -> bool:
    """Put an item ``worker`` holds back to queued (before a retry after a transient error), so
    whichever worker gets the retry claims it; no takeover is counted. False when it did not hold it."""
    with unit_of_work(engine) as session:
        return session.execute(
            update(WorkItem)
            .where(WorkItem.video_id == ref.video_id, WorkItem.clip_index == ref.clip_index, WorkItem.part == ref.part,
                   WorkItem.status == ItemStatus.running.value, WorkItem.worker == worker)
            .values(status=ItemStatus.queued.value, worker=None, queued_at=utcnow())
            .execution_options(synchronize_session=False)
        ).rowcount == 1


def finish(session: Session, ref: ItemRef, seconds: dict[str, float], extra: dict[str, Any] | None = None) -> WorkItem:
    """Mark the item done with its stats (in the transaction that stores its results)."""
    item = get_item(session, ref.video_id, ref.clip_index, ref.part)
    if item is None:
        raise WorkGone(f"{ref.label()}: its work item is gone (the video was deleted or re-planned)")
    item.status, item.finished_at, item.error = ItemStatus.done.value, utcnow(), None
    item.stats = {"seconds": seconds, **(extra or {})}
    return item


def record_failure(engine: Engine, ref: ItemRef, reason: str) -> None:
    """The item, its job and its video fail with ``reason`` (shown to users: no server paths);
    nothing else is touched."""
    now = utcnow()
    with unit_of_work(engine) as session:
        item = get_item(session, ref.video_id, ref.clip_index, ref.part)
        if item is not None:
            item.status, item.error, item.finished_at = ItemStatus.failed.value, reason, now
        video = session.get(Video, ref.video_id)
        if video is not None:
            video.status, video.error = VideoStatus.failed.value, reason
        job = active_job(session, ref.video_id)
        if job is not None:
            job.status, job.message, job.finished_at = JobStatus.failed.value, reason, now
    log.warning("%s failed: %s", ref.label(), reason)


def progress(session: Session, video_id: int, stage: str | None = None, force: bool = False) -> None:
    """Write the job's progress (done items / all items), at most about once a second."""
    job = active_job(session, video_id)
    if job is None:
        return
    now = utcnow()
    if stage:
        job.stage = stage
    if not force and job.progress_at is not None and now - job.progress_at < PROGRESS_EVERY:
        return
    counts = item_counts(session, video_id)
    total = sum(counts.values())
    if total:
        job.progress = max(job.progress, min(1.0, counts.get(ItemStatus.done.value, 0) / total))
        job.progress_at = now


def item_counts(session: Session, video_id: int) -> dict[str, int]:
    """How many of the video's items are in each status."""
    return dict(session.execute(  # type: ignore[arg-type]
        select(WorkItem.status, func.count()).where(WorkItem.video_id == video_id).group_by(WorkItem.status)
    ).all())


def queue_finalize_if_complete(session: Session, video_id: int) -> list[ItemRef]:
    """Fan-in: when every clip item is done, move finalize from waiting to queued (exactly once)."""
    remaining = session.scalar(
        select(func.count()).select_from(WorkItem).where(
            WorkItem.video_id == video_id, WorkItem.clip_index >= 0, WorkItem.status != ItemStatus.done.value
        )
    )
    if remaining:
        return []
    moved = session.execute(
        update(WorkItem)
        .where(WorkItem.video_id == video_id, WorkItem.part == ItemPart.finalize.value,
               WorkItem.status == ItemStatus.waiting.value)
        .values(status=ItemStatus.queued.value, queued_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    if moved != 1:
        return []
    progress(session, video_id, stage="finalizing", force=True)
    return [ItemRef(video_id, VIDEO_LEVEL, ItemPart.finalize.value)]


def mark_clip(session: Session, clip_id: int, video_id: int, index: int) -> None:
    """The clip is done when every item of it is, else running."""
    pending = session.scalar(select(func.count()).select_from(WorkItem).where(
        WorkItem.video_id == video_id, WorkItem.clip_index == index, WorkItem.status != ItemStatus.done.value,
    ))
    clip = session.get(Clip, clip_id)
    if clip is not None:
        clip.status = ClipStatus.done.value if not pending else ClipStatus.running.value


def clip_part_done(session: Session, ref: ItemRef, clip_id: int) -> list[ItemRef]:
    """After a clip part's results are stored and the item finished: the clip's status, the job's
    progress, and the fan-in; returns ``finalize`` when it is now queued. A clip part redone after
    finalize (a takeover that raced it) makes the stitched text and chapters stale: finalize
    waits again and the video is processing until it has run."""
    session.flush()
    mark_clip(session, clip_id, ref.video_id, ref.clip_index)
    final = get_item(session, ref.video_id, VIDEO_LEVEL, ItemPart.finalize.value)
    if final is not None and final.status == ItemStatus.done.value:
        final.status, final.error, final.worker = ItemStatus.waiting.value, None, None
        video = session.get(Video, ref.video_id)
        if video is not None and video.status == VideoStatus.ready.value:
            video.status = VideoStatus.processing.value  # ready again when finalize has run
        session.flush()
    progress(session, ref.video_id)
    return queue_finalize_if_complete(session, ref.video_id)


def complete(session: Session, video_id: int) -> None:
    """The video is ready and its job done."""
    video = session.get(Video, video_id)
    if video is not None:
        video.status, video.error = VideoStatus.ready.value, None
    job = active_job(session, video_id)
    if job is not None:
        job.status, job.stage, job.progress = JobStatus.done.value, "done", 1.0
        job.finished_at = job.progress_at = utcnow()
        job.message = None
    log.info("video %d: ready", video_id)
