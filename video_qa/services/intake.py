"""Taking in videos: register a file and queue its analysis, uploads, retry and re-analysis.

Every client registers through ``register_and_queue``: the JSON API (a path in the archive, an
upload), the Gradio app (an upload, the Retry / Re-analyse button) and ``videoqa ingest``. The
rows are committed before anything is queued, so a worker never looks for a row that is not there.
"""

from __future__ import annotations

import logging
import re
import shutil
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from video_qa.config import Settings
from video_qa.db import unit_of_work
from video_qa.media.errors import MediaError
from video_qa.media.probe import read_headers
from video_qa.pipeline import ItemRef, request_ingest
from video_qa.registry import Registration, RegistrationRefused, check_allowed, expand, register_file
from video_qa.media.thumbs import drop_thumbnails
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


def check_upload(path: Path, original_name: str) -> None:
    """Refuse at the door what can never be analysed: empty, not a media file, no video stream
    (headers only; damage deeper in the file is found by the analysis, which keeps what it can)."""
    try:
        read_headers(path)
    except MediaError as error:
        if not error.permanent:  # ffprobe missing or broken here: not the uploaded file's fault
            raise
        raise UploadRefused(Path(original_name or "upload").name, error.reason) from error


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
                       title: str | None = None) -> Registration:
    """Register ``path`` (inside the allowed folders) and queue its analysis. A file whose content is
    already stored is that video (queued again, which redoes only what is missing)."""
    with unit_of_work(engine) as session:
        reg = register_file(session, path, settings, title=title)
        _, refs = request_ingest(session, reg.video_id, settings)
    send(refs)
    return reg


def register_path(engine: Engine, settings: Settings, send: Send, raw: str) -> Registration:
    """Register a file in place, given as a client typed it; ``RegistrationRefused`` names only
    that path (``outside`` set when it lies outside the allowed folders)."""
    path = check_allowed(raw, settings)
    if not path.is_file():
        raise RegistrationRefused(raw, "not a regular file")
    return register_and_queue(engine, settings, send, path)


def register_paths(engine: Engine, settings: Settings, send: Send, paths: Iterable[str | Path]) -> Intake:
    """Register files and folders (walked for media files) and queue each video once."""
    files, refused = expand(list(paths), settings)
    intake = Intake(refused=refused)
    for path in files:
        try:
            with unit_of_work(engine) as session:
                reg = register_file(session, path, settings)
                if reg.video_id in intake.video_ids:  # two copies of one content: queued once
                    continue
                _, refs = request_ingest(session, reg.video_id, settings)
        except RegistrationRefused as error:
            intake.refused.append(error)
            continue
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
        check_upload(stored, original_name)
    except BaseException:
        stored.unlink(missing_ok=True)
        raise
    return _queue_upload(engine, settings, send, stored, original_name)


def store_upload(engine: Engine, settings: Settings, send: Send, source: Path, original_name: str) -> Registration:
    """An uploaded file somewhere else on disk (Gradio's upload folder): check it, move it into the
    media folder, register and queue it. A refused file is left where it was (Gradio's cache cleans
    its own folder)."""
    check_upload(source, original_name)
    target = upload_target(settings, original_name)
    try:
        shutil.move(str(source), target)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return _queue_upload(engine, settings, send, target, original_name)


def _queue_upload(engine: Engine, settings: Settings, send: Send, stored: Path, original_name: str) -> Registration:
    try:
        reg = register_and_queue(engine, settings, send, stored, title=title_of(original_name))
    except BaseException:
        stored.unlink(missing_ok=True)
        raise
    if reg.duplicate and Path(reg.path) != stored:
        stored.unlink(missing_ok=True)  # the same content is already stored
        log.info("upload %s is video %d already (%s)", original_name, reg.video_id, reg.path)
    return reg


def retry(engine: Engine, settings: Settings, send: Send, video_id: int) -> None:
    """Queue a video's analysis again: a failed one resumes where it failed, a file that changed on
    disk is analysed again. ``VideoNotFound`` for an unknown id."""
    with unit_of_work(engine) as session:
        changed = changed_on_disk(get_video(session, video_id))
        _, refs = request_ingest(session, video_id, settings)
    if changed:  # its thumbnails show the old file
        drop_thumbnails(settings.thumbs_dir, video_id)
    send(refs)
    log.info("video %d: analysis requested again%s", video_id, " (its file changed on disk)" if changed else "")
