"""The part runners: claim one work item, compute its part (``video_qa.stages``), store the result
and mark the item done in one transaction, and say which items to send next.

- ``ingest``: probe, plan, store the clips, queue the clip parts that are not done with the same
  settings, and ``finalize`` (waiting until every clip part is done);
- ``hear_read`` (per clip): speech, on-screen text, embeddings;
- ``see`` (per clip, with a vision-language model): caption and events;
- ``finalize``: summary and chapters; the video becomes ready.

A result replaces its earlier rows under the same keys, so a part that runs twice leaves what one
run leaves.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, delete, func, select
from sqlalchemy.exc import SQLAlchemyError
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
    Moment,
    MomentKind,
    Video,
    VideoStatus,
    WorkItem,
    utcnow,
)
from video_qa.moments import replace_moments
from video_qa.pipeline.failures import EXPECTED_ERRORS, reason
from video_qa.pipeline.ledger import (
    CLIP_PARTS,
    VIDEO_LEVEL,
    ItemRef,
    WorkGone,
    claim,
    complete,
    finish,
    get_item,
    is_transient,
    progress,
    queue_again,
    queue_finalize_if_complete,
    record_failure,
    settings_key,
    wants_see,
)
from video_qa.pipeline.status import latest_job

log = logging.getLogger(__name__)

Backends = Any  # video_qa.analyzers.Backends
Runner = Callable[[Engine, ItemRef, Settings, Callable[[], Backends]], list[ItemRef]]

# Items this process is running now. A worker's threads share its name, and the claim lets a
# worker take back an item it holds (its own redelivered message after a failed release), so a
# duplicate message picked up by a second thread would otherwise run the same part twice at once.
_in_flight: set[tuple[str, ItemRef]] = set()
_in_flight_lock = threading.Lock()


def run_item(engine: Engine, ref: ItemRef, worker: str, settings: Settings,
             backends: Callable[[], Backends]) -> list[ItemRef]:
    """Claim and run one item; returns the items to send next. Bad media, an unavailable model or
    work that is gone (``failures.EXPECTED_ERRORS``) fails the video with the reason and returns
    normally; transient errors are raised for a retry; any other error is a bug: the video fails
    as an unexpected error and the error is raised, with its traceback in the log."""
    key = (engine.url.render_as_string(hide_password=True), ref)
    with _in_flight_lock:
        if key in _in_flight:
            log.info("%s: already running in this process; the duplicate message does nothing", ref.label())
            return []
        _in_flight.add(key)
    try:
        with log_context(video_id=ref.video_id, clip=None if ref.clip_index == VIDEO_LEVEL else ref.clip_index,
                         part=ref.part, job_id=_job_id(engine, ref.video_id)):
            return _run_item(engine, ref, worker, settings, backends)
    finally:
        with _in_flight_lock:
            _in_flight.discard(key)


def _job_id(engine: Engine, video_id: int) -> int | None:
    with unit_of_work(engine) as session:
        job = latest_job(session, video_id)
        return None if job is None else job.id


def _run_item(engine: Engine, ref: ItemRef, worker: str, settings: Settings,
              backends: Callable[[], Backends]) -> list[ItemRef]:
    if not claim(engine, ref, worker, settings):
        log.info("%s: done already, a live worker has it, or it was taken over too often; nothing to do", ref.label())
        return []
    log.info("%s: started on %s", ref.label(), worker)
    try:
        follow = RUNNERS[ref.part](engine, ref, settings, backends)
    except EXPECTED_ERRORS as error:
        if is_transient(error):  # ffprobe/ffmpeg missing or broken on this worker: retried, not the file's fault
            raise
        log.warning("%s: %s", ref.label(), error)  # the full message, paths included, for operators
        record_failure(engine, ref, reason(ref, error, *_file_of(engine, ref.video_id)))
        return []
    except Exception as error:  # recorded on the video, then raised for the worker's log (or a retry)
        if is_transient(error):
            raise
        log.error("%s: unexpected error", ref.label(), exc_info=True)
        record_failure(engine, ref, reason(ref, error, *_file_of(engine, ref.video_id)))
        raise
    log.info("%s: done", ref.label())
    return follow


def _file_of(engine: Engine, video_id: int) -> tuple[str | None, str | None]:
    """The video's title and path, to name its file in a failure reason (None when unreadable)."""
    try:
        with unit_of_work(engine) as session:
            row = session.execute(select(Video.title, Video.path).where(Video.id == video_id)).first()
    except SQLAlchemyError as error:
        log.warning("video %d: could not read its title for the failure reason (%s)", video_id, error)
        return None, None
    return (row[0], row[1]) if row is not None else (None, None)


