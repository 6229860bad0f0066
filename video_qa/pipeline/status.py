"""The read model the CLI, the API and the UI show: a video's status and progress, its latest job.

Reads only; the progress is exact, counted from the ledger's items.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from video_qa.models import ItemStatus, Job, Video, VideoStatus
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


def video_status(session: Session, video_id: int) -> Status:
    video = session.get(Video, video_id)
    if video is None:
        raise LookupError(f"no video {video_id}")
    job = latest_job(session, video_id)
    counts = item_counts(session, video_id)
    total = sum(counts.values())
    progress = 1.0 if video.status == VideoStatus.ready.value else (
        counts.get(ItemStatus.done.value, 0) / total if total else 0.0)
    stage = job.stage if job is not None else "registered"
    return Status(video.id, video.title, video.path, video.status, stage, progress, video.error)
