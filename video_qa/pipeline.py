"""The ingest pipeline's orchestration, independent of Celery: the work ledger and its rules.

A video's work is a set of ``WorkItem`` rows: ``ingest`` (probe, plan, store clips), per clip a
``hear_read`` part (cpu queue: speech, on-screen text, embeddings) and, when a vision-language
model is configured, a ``see`` part (gpu queue), and ``finalize`` (summary, chapters, ready).
A message only names an item (``ItemRef``). ``run_item`` claims the item with one conditional
UPDATE, so a redelivered or duplicated message for an item that is done, or running on a live
worker, does nothing; a claim left by a dead worker is taken over. Results are written in the
same transaction that marks the item done, and moments replace their earlier rows under the same
keys, so a part that runs twice leaves what one run leaves.

Fan-in is decided in the database, not by a chord counter: the part that finishes the last
clip item moves ``finalize`` from waiting to queued with a conditional UPDATE, exactly once.
Messages are sent only after the transaction that queued their items has committed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, delete, func, or_, select, update
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from model.sources import BackendUnavailable
from video_qa import stages
from video_qa.config import Settings
from video_qa.db import unit_of_work
from video_qa.logs import log_context
from video_qa.media.errors import MediaError
from video_qa.media.plan import ClipPlan
from video_qa.media.probe import Probe
from video_qa.models import (
    Clip,
    ClipStatus,
    ItemPart,
    ItemStatus,
    Job,
    JobStatus,
    Moment,
    MomentKind,
    Video,
    VideoStatus,
    WorkerProcess,
    WorkItem,
    utcnow,
)
from video_qa.moments import replace_moments

log = logging.getLogger(__name__)

VIDEO_LEVEL = -1
PROGRESS_EVERY = timedelta(seconds=1)
PLAN_FIELDS = (
    "clip_seconds", "base_fps", "token_budget_per_hour", "max_frames_per_clip", "min_pixels", "max_pixels",
    "max_clip_tokens", "adaptive_fps",
)
PART_FIELDS: dict[str, tuple[str, ...]] = {
    ItemPart.ingest.value: PLAN_FIELDS,
    ItemPart.hear_read.value: PLAN_FIELDS + ("speech_model", "ocr", "ocr_fps", "ocr_min_score", "embed_model"),
    ItemPart.see.value: PLAN_FIELDS + ("vlm_model", "vlm_max_new_tokens", "embed_model"),
    ItemPart.finalize.value: PLAN_FIELDS + (
        "speech_model", "ocr", "ocr_fps", "ocr_min_score", "embed_model", "vlm_model", "vlm_max_new_tokens",
    ),
}
CLIP_PARTS = (ItemPart.hear_read.value, ItemPart.see.value)
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (OperationalError, TimeoutError, ConnectionError)
MAX_TAKEOVERS = 5  # a part whose worker died this many times fails instead of killing another


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


def settings_key(settings: Settings, part: str) -> str:
    values = {name: getattr(settings, name) for name in PART_FIELDS[part]}
    return hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()[:32]


def wants_see(settings: Settings) -> bool:
    return bool(settings.vlm_model)


def is_transient(error: BaseException) -> bool:
    """A database or broker hiccup worth retrying (not bad media, not a bug)."""
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, TRANSIENT_ERRORS):
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


def latest_job(session: Session, video_id: int) -> Job | None:
    return session.scalars(select(Job).where(Job.video_id == video_id).order_by(Job.id.desc())).first()


def _item(session: Session, video_id: int, clip_index: int, part: str) -> WorkItem | None:
    return session.scalars(
        select(WorkItem).where(WorkItem.video_id == video_id, WorkItem.clip_index == clip_index, WorkItem.part == part)
    ).first()


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        return True
    return True


def live_workers(session: Session, settings: Settings, now: datetime | None = None) -> list[WorkerProcess]:
    """Workers whose heartbeat is recent; on this machine, also only those whose process exists
    (a worker killed a second ago is not waited for)."""
    cutoff = (now or utcnow()) - timedelta(seconds=settings.worker_stale_after)
    here = socket.gethostname()
    rows = session.scalars(select(WorkerProcess).where(WorkerProcess.heartbeat_at >= cutoff))
    return [w for w in rows if w.hostname != here or _process_exists(w.pid)]


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
        job = Job(video_id=video_id, status=JobStatus.queued.value, stage="queued", progress=0.0, attempts=1)
        session.add(job)
    item = _item(session, video_id, VIDEO_LEVEL, ItemPart.ingest.value)
    if item is None:
        item = WorkItem(video_id=video_id, clip_index=VIDEO_LEVEL, part=ItemPart.ingest.value)
        session.add(item)
    elif item.status == ItemStatus.running.value and item.worker in {w.name for w in live_workers(session, settings, now)}:
        session.flush()
        return job, []  # a live worker is on it
    item.status, item.queued_at, item.error, item.worker = ItemStatus.queued.value, now, None, None
    if video.status != VideoStatus.ready.value:
        video.status = VideoStatus.processing.value
    video.error = None
    session.flush()
    return job, [ItemRef(video_id, VIDEO_LEVEL, ItemPart.ingest.value)]


# ---- claiming and finishing

def claim(engine: Engine, ref: ItemRef, worker: str, settings: Settings) -> bool:
    """Take the item if it is queued, or running under this worker or a dead one."""
    now = utcnow()
    cutoff = now - timedelta(seconds=settings.worker_stale_after)
    live_others = select(WorkerProcess.name).where(WorkerProcess.heartbeat_at >= cutoff, WorkerProcess.name != worker)
    stmt = (
        update(WorkItem)
        .where(
            WorkItem.video_id == ref.video_id, WorkItem.clip_index == ref.clip_index, WorkItem.part == ref.part,
            or_(
                WorkItem.status == ItemStatus.queued.value,
                and_(WorkItem.status == ItemStatus.running.value,
                     or_(WorkItem.worker.is_(None), WorkItem.worker.not_in(live_others))),
            ),
        )
        .values(status=ItemStatus.running.value, worker=worker, attempts=WorkItem.attempts + 1,
                started_at=now, error=None)
        .execution_options(synchronize_session=False)
    )
    with unit_of_work(engine) as session:
        claimed = session.execute(stmt).rowcount == 1
        if claimed:
            job = active_job(session, ref.video_id)
            if job is not None and job.status == JobStatus.queued.value:
                job.status, job.started_at = JobStatus.running.value, now
    return claimed


def _finish(session: Session, ref: ItemRef, clock: stages.Clock, extra: dict[str, Any] | None = None) -> WorkItem:
    item = _item(session, ref.video_id, ref.clip_index, ref.part)
    if item is None:
        raise LookupError(f"{ref.label()}: its work item is gone (the video was deleted or re-planned)")
    item.status, item.finished_at, item.error = ItemStatus.done.value, utcnow(), None
    item.stats = {"seconds": clock.rounded(), **(extra or {})}
    return item


def record_failure(engine: Engine, ref: ItemRef, reason: str) -> None:
    """The item, its job and its video fail with ``reason``; nothing else is touched."""
    now = utcnow()
    with unit_of_work(engine) as session:
        item = _item(session, ref.video_id, ref.clip_index, ref.part)
        if item is not None:
            item.status, item.error, item.finished_at = ItemStatus.failed.value, reason, now
        video = session.get(Video, ref.video_id)
        if video is not None:
            video.status, video.error = VideoStatus.failed.value, reason
        job = active_job(session, ref.video_id)
        if job is not None:
            job.status, job.message, job.finished_at = JobStatus.failed.value, reason, now
    log.warning("%s failed: %s", ref.label(), reason)


def _progress(session: Session, video_id: int, stage: str | None = None, force: bool = False) -> None:
    """Write the job's progress (done items / all items), at most about once a second."""
    job = active_job(session, video_id)
    if job is None:
        return
    now = utcnow()
    if stage:
        job.stage = stage
    if not force and job.progress_at is not None and now - job.progress_at < PROGRESS_EVERY:
        return
    counts = dict(session.execute(
        select(WorkItem.status, func.count()).where(WorkItem.video_id == video_id).group_by(WorkItem.status)
    ).all())
    total = sum(counts.values())
    if total:
        job.progress = max(job.progress, min(1.0, counts.get(ItemStatus.done.value, 0) / total))
        job.progress_at = now