def _clip_plan(clip: Clip) -> ClipPlan:
    if not clip.plan:
        raise WorkGone(f"clip {clip.index} of video {clip.video_id} has no stored plan")
    return ClipPlan(**clip.plan)


def _load_clip(engine: Engine, ref: ItemRef) -> tuple[str, Probe, Clip, ClipPlan, ClipPlan | None]:
    with unit_of_work(engine) as session:
        video = session.get(Video, ref.video_id)
        if video is None or video.probe is None:
            raise WorkGone(f"video {ref.video_id} is gone or was never probed")
        clips = {c.index: c for c in session.scalars(
            select(Clip).where(Clip.video_id == ref.video_id, Clip.index.in_([ref.clip_index, ref.clip_index + 1]))
        )}
        if ref.clip_index not in clips:
            raise WorkGone(f"video {ref.video_id} has no clip {ref.clip_index}")
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


def _video(session: Session, video_id: int) -> Video:
    video = session.get(Video, video_id)
    if video is None:
        raise WorkGone(f"video {video_id} is gone")
    return video


def _run_ingest(engine: Engine, ref: ItemRef, settings: Settings, backends: Callable[[], Backends]) -> list[ItemRef]:
    clock = stages.Clock()
    with unit_of_work(engine) as session:
        path = _video(session, ref.video_id).path
        progress(session, ref.video_id, stage="probing", force=True)
    with clock("decode"):
        probe, plans = stages.probe_and_plan(path, settings)
        try:
            stat = os.stat(path)
        except OSError as error:
            raise MediaError(path, f"cannot read the file ({error.strerror})") from error
    parts = [p for p in CLIP_PARTS if p != ItemPart.see.value or wants_see(settings)]
    now = utcnow()
    send: list[ItemRef] = []
    with clock("store"), unit_of_work(engine) as session:
        video = _video(session, ref.video_id)
        video.duration, video.fps, video.codec = probe.duration, probe.avg_fps, probe.video_codec
        video.width, video.height, video.has_audio = probe.width, probe.height, probe.has_audio
        video.probe = probe.to_dict()
        # a file edited in place keeps its plan but not its moments: analysed again from scratch
        file_changed = video.file_mtime is not None and (
            video.size != stat.st_size or abs(video.file_mtime - stat.st_mtime) > 1e-3)
        video.size, video.file_mtime = stat.st_size, stat.st_mtime  # what "changed on disk" compares with
        key = settings_key(settings, ItemPart.ingest.value)
        ingest_item = get_item(session, ref.video_id, VIDEO_LEVEL, ItemPart.ingest.value)
        existing = {c.index: c for c in session.scalars(select(Clip).where(Clip.video_id == ref.video_id))}
        same_plan = (
            ingest_item is not None and ingest_item.settings_key == key and len(existing) == len(plans)
            and all(existing[p.index].plan == json.loads(json.dumps(p.to_dict())) for p in plans if p.index in existing)
            and not file_changed
        )
        if not same_plan and existing:
            log.info("video %d: the clip plan or the file changed; clips and their moments are rebuilt", ref.video_id)
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
                item = get_item(session, ref.video_id, p.index, part)
                if item is None:
                    item = WorkItem(video_id=ref.video_id, clip_index=p.index, part=part, attempts=0, takeovers=0)
                    session.add(item)
                elif item.status == ItemStatus.done.value and item.settings_key == part_keys[part]:
                    continue
                queue_again(item, now)
                item.settings_key = part_keys[part]
                send.append(ItemRef(ref.video_id, p.index, part))
        session.flush()
        for clip in session.scalars(select(Clip).where(Clip.video_id == ref.video_id)):
            _mark_clip(session, clip.id, ref.video_id, clip.index)
        final = get_item(session, ref.video_id, VIDEO_LEVEL, ItemPart.finalize.value)
        final_key = settings_key(settings, ItemPart.finalize.value)
        if final is None:
            final = WorkItem(video_id=ref.video_id, clip_index=VIDEO_LEVEL, part=ItemPart.finalize.value, attempts=0,
                             takeovers=0)
            session.add(final)
        up_to_date = not send and final.status == ItemStatus.done.value and final.settings_key == final_key
        if not up_to_date:
            queue_again(final, now, status=ItemStatus.waiting.value)
            final.settings_key = final_key
        done = finish(session, ref, clock.rounded(), {"clips": len(plans), "sent": len(send)})
        done.settings_key = key
        session.flush()
        if up_to_date:
            complete(session, ref.video_id)
        else:
            progress(session, ref.video_id, stage="analyzing", force=True)
            send += queue_finalize_if_complete(session, ref.video_id)
    log.info("video %d: %d clips planned, %d parts to run", ref.video_id, len(plans), len(send))
    return send


