"""Taking in videos: register a file and queue its analysis, uploads, retry and re-analysis.

Every client registers through ``register_and_queue``: the JSON API (a path in the archive, an
upload), the Gradio app (an upload, the Retry / Re-analyse button) and ``videoqa ingest``. The
rows are committed before anything is queued, so a worker never looks for a row that is not there.

Every door looks at a file's headers first (``inspect``), with one outcome for each kind of file:
what is no video at all (empty, not a media file, no video stream) is refused and leaves no row;
a broken video (``DamagedMedia``: cut short, or its data unreadable) is registered as a failed
video, nothing queued, with one reason in the user's words that names the file as the user knows
it; ffprobe's own words go to the log. Retry looks at the headers again: a file still broken stays
failed with the same reason, at once, and nothing is queued.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from video_qa.config import Settings
from video_qa.db import unit_of_work
from video_qa.media.errors import DamagedMedia, MediaError
from video_qa.media.probe import read_headers
from video_qa.media.thumbs import drop_thumbnails
from video_qa.models import Job, JobStatus, Video, VideoStatus, utcnow
from video_qa.pipeline import ItemRef, request_ingest
from video_qa.pipeline.failures import file_name
from video_qa.registry import Registration, RegistrationRefused, check_allowed, expand, register_file
from video_qa.services.videos import changed_on_disk, get_video

log = logging.getLogger(__name__)

SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
Send = Callable[[list[ItemRef]], Any]  # queues work items after commit (the Celery app's send_items)


class UploadRefused(Exception):
    """An upload that is not a usable video, named by the name it was uploaded under."""

    def __init__(self, name: str, reason: str) -> None:
        self.name, self.reason = name, reason
        super().__init__(f"{name}: {reason}")


@dataclass
class Intake:
    """What ``register_paths`` did: the videos queued (in order, each once), which of them were
    registered before, and the paths it refused."""

    video_ids: list[int] = field(default_factory=list)
    duplicates: set[int] = field(default_factory=set)
    refused: list[RegistrationRefused] = field(default_factory=list)


def inspect(path: Path) -> DamagedMedia | None:
    """What the door makes of a file, from its headers (cheap for any size): None for a video to
    analyse, the ``DamagedMedia`` for a broken one. What is no video at all raises its permanent
    ``MediaError``; ``MediaToolError`` when this server's ffprobe is missing or broken. Damage
    deeper in the file is found by the analysis, which keeps what it can."""
    try:
        read_headers(path)
    except DamagedMedia as error:
        log.warning("%s: %s (%s)", path, error.reason, error.detail)
        return error
    return None


def check_upload(path: Path, original_name: str) -> DamagedMedia | None:
    """``inspect`` for an upload: what is no video at all is ``UploadRefused`` under its uploaded name."""
    try:
        return inspect(path)
    except MediaError as error:
        if not error.permanent:  # ffprobe missing or broken here: not the uploaded file's fault
            raise
        raise UploadRefused(Path(original_name or "upload").name, error.reason) from error


def _fail_at_door(session: Session, video: Video, damage: DamagedMedia) -> None:
    """The video fails with the damage's reason naming its file as the user knows it (a job that
    failed at probing says so too); its size and time are recorded, so Retry can tell a new file."""
    reason = f"{file_name(video.title, video.path)}: {damage.reason}"
    now = utcnow()
    video.status, video.error = VideoStatus.failed.value, reason
    try:
        stat = os.stat(video.path)
    except OSError as error:
        log.info("video %d: its file %s cannot be read (%s)", video.id, video.path, error.strerror)
    else:
        video.size, video.file_mtime = stat.st_size, stat.st_mtime
    session.add(Job(video_id=video.id, status=JobStatus.failed.value, stage="probing", progress=0.0,
                    message=reason, started_at=now, finished_at=now))
    session.flush()
    log.info("video %d failed at the door: %s", video.id, reason)


def upload_target(settings: Settings, original_name: str) -> Path:
    """A new path in the media folder for an upload called ``original_name`` (only the base name is
    used, reduced to safe characters, behind a random prefix so names never collide)."""
    name = Path(original_name or "upload").name
    stem = SAFE_NAME.sub("_", Path(name).stem)[:100] or "upload"
    suffix = SAFE_NAME.sub("", Path(name).suffix)[:10].lower()
    media = settings.resolved_media_dir
    media.mkdir(parents=True, exist_ok=True)
    return media / f"{uuid.uuid4().hex[:12]}_{stem}{suffix}"


def title_of(original_name: str) -> str:
    """The title people see: the uploaded file's name without its extension (kept as typed; it is
    always rendered as text)."""
    return Path(Path(original_name or "upload").name).stem[:500] or "upload"


def register_and_queue(engine: Engine, settings: Settings, send: Send, path: Path,
                       title: str | None = None, damage: DamagedMedia | None = None) -> Registration:
    """Register ``path`` (inside the allowed folders) and queue its analysis. A file whose content is
    already stored is that video (queued again, which redoes only what is missing). A broken file
    (``damage``, from ``inspect``) is registered as a failed video and not queued."""
    with unit_of_work(engine) as session:
        reg = register_file(session, path, settings, title=title)
        refs = _queue_or_fail(session, settings, reg.video_id, damage)
    if refs:
        send(refs)
    return reg


def _queue_or_fail(session: Session, settings: Settings, video_id: int, damage: DamagedMedia | None) -> list[ItemRef]:
    """The refs that queue the video's analysis, to send after commit; none for a broken file,
    whose video fails at the door instead."""
    if damage is not None:
        _fail_at_door(session, get_video(session, video_id), damage)
        return []
    return request_ingest(session, video_id, settings)[1]


def _refused(path: Path, shown: str | Path) -> DamagedMedia | None:
    """``inspect``, with what is no video at all ``RegistrationRefused`` under the path as given."""
    try:
        return inspect(path)
    except MediaError as error:
        if not error.permanent:
            raise
        raise RegistrationRefused(shown, error.reason) from error


def register_path(engine: Engine, settings: Settings, send: Send, raw: str) -> Registration:
    """Register a file in place, given as a client typed it; ``RegistrationRefused`` names only
    that path (``outside`` set when it lies outside the allowed folders)."""
    path = check_allowed(raw, settings)
    if not path.is_file():
        raise RegistrationRefused(raw, "not a regular file")
    return register_and_queue(engine, settings, send, path, damage=_refused(path, raw))


def register_paths(engine: Engine, settings: Settings, send: Send, paths: Iterable[str | Path]) -> Intake:
    """Register files and folders (walked for media files) and queue each video once; a broken
    file is a failed video (listed, not queued), what is no video at all is refused."""
    files, refused = expand(list(paths), settings)
    intake = Intake(refused=refused)
    for path in files:
        try:
            damage = _refused(path, path)
            with unit_of_work(engine) as session:
                reg = register_file(session, path, settings)
                if reg.video_id in intake.video_ids:  # two copies of one content: queued once
                    continue
                refs = _queue_or_fail(session, settings, reg.video_id, damage)
        except RegistrationRefused as error:
            intake.refused.append(error)
            continue
        if refs:
            send(refs)
        intake.video_ids.append(reg.video_id)
        if reg.duplicate:
            intake.duplicates.add(reg.video_id)
    return intake


def accept_upload(engine: Engine, settings: Settings, send: Send, stored: Path, original_name: str) -> Registration:
    """An upload already written to ``stored`` (a path from ``upload_target``): check it, register
    it under its uploaded name, queue it. A refused upload is deleted; a duplicate's copy too (the
    video keeps the file it had)."""
    try:
        damage = check_upload(stored, original_name)
    except BaseException:
        stored.unlink(missing_ok=True)
        raise
    return _queue_upload(engine, settings, send, stored, original_name, damage)


def store_upload(engine: Engine, settings: Settings, send: Send, source: Path, original_name: str) -> Registration:
    """An uploaded file somewhere else on disk (Gradio's upload folder): check it, move it into the
    media folder, register and queue it. A refused file is left where it was (Gradio's cache cleans
    its own folder)."""
    damage = check_upload(source, original_name)
    target = upload_target(settings, original_name)
    try:
        shutil.move(str(source), target)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return _queue_upload(engine, settings, send, target, original_name, damage)


def _queue_upload(engine: Engine, settings: Settings, send: Send, stored: Path, original_name: str,
                  damage: DamagedMedia | None) -> Registration:
    try:
        reg = register_and_queue(engine, settings, send, stored, title=title_of(original_name), damage=damage)
    except BaseException:
        stored.unlink(missing_ok=True)
        raise
    if reg.duplicate and Path(reg.path) != stored:
        stored.unlink(missing_ok=True)  # the same content is already stored
        log.info("upload %s is video %d already (%s)", original_name, reg.video_id, reg.path)
    return reg


def retry(engine: Engine, settings: Settings, send: Send, video_id: int) -> bool:
    """Queue a video's analysis again: a failed one resumes where it failed, a file that changed on
    disk is analysed again; True. A file that is a broken video (its headers looked at again) is
    not queued: the video is failed with that reason (the same one, for an unchanged file); False.
    ``VideoNotFound`` for an unknown id."""
    with unit_of_work(engine) as session:
        path = get_video(session, video_id).path
    damage = _still_broken(Path(path))
    with unit_of_work(engine) as session:
        video = get_video(session, video_id)
        changed = changed_on_disk(video)
        if damage is not None:
            _fail_at_door(session, video, damage)
            return False
        _, refs = request_ingest(session, video_id, settings)
    if changed:  # its thumbnails show the old file
        drop_thumbnails(settings.thumbs_dir, video_id)
    send(refs)
    log.info("video %d: analysis requested again%s", video_id, " (its file changed on disk)" if changed else "")
    return True


def _still_broken(path: Path) -> DamagedMedia | None:
    """``inspect`` for a registered file; any other reason it cannot be used (gone, say) is the
    analysis's to report."""
    try:
        return inspect(path)
    except MediaError as error:
        if not error.permanent:
            raise
        log.info("%s: %s (left to the analysis)", path, error.reason)
        return None