def _queue_finalize_if_complete(session: Session, video_id: int) -> list[ItemRef]:
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
    _progress(session, video_id, stage="finalizing", force=True)
    return [ItemRef(video_id, VIDEO_LEVEL, ItemPart.finalize.value)]


# ---- running one item

Backends = Any  # video_qa.analyzers.Backends


def run_item(engine: Engine, ref: ItemRef, worker: str, settings: Settings, backends: Callable[[], Backends]) -> list[ItemRef]:
    """Claim and run one item; returns the items to send next. Bad media or an unavailable model
    fails the video with the reason and returns normally; transient errors are raised for a
    retry; any other error fails the video with its type and message and is raised."""
    with log_context(video_id=ref.video_id, clip=None if ref.clip_index == VIDEO_LEVEL else ref.clip_index,
                     part=ref.part, job_id=_job_id(engine, ref.video_id)):
        return _run_item(engine, ref, worker, settings, backends)


def _job_id(engine: Engine, video_id: int) -> int | None:
    with unit_of_work(engine) as session:
        job = latest_job(session, video_id)
        return None if job is None else job.id


def _run_item(engine: Engine, ref: ItemRef, worker: str, settings: Settings,
              backends: Callable[[], Backends]) -> list[ItemRef]:
    if not claim(engine, ref, worker, settings):
        log.info("%s: done already, or a live worker has it; nothing to do", ref.label())
        return []
    log.info("%s: started on %s", ref.label(), worker)
    runner = {
        ItemPart.ingest.value: _run_ingest,
        ItemPart.hear_read.value: _run_hear_read,
        ItemPart.see.value: _run_see,
        ItemPart.finalize.value: _run_finalize,
    }[ref.part]
    try:
        follow = runner(engine, ref, settings, backends)
    except (MediaError, BackendUnavailable, LookupError) as error:
        record_failure(engine, ref, _reason(ref, error))
        return []
    except Exception as error:  # recorded on the video, then raised for the worker's log (or a retry)
        if is_transient(error):
            raise
        record_failure(engine, ref, _reason(ref, error, unexpected=True))
        raise
    log.info("%s: done", ref.label())
    return follow


