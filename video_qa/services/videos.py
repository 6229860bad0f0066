"""Videos as the clients show them: one serialisation for the JSON API, the Gradio app and
``videoqa videos``; a video's moments; search hits; and whether a file changed on disk.

A file that changed after it was analysed (its size or modification time differs from what was
recorded) would otherwise be shown with the old duration and moments without a word. The check is
one ``os.stat``, made when a video is opened and for the videos of search hits (not for the whole
library list, which may be long and is polled), and clients offer re-analysis when it is true.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine, func, or_, select
from sqlalchemy.orm import Session

from model.protocols import TextEmbedder
from video_qa.media.truncation import truncation_notice
from video_qa.models import Moment, Video, VideoStatus
from video_qa.pipeline import Status, latest_job, video_status, video_statuses
from video_qa.search import Filters, VisualQuery, search, uncertainty

log = logging.getLogger(__name__)

MTIME_TOLERANCE = 1e-3  # seconds; file systems and databases round modification times differently


class VideoNotFound(LookupError):
    """No video with this id."""

    def __init__(self, video_id: int) -> None:
        super().__init__(f"no video {video_id}")
        self.video_id = video_id


class VideoFailed(ValueError):
    """A video whose analysis failed: it has no moments to ask about or export. ``reason`` is the
    failure as the library shows it."""

    def __init__(self, video_id: int, reason: str | None) -> None:
        self.video_id, self.reason = video_id, reason or "no reason was recorded"
        super().__init__(f"video {video_id} failed: {self.reason}")

    def nothing_to(self, verb: str) -> str:
        """What every client tells a user who asks to ``verb`` it ("ask about", "export")."""
        return f"video {self.video_id} failed, so it has nothing to {verb}: {self.reason}"


def get_video(session: Session, video_id: int) -> Video:
    video = session.get(Video, video_id)
    if video is None:
        raise VideoNotFound(video_id)
    return video


def analysed_video(session: Session, video_id: int) -> Video:
    """The video, unless it is unknown (``VideoNotFound``) or its analysis failed (``VideoFailed``)."""
    video = get_video(session, video_id)
    if video.status == VideoStatus.failed.value:
        raise VideoFailed(video_id, video.error)
    return video


def changed_on_disk(video: Video) -> bool:
    """Whether the file is no longer the one that was analysed: its size or modification time
    differs from what was recorded (the time only once ingest has recorded it), or it is gone."""
    try:
        stat = os.stat(video.path)
    except OSError as error:
        log.info("video %d: its file %s cannot be read (%s)", video.id, video.path, error.strerror)
        return True
    if video.size is not None and stat.st_size != video.size:
        return True
    recorded = video.file_mtime
    return recorded is not None and abs(stat.st_mtime - recorded) > MTIME_TOLERANCE


def video_dict(session: Session, video: Video, check_disk: bool = True, status: Status | None = None) -> dict[str, Any]:
    """The video's JSON. ``duration`` is what can be read; a truncated file (its container claims
    more: ``claimed_duration``) has ``truncated`` set and a ``notice`` that says so in the user's
    words. ``changed_on_disk`` is None when not checked (``check_disk=False``), and
    False while the video is being analysed (that analysis reads the file as it is now).
    ``status``: the video's read-model status when the caller has it (a page of videos)."""
    status = status or video_status(session, video.id)
    settled = video.status in (VideoStatus.ready.value, VideoStatus.failed.value)
    claimed = (video.probe or {}).get("claimed_duration")  # media.Probe: set when the file is cut short
    truncated = claimed is not None and video.duration is not None
    return {"id": video.id, "title": video.title, "status": video.status, "duration": video.duration,
            "truncated": truncated, "claimed_duration": claimed if truncated else None,
            "notice": truncation_notice(video.duration, claimed) if truncated else None,
            "width": video.width, "height": video.height, "codec": video.codec, "has_audio": video.has_audio,
            "error": video.error, "summary": video.summary, "created_at": video.created_at.isoformat(),
            "stage": status.stage, "progress": round(status.progress, 4),
            "changed_on_disk": (changed_on_disk(video) if settled else False) if check_disk else None}


def open_video(session: Session, video_id: int) -> dict[str, Any]:
    """One video, its file checked against what was analysed; ``VideoNotFound`` if unknown."""
    return video_dict(session, get_video(session, video_id), check_disk=True)


