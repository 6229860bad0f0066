"""/api/v1/videos: list, one video, upload, register in place, analyse again, job, moments, exports.
Uploads are streamed to the media folder in 1 MiB chunks."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, HTTPException, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy import Engine

from video_qa.db import unit_of_work
from video_qa.export import export
from video_qa.registry import RegistrationRefused
from video_qa.services import intake
from video_qa.services.videos import job_dict, list_videos, open_video, video_moments
from web.api.deps import EngineDep, Kind, SendDep, SessionDep, SettingsDep, VideoDep, VideoId
from web.api.schemas import Moment, MomentsExport, RegisteredVideo, Video, VideoJob
from web.urls import API_PREFIX

log = logging.getLogger(__name__)

router = APIRouter(prefix=f"{API_PREFIX}/videos", tags=["videos"])

CHUNK = 1024 * 1024
ExportName = Literal["chapters.vtt", "chapters.srt", "transcript.vtt", "transcript.srt", "moments.json"]
EXPORT_RESPONSES: dict[int | str, dict[str, Any]] = {200: {
    "model": MomentsExport, "description": "the file (an attachment): moments.json, or a WebVTT or SRT file",
    "content": {"text/vtt": {"schema": {"type": "string"}}, "application/x-subrip": {"schema": {"type": "string"}}}}}


class RegisterBody(BaseModel):
    path: str = Field(min_length=1, max_length=4096, description="A file inside VIDEOQA_ARCHIVE_ROOTS")


@router.get("", response_model=list[Video])
def list_all(session: SessionDep) -> list[dict[str, Any]]:
    """Every video; ``changed_on_disk`` is null here (one video's GET checks its file)."""
    return list_videos(session)


@router.get("/{video_id}", response_model=Video)
def get_one(video_id: VideoId, session: SessionDep) -> dict[str, Any]:
    """One video; ``changed_on_disk`` is true when its file's size or modification time differs from
    what was analysed (POST .../ingest analyses it again)."""
    return open_video(session, video_id)


@router.post("", status_code=201, response_model=RegisteredVideo)
async def upload(file: Annotated[UploadFile, File(description="the video file")], settings: SettingsDep,
                 engine: EngineDep, send: SendDep) -> dict[str, Any]:
    """Stream the upload to the media folder, register it and queue its analysis."""
    name = Path(file.filename or "upload").name
    target = intake.upload_target(settings, name)
    size = 0
    try:
        with target.open("wb") as out:
            while chunk := await file.read(CHUNK):
                size += len(chunk)
                if size > settings.upload_max_bytes:
                    raise HTTPException(status_code=413,
                                        detail=f"{name}: larger than VIDEOQA_UPLOAD_MAX_BYTES ({settings.upload_max_bytes} bytes)")
                out.write(chunk)
        if size == 0:
            raise HTTPException(status_code=422, detail=f"{name}: the file is empty")
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    try:  # probing, hashing and the database off the event loop
        reg = await run_in_threadpool(intake.accept_upload, engine, settings, send, target, name)
    except intake.UploadRefused as error:
        raise HTTPException(status_code=422, detail=str(error)) from error
    return {**await run_in_threadpool(_opened, engine, reg.video_id), "duplicate": reg.duplicate}


def _opened(engine: Engine, video_id: int) -> dict[str, Any]:
    with unit_of_work(engine) as session:
        return open_video(session, video_id)


@router.post("/register", status_code=201, response_model=RegisteredVideo)
def register(body: RegisterBody, settings: SettingsDep, engine: EngineDep, send: SendDep,
             session: SessionDep) -> dict[str, Any]:
    """Register a file in place (it must lie inside VIDEOQA_ARCHIVE_ROOTS)."""
    try:
        reg = intake.register_path(engine, settings, send, body.path)
    except RegistrationRefused as error:
        raise HTTPException(status_code=403 if error.outside else 422, detail=str(error)) from error
    return {**open_video(session, reg.video_id), "duplicate": reg.duplicate}


@router.post("/{video_id}/ingest", status_code=202, response_model=Video)
def reingest(video_id: VideoId, settings: SettingsDep, engine: EngineDep, send: SendDep,
             session: SessionDep) -> dict[str, Any]:
    """Queue the video again (a failed one is retried from where it failed; a file that changed on
    disk is analysed again)."""
    intake.retry(engine, settings, send, video_id)
    return open_video(session, video_id)


@router.get("/{video_id}/job", response_model=VideoJob)
def job(video_id: VideoId, session: SessionDep) -> dict[str, Any]:
    return job_dict(session, video_id)


@router.get("/{video_id}/moments", response_model=list[Moment])
def moments(video_id: VideoId, session: SessionDep, kind: Kind | None = None) -> list[dict[str, Any]]:
    return video_moments(session, video_id, kind)


@router.get("/{video_id}/export/{name}", response_class=Response, responses=EXPORT_RESPONSES)
def export_video(video: VideoDep, name: ExportName, session: SessionDep) -> Response:
    content, media_type = export(session, video.id, name)
    return Response(content, media_type=media_type,
                    headers={"Content-Disposition": f'attachment; filename="video-{video.id}-{name}"'})
