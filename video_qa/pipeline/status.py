"""The read model the CLI, the API and the UI show: a video's status and progress, its latest job.

Reads only; the progress is exact, counted from the ledger's items.
"""

from __future__ import annotations

from dataclasses import dataclass

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from video_qa.models import ItemStatus, Job, Video, VideoStatus, WorkItem
from video_qa.pipeline.ledger import item_counts


@dataclass(frozen=True)
class Status:
    video_id: int
    title: str
    path: str
    status: str
    stage: str
    progress: float  # exact, from the ledger
    error: str | None


def latest_job(session: Session, video_id: int) -> Job | None:
    return session.scalars(select(Job).where(Job.video_id == video_id).order_by(Job.id.desc())).first()


def _status(video: Video, stage: str | None, counts: dict[str, int]) -> Status:
    total = sum(counts.values())
    progress = 1.0 if video.status == VideoStatus.ready.value else (
        counts.get(ItemStatus.done.value, 0) / total if total else 0.0)
    return Status(video.id, video.title, video.path, video.status, stage or "registered", progress, video.error)


def video_status(session: Session, video_id: int) -> Status:
    video = session.get(Video, video_id)
    if video is None:
        raise LookupError(f"no video {video_id}")
    job = latest_job(session, video_id)
    return _status(video, None if job is None else job.stage, item_counts(session, video_id))


def video_statuses(session: Session, videos: Sequence[Video]) -> dict[int, Status]:
    """``video_status`` of many videos in two queries (a library page), not two per video."""
    ids = [v.id for v in videos]
    if not ids:
        return {}
    latest = select(func.max(Job.id)).where(Job.video_id.in_(ids)).group_by(Job.video_id)
    stages = dict(session.execute(select(Job.video_id, Job.stage).where(Job.id.in_(latest))).all())
    counts: dict[int, dict[str, int]] = {}
    for video_id, status, n in session.execute(
        select(WorkItem.video_id, WorkItem.status, func.count()).where(WorkItem.video_id.in_(ids))
        .group_by(WorkItem.video_id, WorkItem.status)
    ):
        counts.setdefault(video_id, {})[status] = n
    return {v.id: _status(v, stages.get(v.id), counts.get(v.id, {})) for v in videos}