def _library_filter(stmt: Any, text: str | None, status: str | None) -> Any:
    if text and text.strip():
        needle = text.strip().lower()
        pattern = "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        matches = [func.lower(Video.title).like(pattern, escape="\\")]
        if needle.lstrip("#").isdigit() and len(needle.lstrip("#")) <= 9:  # an id (32-bit on PostgreSQL)
            matches.append(Video.id == int(needle.lstrip("#")))
        stmt = stmt.where(or_(*matches))
    if status:
        stmt = stmt.where(Video.status == status)
    return stmt


def list_videos(session: Session, offset: int = 0, limit: int | None = None,
                text: str | None = None, status: str | None = None) -> list[dict[str, Any]]:
    """Videos, the newest first (the one order of every client), files not checked
    (``changed_on_disk`` is None; open one to check it), optionally those whose title contains
    ``text`` (case-insensitive; ``#12`` or ``12`` also finds video 12) and whose status is
    ``status``, ``limit`` of them from ``offset``."""
    stmt = _library_filter(select(Video), text, status).order_by(Video.id.desc()).offset(max(0, offset))
    if limit is not None:
        stmt = stmt.limit(max(0, limit))
    videos = list(session.scalars(stmt))
    statuses = video_statuses(session, videos)  # two queries for the page, not two per video
    return [video_dict(session, v, check_disk=False, status=statuses[v.id]) for v in videos]


def video_titles(session: Session, status: str | None = None, limit: int = 500) -> list[tuple[int, str, str]]:
    """(id, title, status) of the newest ``limit`` videos (of ``status`` when given): one query, for
    pickers (no progress is computed)."""
    stmt = _library_filter(select(Video.id, Video.title, Video.status), None, status).order_by(Video.id.desc())
    return [(int(i), str(t), str(st)) for i, t, st in session.execute(stmt.limit(limit))]


def count_videos(session: Session, text: str | None = None, status: str | None = None) -> int:
    """How many videos ``list_videos`` would list with the same filter and no limit."""
    return int(session.scalar(_library_filter(select(func.count(Video.id)), text, status)) or 0)


def job_dict(session: Session, video_id: int) -> dict[str, Any]:
    """The video's analysis status and its latest job."""
    get_video(session, video_id)
    status = video_status(session, video_id)
    job = latest_job(session, video_id)
    return {"video_id": video_id, "status": status.status, "stage": status.stage,
            "progress": round(status.progress, 4), "error": status.error,
            "job": None if job is None else {"id": job.id, "status": job.status, "stage": job.stage,
                                             "message": job.message}}


def moment_rows(session: Session, video_id: int, kind: str | None = None) -> Sequence[Moment]:
    """A video's moments in time order (then kind, then their order within the clip)."""
    stmt = select(Moment).where(Moment.video_id == video_id).order_by(Moment.start, Moment.kind, Moment.seq)
    if kind:
        stmt = stmt.where(Moment.kind == kind)
    return session.scalars(stmt).all()


def moment_dict(m: Moment) -> dict[str, Any]:
    return {"id": m.id, "kind": m.kind, "clip_index": m.clip_index, "seq": m.seq, "start": m.start, "end": m.end,
            "text": m.text, "meta": m.meta,
            "start_uncertainty": round(uncertainty(m.meta, "start_uncertainty"), 3),
            "end_uncertainty": round(uncertainty(m.meta, "end_uncertainty"), 3)}


def video_moments(session: Session, video_id: int, kind: str | None = None) -> list[dict[str, Any]]:
    """A video's moments as JSON; ``VideoNotFound`` if unknown."""
    get_video(session, video_id)
    return [moment_dict(m) for m in moment_rows(session, video_id, kind)]


def search_hits(session: Session, engine: Engine, query: str, embedder: TextEmbedder | None, filters: Filters = Filters(),
                limit: int = 20, visual: VisualQuery | None = None) -> list[dict[str, Any]]:
    """The search's hits as JSON, each with ``changed_on_disk`` of its video (one stat per video);
    ``visual``: the query is matched in the visual space too (``services.similar.visual_query``).
    ``VideoNotFound`` when the filter names a video that does not exist."""
    if filters.video_id is not None:
        get_video(session, filters.video_id)
    hits = [h.to_dict() for h in search(session, engine, query, embedder, filters, limit, visual)]
    ids = {h["video_id"] for h in hits}
    videos = session.scalars(select(Video).where(Video.id.in_(ids))).all() if ids else []
    changed = {v.id: changed_on_disk(v) for v in videos}
    return [{**h, "changed_on_disk": changed.get(h["video_id"], False)} for h in hits]