def _reason(ref: ItemRef, error: BaseException, unexpected: bool = False) -> str:
    where = "" if ref.clip_index == VIDEO_LEVEL else f"clip {ref.clip_index} ({ref.part}): "
    text = f"{type(error).__name__}: {error}" if unexpected else str(error)
    return f"{where}{text}"


def _clip_plan(clip: Clip) -> ClipPlan:
    if not clip.plan:
        raise LookupError(f"clip {clip.index} of video {clip.video_id} has no stored plan")
    return ClipPlan(**clip.plan)


def _load_clip(engine: Engine, ref: ItemRef) -> tuple[str, Probe, Clip, ClipPlan, ClipPlan | None]:
    with unit_of_work(engine) as session:
        video = session.get(Video, ref.video_id)
        if video is None or video.probe is None:
            raise LookupError(f"video {ref.video_id} is gone or was never probed")
        clips = {c.index: c for c in session.scalars(
            select(Clip).where(Clip.video_id == ref.video_id, Clip.index.in_([ref.clip_index, ref.clip_index + 1]))
        )}
        if ref.clip_index not in clips:
            raise LookupError(f"video {ref.video_id} has no clip {ref.clip_index}")
        nxt = clips.get(ref.clip_index + 1)
        return (video.path, Probe.from_dict(video.probe), clips[ref.clip_index], _clip_plan(clips[ref.clip_index]),
                _clip_plan(nxt) if nxt is not None else None)


