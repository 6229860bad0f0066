"""A video's plan in the ledger: the probe onto the video, a new clip plan reconciled with the
stored clips and work items, and what a clip part reads of its clip.

``reconcile_plan`` keeps the clips and every part done with the same settings when the plan and
the file are unchanged; otherwise the clips, their items and the video's moments are rebuilt.
Functions take the caller's session and never commit.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from video_qa.config import Settings
from video_qa.media.errors import MediaError
from video_qa.media.plan import ClipPlan
from video_qa.media.probe import Probe
from video_qa.models import VIDEO_LEVEL, Clip, ClipStatus, ItemPart, ItemStatus, Moment, Video, WorkItem, utcnow
from video_qa.pipeline.ledger import (
    CLIP_PARTS,
    ItemRef,
    WorkGone,
    get_item,
    mark_clip,
    queue_again,
    settings_key,
    wants_look,
    wants_see,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FileStat:
    size: int
    mtime: float  # POSIX seconds


def stat_file(path: str) -> FileStat:
    try:
        stat = os.stat(path)
    except OSError as error:
        raise MediaError(path, f"cannot read the file ({error.strerror})") from error
    return FileStat(stat.st_size, stat.st_mtime)


def record_probe(video: Video, probe: Probe, stat: FileStat) -> bool:
    """Put the probe's fields and the file's size and modification time (what "changed on disk"
    compares with) on the video; True when the file changed since it was last analysed (a file
    edited in place keeps its plan but not its moments: it is analysed again from scratch)."""
    video.duration, video.fps, video.codec = probe.duration, probe.avg_fps, probe.video_codec
    video.width, video.height, video.has_audio = probe.width, probe.height, probe.has_audio
    video.probe = probe.to_dict()
    changed = video.file_mtime is not None and (video.size != stat.size or abs(video.file_mtime - stat.mtime) > 1e-3)
    video.size, video.file_mtime = stat.size, stat.mtime
    return changed


def _stored(plan: ClipPlan) -> object:
    """The plan as the clips' JSON column gives it back (tuples as lists), to compare with."""
    return json.loads(json.dumps(plan.to_dict()))


@dataclass
class Reconciled:
    send: list[ItemRef]  # the clip parts queued, to send after commit
    up_to_date: bool  # nothing to run: every part and finalize done with these settings


def reconcile_plan(session: Session, video: Video, plans: list[ClipPlan], settings: Settings,
                   file_changed: bool) -> Reconciled:
    """Store ``plans`` as the video's clips and queue each clip part not done with the same
    settings, and finalize (waiting until every clip part is done) unless it is up to date. A
    changed plan, ingest setting or file rebuilds the clips, their items and the video's moments.
    A part no longer configured (the vision model turned off) no longer holds the video back; the
    moments it wrote stay, as what that model saw."""
    video_id = video.id
    wanted = {ItemPart.see.value: wants_see(settings), ItemPart.look.value: wants_look(settings)}
    parts = [p for p in CLIP_PARTS if wanted.get(p, True)]
    now = utcnow()
    ingest_item = get_item(session, video_id, VIDEO_LEVEL, ItemPart.ingest.value)
    existing = {c.index: c for c in session.scalars(select(Clip).where(Clip.video_id == video_id))}
    same_plan = (
        ingest_item is not None and ingest_item.settings_key == settings_key(settings, ItemPart.ingest.value)
        and len(existing) == len(plans)
        and all(existing[p.index].plan == _stored(p) for p in plans if p.index in existing)
        and not file_changed
    )
    if not same_plan and existing:
        log.info("video %d: the clip plan or the file changed; clips and their moments are rebuilt", video_id)
        session.execute(delete(Moment).where(Moment.video_id == video_id))
        session.execute(delete(WorkItem).where(WorkItem.video_id == video_id, WorkItem.clip_index >= 0))
        session.execute(delete(Clip).where(Clip.video_id == video_id))
        session.flush()
        existing = {}
    session.execute(delete(WorkItem).where(
        WorkItem.video_id == video_id, WorkItem.clip_index >= 0, WorkItem.part.not_in(parts)))
    send = [ref for p in plans for ref in _store_clip(session, video_id, p, existing.get(p.index), parts, settings, now)]
    session.flush()
    for clip in session.scalars(select(Clip).where(Clip.video_id == video_id)):
        mark_clip(session, clip.id, video_id, clip.index)
    final = get_item(session, video_id, VIDEO_LEVEL, ItemPart.finalize.value)
    final_key = settings_key(settings, ItemPart.finalize.value)
    if final is None:
        final = WorkItem(video_id=video_id, clip_index=VIDEO_LEVEL, part=ItemPart.finalize.value, attempts=0,
                         takeovers=0)
        session.add(final)
    up_to_date = not send and final.status == ItemStatus.done.value and final.settings_key == final_key
    if not up_to_date:
        queue_again(final, now, status=ItemStatus.waiting.value)
        final.settings_key = final_key
    return Reconciled(send, up_to_date)