def _prefetch_key(path: str, part: str, plan: ClipPlan, settings: Settings) -> tuple[Any, ...]:
    return (path, part, plan.index, plan.start, plan.end, settings_key(settings, part))


def _run_hear_read(engine: Engine, ref: ItemRef, settings: Settings, backends: Callable[[], Backends]) -> list[ItemRef]:
    """Speech, on-screen text and embeddings of one clip. No prefetch: the text is read from frames
    as they are decoded (``stages.hear_read``), and the worker keeps two parts in flight, so one
    part's decoding overlaps the other's reading and both cores stay busy."""
    clock = stages.Clock()
    path, probe, clip, plan, _ = _load_clip(engine, ref)
    result = stages.hear_read(path, probe, plan, settings, backends(), clock)
    with clock("store"), unit_of_work(engine) as session:
        n_speech = replace_moments(session, ref.video_id, clip.id, clip.index, MomentKind.speech.value, result.speech)
        n_text = replace_moments(session, ref.video_id, clip.id, clip.index, MomentKind.text.value, result.text)
        _add_notes(session, clip.id, result.notes)
        finish(session, ref, clock.rounded(), {"speech": n_speech, "text": n_text, **result.stats()})
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
        finish(session, ref, clock.rounded(), {"events": n, "frames": len(frames.frames), "prefetched": background,
                                               "test_model": result.test_model})
        return _after_clip_part(session, ref, clip.id)


def _add_notes(session: Session, clip_id: int, notes: list[str]) -> None:
    clip = session.get(Clip, clip_id)
    if clip is not None and notes:
        clip.notes = list(dict.fromkeys([*(clip.notes or []), *notes]))


def _after_clip_part(session: Session, ref: ItemRef, clip_id: int) -> list[ItemRef]:
    session.flush()
    _mark_clip(session, clip_id, ref.video_id, ref.clip_index)
    final = get_item(session, ref.video_id, VIDEO_LEVEL, ItemPart.finalize.value)
    if final is not None and final.status == ItemStatus.done.value:
        # a clip part redone after finalize (a takeover that raced it): the stitched text and the
        # chapters it made are stale, so finalize runs again once every clip part is done
        final.status, final.error, final.worker = ItemStatus.waiting.value, None, None
        video = session.get(Video, ref.video_id)
        if video is not None and video.status == VideoStatus.ready.value:
            video.status = VideoStatus.processing.value  # ready again when finalize has run
        session.flush()
    progress(session, ref.video_id)
    return queue_finalize_if_complete(session, ref.video_id)


def _run_finalize(engine: Engine, ref: ItemRef, settings: Settings, backends: Callable[[], Backends]) -> list[ItemRef]:
    """Stitch text tracks across clip boundaries, make chapters from content, write the summary."""
    clock = stages.Clock()
    with unit_of_work(engine) as session:
        inputs = stages.finalize_inputs(session, ref.video_id)
    done = stages.finalize_content(inputs, backends(), clock)
    with clock("store"), unit_of_work(engine) as session:
        n_text = stages.store_text(session, ref.video_id, inputs.clips, done.text)
        replace_moments(session, ref.video_id, None, VIDEO_LEVEL, MomentKind.chapter.value, done.chapters)
        _video(session, ref.video_id).summary = done.summary
        finish(session, ref, clock.rounded(), {"chapters": len(done.chapters), "text": n_text})
        complete(session, ref.video_id)
    return []


RUNNERS: dict[str, Runner] = {
    ItemPart.ingest.value: _run_ingest,
    ItemPart.hear_read.value: _run_hear_read,
    ItemPart.see.value: _run_see,
    ItemPart.finalize.value: _run_finalize,
}
