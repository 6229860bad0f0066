"""Taking in a video from the web: a safe file name in the media folder, registration, queueing.
Shared by the JSON API's upload and the Gradio app's upload."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from video_qa.config import Settings
from video_qa.db import unit_of_work
from video_qa.pipeline import ItemRef, request_ingest
from video_qa.registry import Registration, register_file

log = logging.getLogger(__name__)

SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
Send = Callable[[list[ItemRef]], Any]


class UploadRefused(Exception):
    """An upload that is not a usable video, named by the name it was uploaded under."""

    def __init__(self, name: str, reason: str) -> None:
        self.name, self.reason = name, reason
        super().__init__(f"{name}: {reason}")


def check_upload(path: Path, original_name: str) -> None:
    """Refuse at the door what can never be analysed: empty, not a media file, no video stream
    (headers only; damage deeper in the file is found by the analysis, which keeps what it can)."""
    from video_qa.media.errors import MediaError
    from video_qa.media.probe import read_headers

    try:
        read_headers(path)
    except MediaError as error:
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
    """Register ``path`` (inside the allowed folders) and queue its analysis. An upload whose content
    is already stored is that video (the caller removes its copy)."""
    with unit_of_work(engine) as session:
        reg = register_file(session, path, settings, title=title)
        _, refs = request_ingest(session, reg.video_id, settings)
    send(refs)
    return reg


def store_upload(engine: Engine, settings: Settings, send: Send, source: Path, original_name: str) -> Registration:
    """Check an uploaded file (already on disk, e.g. in Gradio's upload folder), move it into the media
    folder, register it and queue it. A duplicate's copy is removed; a refused file is left where it
    was (Gradio's cache cleans its own folder)."""
    import shutil

    check_upload(source, original_name)
    target = upload_target(settings, original_name)
    try:
        shutil.move(str(source), target)
        reg = register_and_queue(engine, settings, send, target, title=title_of(original_name))
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    if reg.duplicate and Path(reg.path) != target:
        target.unlink(missing_ok=True)
        log.info("upload %s is video %d already (%s)", original_name, reg.video_id, reg.path)
    return reg