def _store_clip(session: Session, video_id: int, p: ClipPlan, clip: Clip | None, parts: list[str],
                settings: Settings, now: datetime) -> list[ItemRef]:
    """The clip row of plan ``p`` (made or updated) and its parts; returns those queued. A ``look``
    to run beside a queued ``hear_read`` waits instead: that part makes the visual moments from the
    frames it decodes anyway and marks it done (a re-ingest with speech and text done queues
    ``look`` alone, which decodes the samples for the visual moments only)."""
    if clip is None:
        clip = Clip(video_id=video_id, index=p.index, status=ClipStatus.pending.value)
        session.add(clip)
    clip.start, clip.end, clip.sample_fps, clip.frames = p.start, p.end, p.fps, p.frames
    clip.width, clip.height, clip.token_estimate, clip.plan = p.width, p.height, p.tokens, p.to_dict()
    send = []
    for part in parts:
        key = settings_key(settings, part)
        item = get_item(session, video_id, p.index, part)
        if item is None:
            item = WorkItem(video_id=video_id, clip_index=p.index, part=part, attempts=0, takeovers=0)
            session.add(item)
        elif item.status == ItemStatus.done.value and item.settings_key == key:
            continue
        item.settings_key = key
        if part == ItemPart.look.value and ItemRef(video_id, p.index, ItemPart.hear_read.value) in send:
            queue_again(item, now, status=ItemStatus.waiting.value)  # hear_read looks too, from its own frames
            continue
        queue_again(item, now)
        send.append(ItemRef(video_id, p.index, part))
    return send


@dataclass(frozen=True)
class ClipWork:
    """What a clip part reads of its clip: the file, its probe, the clip's row id and plan, and
    the next clip's plan (to prefetch)."""

    path: str
    probe: Probe
    clip_id: int
    plan: ClipPlan
    next_plan: ClipPlan | None


def _clip_plan(clip: Clip) -> ClipPlan:
    if not clip.plan:
        raise WorkGone(f"clip {clip.index} of video {clip.video_id} has no stored plan")
    return ClipPlan(**clip.plan)


def load_clip(session: Session, ref: ItemRef) -> ClipWork:
    video = session.get(Video, ref.video_id)
    if video is None or video.probe is None:
        raise WorkGone(f"video {ref.video_id} is gone or was never probed")
    clips = {c.index: c for c in session.scalars(
        select(Clip).where(Clip.video_id == ref.video_id, Clip.index.in_([ref.clip_index, ref.clip_index + 1]))
    )}
    if ref.clip_index not in clips:
        raise WorkGone(f"video {ref.video_id} has no clip {ref.clip_index}")
    nxt = clips.get(ref.clip_index + 1)
    return ClipWork(video.path, Probe.from_dict(video.probe), clips[ref.clip_index].id,
                    _clip_plan(clips[ref.clip_index]), _clip_plan(nxt) if nxt is not None else None)