def _mark_clip(session: Session, clip_id: int, video_id: int, index: int) -> None:
    pending = session.scalar(select(func.count()).select_from(WorkItem).where(
        WorkItem.video_id == video_id, WorkItem.clip_index == index, WorkItem.status != ItemStatus.done.value,
    ))
    clip = session.get(Clip, clip_id)
    if clip is not None:
        clip.status = ClipStatus.done.value if not pending else ClipStatus.running.value


def _run_ingest(engine: Engine, ref: ItemRef, settings: Settings, backends: Callable[[], Backends]) -> list[ItemRef]:
    clock = stages.Clock()
    with unit_of_work(engine) as session:
        video = session.get(Video, ref.video_id)
        if video is None:
            raise LookupError(f"video {ref.video_id} is gone")
        path = video.path
        _progress(session, ref.video_id, stage="probing", force=True)
    with clock("decode"):
        probe, plans = stages.probe_and_plan(path, settings)
    parts = [p for p in CLIP_PARTS if p != ItemPart.see.value or wants_see(settings)]
    now = utcnow()
    send: list[ItemRef] = []
    with clock("store"), unit_of_work(engine) as session:
        video = session.get(Video, ref.video_id)
        if video is None:
            raise LookupError(f"video {ref.video_id} is gone")
        video.duration, video.fps, video.codec = probe.duration, probe.avg_fps, probe.video_codec
        video.width, video.height, video.has_audio = probe.width, probe.height, probe.has_audio
        video.probe = probe.to_dict()
        key = settings_key(settings, ItemPart.ingest.value)
        ingest_item = _item(session, ref.video_id, VIDEO_LEVEL, ItemPart.ingest.value)
        existing = {c.index: c for c in session.scalars(select(Clip).where(Clip.video_id == ref.video_id))}
        same_plan = (
            ingest_item is not None and ingest_item.settings_key == key and len(existing) == len(plans)
            and all(existing[p.index].plan == json.loads(json.dumps(p.to_dict())) for p in plans if p.index in existing)
        )
        if not same_plan and existing:
            log.info("video %d: the clip plan changed; clips and their moments are rebuilt", ref.video_id)
            session.execute(delete(Moment).where(Moment.video_id == ref.video_id))
            session.execute(delete(WorkItem).where(WorkItem.video_id == ref.video_id, WorkItem.clip_index >= 0))
            session.execute(delete(Clip).where(Clip.video_id == ref.video_id))
            session.flush()
            existing = {}
        # a part no longer configured (the vision model turned off) no longer holds the video back;
        # the moments it wrote stay, as what that model saw
        session.execute(delete(WorkItem).where(
            WorkItem.video_id == ref.video_id, WorkItem.clip_index >= 0, WorkItem.part.not_in(parts)))
        part_keys = {part: settings_key(settings, part) for part in parts}
        for p in plans:
            clip = existing.get(p.index)
            if clip is None:
                clip = Clip(video_id=ref.video_id, index=p.index, status=ClipStatus.pending.value)
                session.add(clip)
            clip.start, clip.end, clip.sample_fps, clip.frames = p.start, p.end, p.fps, p.frames
            clip.width, clip.height, clip.token_estimate, clip.plan = p.width, p.height, p.tokens, p.to_dict()
            for part in parts:
                item = _item(session, ref.video_id, p.index, part)
                part_key = part_keys[part]
                if item is None:
                    item = WorkItem(video_id=ref.video_id, clip_index=p.index, part=part, attempts=0)
                    session.add(item)
                elif item.status == ItemStatus.done.value and item.settings_key == part_key:
                    continue
                item.status, item.settings_key, item.queued_at = ItemStatus.queued.value, part_key, now
                item.error, item.worker = None, None
                send.append(ItemRef(ref.video_id, p.index, part))
        session.flush()
        for clip in session.scalars(select(Clip).where(Clip.video_id == ref.video_id)):
            _mark_clip(session, clip.id, ref.video_id, clip.index)
        final = _item(session, ref.video_id, VIDEO_LEVEL, ItemPart.finalize.value)
        final_key = settings_key(settings, ItemPart.finalize.value)
        if final is None:
            final = WorkItem(video_id=ref.video_id, clip_index=VIDEO_LEVEL, part=ItemPart.finalize.value, attempts=0)
            session.add(final)
        up_to_date = not send and final.status == ItemStatus.done.value and final.settings_key == final_key
        if not up_to_date:
            final.status, final.settings_key, final.error, final.worker = ItemStatus.waiting.value, final_key, None, None
        done = _finish(session, ref, clock, {"clips": len(plans), "sent": len(send)})
        done.settings_key = key
        session.flush()
        if up_to_date:
            _complete(session, ref.video_id)
        else:
            _progress(session, ref.video_id, stage="analyzing", force=True)
            send += _queue_finalize_if_complete(session, ref.video_id)
    log.info("video %d: %d clips planned, %d parts to run", ref.video_id, len(plans), len(send))
    return send


