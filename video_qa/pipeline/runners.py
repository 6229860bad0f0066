"""The part runners: claim one work item, compute its part (``video_qa.analysis``), store the
result (``video_qa.moments.store``) and mark the item done in one transaction, and say which items
to send next.

- ``ingest``: probe and plan (``analysis.plan``), reconcile the plan with the ledger
  (``plans.reconcile_plan``): the clip parts not done with the same settings are queued, and
  ``finalize`` waits until every clip part is done;
- ``hear_read`` (per clip): speech, on-screen text, scene cuts, embeddings (``analysis.hear_read``);
- ``see`` (per clip, with a vision-language model): caption and events (``analysis.events``);
- ``look`` (per clip, with visual moments on): visual moments only (``analysis.visual``), where
  ``hear_read`` is not running anyway (it makes them from its own frames and marks ``look`` done);
- ``finalize``: stitched text, chapters and summary (``analysis.finalize``); the video becomes ready.

A result replaces its earlier rows under the same keys, so a part that runs twice leaves what one
run leaves.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Hashable

from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from model.sources import BackendUnavailable
from video_qa.analysis.cut_frames import exact_cuts
from video_qa.analysis.events import see
from video_qa.analysis.finalize import finalize_content
from video_qa.analysis.hear_read import hear_read
from video_qa.analysis.plan import probe_and_plan
from video_qa.analysis.visual.collect import ShotFrames, decode_samples
from video_qa.analysis.visual.look import look
from video_qa.analyzers import Backends
from video_qa.config import Settings
from video_qa.db import unit_of_work
from video_qa.logs import log_context
from video_qa.media import ClipFrames, read_frames
from video_qa.media.plan import ClipPlan
from video_qa.models import ItemPart, ItemStatus, Video, utcnow
from video_qa.moments.store import finalize_inputs, store_finalized, store_heard_read, store_looked, store_seen
from video_qa.pipeline.background import Loader, Prefetcher, side_pool, timed
from video_qa.pipeline.clock import Clock
from video_qa.pipeline.failures import EXPECTED_ERRORS, reason
from video_qa.pipeline.ledger import (
    VIDEO_LEVEL,
    ItemRef,
    WorkGone,
    claim,
    clip_part_done,
    complete,
    finish,
    get_item,
    is_transient,
    progress,
    queue_finalize_if_complete,
    queue_again,
    record_failure,
    settings_key,
)
from video_qa.pipeline.plans import load_clip, reconcile_plan, record_probe, stat_file
from video_qa.pipeline.status import latest_job

log = logging.getLogger(__name__)

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


def _video(session: Session, video_id: int) -> Video:
    video = session.get(Video, video_id)
    if video is None:
        raise WorkGone(f"video {video_id} is gone")
    return video


def _run_ingest(engine: Engine, ref: ItemRef, settings: Settings, backends: Callable[[], Backends]) -> list[ItemRef]:
    clock = Clock()
    with unit_of_work(engine) as session:
        path = _video(session, ref.video_id).path
        progress(session, ref.video_id, stage="probing", force=True)
    with clock("decode"):
        probe, plans = probe_and_plan(path, settings)
        stat = stat_file(path)
    with clock("store"), unit_of_work(engine) as session:
        video = _video(session, ref.video_id)
        file_changed = record_probe(video, probe, stat)
        plan = reconcile_plan(session, video, plans, settings, file_changed)
        send = plan.send
        done = finish(session, ref, clock.rounded(), {"clips": len(plans), "sent": len(send)})
        done.settings_key = settings_key(settings, ItemPart.ingest.value)
        session.flush()
        if plan.up_to_date:
            complete(session, ref.video_id)
        else:
            progress(session, ref.video_id, stage="analyzing", force=True)
            send = send + queue_finalize_if_complete(session, ref.video_id)
    log.info("video %d: %d clips planned, %d parts to run", ref.video_id, len(plans), len(send))
    return send


def _run_hear_read(engine: Engine, ref: ItemRef, settings: Settings, backends: Callable[[], Backends]) -> list[ItemRef]:
    """Speech, on-screen text and embeddings of one clip. No prefetch: the text is read from frames
    as they are decoded (``analysis.hear_read``), and the worker keeps two parts in flight, so one
    part's decoding overlaps the other's reading and both cores stay busy."""
    clock = Clock()
    b = backends()
    look_ref = ItemRef(ref.video_id, ref.clip_index, ItemPart.look.value)
    with unit_of_work(engine) as session:
        work = load_clip(session, ref)
        with_look = b.look and _look_waits(session, look_ref)
    result = hear_read(work.path, work.probe, work.plan, settings, b, clock, side_pool(), with_look=with_look)
    with clock("store"), unit_of_work(engine) as session:
        n_speech, n_text = store_heard_read(session, ref.video_id, work.clip_id, ref.clip_index, result.speech,
                                            result.text, result.cuts, result.notes, result.visual)
        stats = {"speech": n_speech, "text": n_text, "reading": result.reading}
        if result.visual is not None:
            stats["visual"] = len(result.visual)
        finish(session, ref, clock.rounded(), stats)
        sent = _settle_look(session, look_ref, looked=result.visual is not None)
        return sent + clip_part_done(session, ref, work.clip_id)


def _look_waits(session: Session, ref: ItemRef) -> bool:
    item = get_item(session, ref.video_id, ref.clip_index, ref.part)
    return item is not None and item.status == ItemStatus.waiting.value


def _settle_look(session: Session, ref: ItemRef, looked: bool) -> list[ItemRef]:
    """The clip's waiting ``look`` after its ``hear_read``: done when that part looked, else (this
    worker makes no visual moments) queued to run on its own; returns it when it is to be sent."""
    item = get_item(session, ref.video_id, ref.clip_index, ref.part)
    if item is None or item.status != ItemStatus.waiting.value:
        return []
    if looked:
        item.status, item.error, item.worker, item.finished_at = ItemStatus.done.value, None, None, utcnow()
        item.stats = {"by": ItemPart.hear_read.value}
        return []
    queue_again(item, utcnow())
    return [ref]


def _run_look(engine: Engine, ref: ItemRef, settings: Settings, backends: Callable[[], Backends]) -> list[ItemRef]:
    """Visual moments of one clip alone (an archive analysed before they existed): its samples
    decoded at ``VIDEOQA_OCR_FPS`` for them only; speech and text are left as they are."""
    clock = Clock()
    with unit_of_work(engine) as session:
        work = load_clip(session, ref)
    frames = ShotFrames()
    with clock("decode"):
        notes = decode_samples(work.path, work.probe, work.plan, settings, frames)
        cuts = frames.cuts(work.plan)
        if settings.exact_cuts:
            cuts = exact_cuts(work.path, work.probe, work.plan, cuts, settings.frame_reader)
    visual = look(frames, work.plan, backends(), clock, 1.0 / settings.ocr_fps, settings.visual_max_shot, cuts)
    with clock("store"), unit_of_work(engine) as session:
        n = store_looked(session, ref.video_id, work.clip_id, ref.clip_index, visual, notes)
        finish(session, ref, clock.rounded(), {"visual": n})
        return clip_part_done(session, ref, work.clip_id)


_PREFETCH: Prefetcher[ClipFrames] = Prefetcher()


def _prefetch_key(path: str, part: str, plan: ClipPlan, settings: Settings) -> Hashable:
    return (path, part, plan.index, plan.start, plan.end, settings_key(settings, part))


def _run_see(engine: Engine, ref: ItemRef, settings: Settings, backends: Callable[[], Backends]) -> list[ItemRef]:
    """Caption and events of one clip; the next clip's frames are decoded in the background while
    the model works on this one."""
    clock = Clock()
    with unit_of_work(engine) as session:
        work = load_clip(session, ref)
    b = backends()
    if b.vlm is None:
        raise BackendUnavailable("VIDEOQA_VLM_MODEL is not set on this worker, but the video was planned with one")

    def loader(p: ClipPlan) -> Loader[ClipFrames]:
        return timed(lambda: read_frames(work.path, p, work.probe, prefer=settings.frame_reader))

    frames, decode_s, background = _PREFETCH.take(_prefetch_key(work.path, ref.part, work.plan, settings),
                                                  loader(work.plan))
    clock.add("decode", decode_s)
    if work.next_plan is not None:
        _PREFETCH.start(_prefetch_key(work.path, ref.part, work.next_plan, settings), loader(work.next_plan))
    result = see(frames, work.plan, b, clock)
    with clock("store"), unit_of_work(engine) as session:
        n = store_seen(session, ref.video_id, work.clip_id, ref.clip_index, result.events, result.caption,
                       result.model, result.notes)
        finish(session, ref, clock.rounded(), {"events": n, "frames": len(frames.frames), "prefetched": background,
                                               "test_model": result.test_model})
        return clip_part_done(session, ref, work.clip_id)


def _run_finalize(engine: Engine, ref: ItemRef, settings: Settings, backends: Callable[[], Backends]) -> list[ItemRef]:
    """Stitch text tracks across clip boundaries, make chapters from content, write the summary."""
    clock = Clock()
    with unit_of_work(engine) as session:
        inputs = finalize_inputs(session, ref.video_id)
    done = finalize_content(inputs, backends(), clock)
    with clock("store"), unit_of_work(engine) as session:
        n_text = store_finalized(session, _video(session, ref.video_id), inputs.clips, done.text, done.chapters,
                                 done.summary, done.visual)
        finish(session, ref, clock.rounded(), {"chapters": len(done.chapters), "text": n_text})
        complete(session, ref.video_id)
    return []


RUNNERS: dict[str, Runner] = {
    ItemPart.ingest.value: _run_ingest,
    ItemPart.hear_read.value: _run_hear_read,
    ItemPart.see.value: _run_see,
    ItemPart.look.value: _run_look,
    ItemPart.finalize.value: _run_finalize,
}