def _prefetch_key(path: str, part: str, plan: ClipPlan, settings: Settings) -> tuple[Any, ...]:
    return (path, part, plan.index, plan.start, plan.end, settings_key(settings, part))


def _run_hear_read(engine: Engine, ref: ItemRef, settings: Settings, backends: Callable[[], Backends]) -> list[ItemRef]:
    clock = stages.Clock()
    path, probe, clip, plan, nxt = _load_clip(engine, ref)
    b = backends()
    speech, ocr = b.speech is not None, b.ocr is not None

    def loader(p: ClipPlan) -> Callable[[], tuple[Any, float]]:
        return stages.timed(lambda: stages.load_hear_read(path, probe, p, settings, speech, ocr))

    inputs, decode_s, background = stages.PREFETCH.take(_prefetch_key(path, ref.part, plan, settings), loader(plan))
    clock.add("decode", decode_s)
    if nxt is not None:
        stages.PREFETCH.start(_prefetch_key(path, ref.part, nxt, settings), loader(nxt))
    result = stages.hear_read(inputs, plan, settings, b, clock)
    with clock("store"), unit_of_work(engine) as session:
        n_speech = replace_moments(session, ref.video_id, clip.id, clip.index, MomentKind.speech.value, result.speech)
        n_text = replace_moments(session, ref.video_id, clip.id, clip.index, MomentKind.text.value, result.text)
        _add_notes(session, clip.id, result.notes)
        _finish(session, ref, clock, {"speech": n_speech, "text": n_text, "prefetched": background})
        return _after_clip_part(session, ref, clip.id)


def _run_see(engine: Engine, ref: ItemRef, settings: Settings, backends: Callable[[], Backends]) -> list[ItemRef]:
    clock = stages.Clock()
    path, probe, clip, plan, nxt = _load_clip(engine, ref)
    b = backends()
    if b.vlm is None:
        raise BackendUnavailable("VIDEOQA_VLM_MODEL is not set on this worker, but the video was planned with one")

    def loader(p: ClipPlan) -> Callable[[], tuple[Any, float]]:
        return stages.timed(lambda: stages.read_frames(path, p, probe, prefer=settings.frame_reader))

    frames, decode_s, background = stages.PREFETCH.take(_prefetch_key(path, ref.part, plan, settings), loader(plan))
    clock.add("decode", decode_s)
    if nxt is not None:
        stages.PREFETCH.start(_prefetch_key(path, ref.part, nxt, settings), loader(nxt))
    result = stages.see(frames, plan, b, clock)
    with clock("store"), unit_of_work(engine) as session:
        n = replace_moments(session, ref.video_id, clip.id, clip.index, MomentKind.event.value, result.events)
        row = session.get(Clip, clip.id)
        if row is not None:
            row.caption, row.model = result.caption, result.model
        _add_notes(session, clip.id, result.notes)
        _finish(session, ref, clock, {"events": n, "frames": len(frames.frames), "prefetched": background,
                                      "test_model": result.test_model})
        return _after_clip_part(session, ref, clip.id)


def _add_notes(session: Session, clip_id: int, notes: list[str]) -> None:
    clip = session.get(Clip, clip_id)
    if clip is not None and notes:
        clip.notes = list(dict.fromkeys([*(clip.notes or []), *notes]))


def _after_clip_part(session: Session, ref: ItemRef, clip_id: int) -> list[ItemRef]:
    session.flush()
    _mark_clip(session, clip_id, ref.video_id, ref.clip_index)
    _progress(session, ref.video_id)
    return _queue_finalize_if_complete(session, ref.video_id)


def _run_finalize(engine: Engine, ref: ItemRef, settings: Settings, backends: Callable[[], Backends]) -> list[ItemRef]:
    clock = stages.Clock()
    with unit_of_work(engine) as session:
        clips = list(session.scalars(select(Clip).where(Clip.video_id == ref.video_id).order_by(Clip.index)))
        rows = session.execute(
            select(Moment.clip_index, Moment.kind, Moment.text)
            .where(Moment.video_id == ref.video_id, Moment.kind.in_([MomentKind.speech.value, MomentKind.text.value]))
            .order_by(Moment.start, Moment.seq)
        ).all()
        texts: dict[tuple[int, str], list[str]] = {}
        for index, kind, text in rows:
            texts.setdefault((index, kind), []).append(text)
        clip_texts = [
            stages.ClipText(c.start, c.end, c.caption or None, texts.get((c.index, MomentKind.speech.value), []),
                            texts.get((c.index, MomentKind.text.value), []))
            for c in clips
        ]
    b = backends()
    summary = stages.summarize(clip_texts, b, clock)
    chapters = stages.chapters_from(clip_texts)
    with clock("embed"):
        stages.embed_moments(chapters, b.embedder)
    with clock("store"), unit_of_work(engine) as session:
        replace_moments(session, ref.video_id, None, VIDEO_LEVEL, MomentKind.chapter.value, chapters)
        video = session.get(Video, ref.video_id)
        if video is None:
            raise LookupError(f"video {ref.video_id} is gone")
        video.summary = summary
        _finish(session, ref, clock, {"chapters": len(chapters)})
        _complete(session, ref.video_id)
    return []


def _complete(session: Session, video_id: int) -> None:
    video = session.get(Video, video_id)
    if video is not None:
        video.status, video.error = VideoStatus.ready.value, None
    job = active_job(session, video_id)
    if job is not None:
        job.status, job.stage, job.progress = JobStatus.done.value, "done", 1.0
        job.finished_at = job.progress_at = utcnow()
        job.message = None
    log.info("video %d: ready", video_id)


# ---- status for the CLI and the web app

@dataclass(frozen=True)
class Status:
    video_id: int
    title: str
    path: str
    status: str
    stage: str
    progress: float  # exact, from the ledger
    error: str | None


def video_status(session: Session, video_id: int) -> Status:
    video = session.get(Video, video_id)
    if video is None:
        raise LookupError(f"no video {video_id}")
    job = latest_job(session, video_id)
    counts = dict(session.execute(
        select(WorkItem.status, func.count()).where(WorkItem.video_id == video_id).group_by(WorkItem.status)
    ).all())
    total = sum(counts.values())
    progress = 1.0 if video.status == VideoStatus.ready.value else (
        counts.get(ItemStatus.done.value, 0) / total if total else 0.0)
    stage = job.stage if job is not None else "registered"
    return Status(video.id, video.title, video.path, video.status, stage, progress, video.error)
