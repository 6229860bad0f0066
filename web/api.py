"""The JSON API under /api/v1, and /healthz. Errors are JSON ``{"detail": ...}`` with the status
that fits: 404 unknown id, 422 bad input, 413 too large, 403 outside the allowed folders,
503 database away. Uploads are streamed to the media folder in 1 MiB chunks."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, FastAPI, File, HTTPException, Query, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, JSONResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import Engine, select
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from video_qa.analyzers import get_backends, get_embedder
from video_qa.ask import ask
from video_qa.config import Settings
from video_qa.db import engine_for, unit_of_work
from video_qa.export import export, moment_dict
from video_qa.media.errors import MediaError
from video_qa.models import Moment, Video
from video_qa.pipeline import latest_job, request_ingest, video_status
from video_qa.recovery import live_workers
from video_qa.registry import Registration, RegistrationRefused, check_allowed
from video_qa.search import Filters, search
from web.intake import UploadRefused, check_upload, register_and_queue, title_of, upload_target

log = logging.getLogger(__name__)

CHUNK = 1024 * 1024
Kind = Literal["event", "speech", "text", "chapter"]
MAX_ID = 2_147_483_647  # ids are 32-bit integers on PostgreSQL
VideoId = Annotated[int, PathParam(ge=1, le=MAX_ID)]
ExportName = Literal["chapters.vtt", "chapters.srt", "transcript.vtt", "transcript.srt", "moments.json"]


class RegisterBody(BaseModel):
    path: str = Field(min_length=1, max_length=4096, description="A file inside VIDEOQA_ARCHIVE_ROOTS")


class AskBody(BaseModel):
    question: str = Field(min_length=1, max_length=2000)


def video_dict(session: Any, v: Video) -> dict[str, Any]:
    status = video_status(session, v.id)
    return {"id": v.id, "title": v.title, "status": v.status, "duration": v.duration, "width": v.width,
            "height": v.height, "codec": v.codec, "has_audio": v.has_audio, "error": v.error, "summary": v.summary,
            "created_at": v.created_at.isoformat(), "stage": status.stage, "progress": round(status.progress, 4)}


def install_api(app: FastAPI, settings: Settings, send: Any) -> None:
    """``send(refs)`` queues work items (the Celery app's ``send_items``)."""
    engine: Engine = engine_for(settings.resolved_database_url)
    router = APIRouter(prefix="/api/v1")

    @app.exception_handler(OperationalError)
    async def database_away(request: Any, error: OperationalError) -> JSONResponse:
        """The database is restarting or unreachable: 503, so clients retry, never a bare 500."""
        log.warning("%s %s: database unavailable (%s)", request.method, request.url.path, type(error.orig).__name__)
        return JSONResponse({"detail": "database unavailable, retry shortly"}, status_code=503,
                            headers={"Retry-After": "5"})

    def get_video(session: Any, video_id: int) -> Video:
        video = session.get(Video, video_id)
        if video is None:
            raise HTTPException(status_code=404, detail=f"no video {video_id}")
        return video

    @app.get("/healthz", tags=["operations"])
    def healthz() -> dict[str, Any]:
        """The database answers; how many workers are alive (an embedded one counts)."""
        try:
            with unit_of_work(engine) as session:
                session.execute(select(1))
                workers = len(live_workers(session, settings))
        except SQLAlchemyError as error:
            raise HTTPException(status_code=503, detail=f"database unavailable: {type(error).__name__}") from error
        return {"status": "ok", "workers": workers}

    @router.get("/videos", tags=["videos"])
    def list_videos() -> list[dict[str, Any]]:
        with unit_of_work(engine) as session:
            return [video_dict(session, v) for v in session.scalars(select(Video).order_by(Video.id))]

    @router.get("/videos/{video_id}", tags=["videos"])
    def get_one(video_id: VideoId) -> dict[str, Any]:
        with unit_of_work(engine) as session:
            return video_dict(session, get_video(session, video_id))

    def _register(path: Path, title: str | None = None) -> tuple[dict[str, Any], Registration]:
        reg = register_and_queue(engine, settings, send, path, title=title)
        with unit_of_work(engine) as session:
            return video_dict(session, get_video(session, reg.video_id)), reg

    @router.post("/videos", tags=["videos"], status_code=201)
    async def upload(file: Annotated[UploadFile, File(description="the video file")]) -> dict[str, Any]:
        """Stream the upload to the media folder, register it and queue its analysis."""
        name = Path(file.filename or "upload").name
        target = upload_target(settings, name)
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
            try:
                check_upload(target, name)
            except UploadRefused as error:
                raise HTTPException(status_code=422, detail=str(error)) from error
            body, reg = _register(target, title=title_of(name))
        except BaseException:
            target.unlink(missing_ok=True)
            raise
        if reg.duplicate and Path(reg.path) != target:
            target.unlink(missing_ok=True)  # the same content is already stored
            log.info("upload %s is video %d already (%s)", name, body["id"], reg.path)
        return {**body, "duplicate": reg.duplicate}

    @router.post("/videos/register", tags=["videos"], status_code=201)
    def register(body: RegisterBody) -> dict[str, Any]:
        """Register a file in place (it must lie inside VIDEOQA_ARCHIVE_ROOTS)."""
        try:
            path = check_allowed(body.path, settings)
            if not path.is_file():
                raise RegistrationRefused(body.path, "not a regular file")
            result, reg = _register(path)
        except RegistrationRefused as error:
            status = 403 if "outside" in error.reason else 422
            raise HTTPException(status_code=status, detail=str(error)) from error
        return {**result, "duplicate": reg.duplicate}

    @router.post("/videos/{video_id}/ingest", tags=["videos"], status_code=202)
    def reingest(video_id: VideoId) -> dict[str, Any]:
        """Queue the video again (a failed one is retried from where it failed)."""
        with unit_of_work(engine) as session:
            get_video(session, video_id)
            _, refs = request_ingest(session, video_id, settings)
        send(refs)
        with unit_of_work(engine) as session:
            return video_dict(session, get_video(session, video_id))

    @router.get("/videos/{video_id}/job", tags=["videos"])
    def job(video_id: VideoId) -> dict[str, Any]:
        with unit_of_work(engine) as session:
            get_video(session, video_id)
            status = video_status(session, video_id)
            j = latest_job(session, video_id)
            return {"video_id": video_id, "status": status.status, "stage": status.stage,
                    "progress": round(status.progress, 4), "error": status.error,
                    "job": None if j is None else {"id": j.id, "status": j.status, "stage": j.stage,
                                                   "message": j.message, "attempts": j.attempts}}

    @router.get("/videos/{video_id}/moments", tags=["videos"])
    def moments(video_id: VideoId, kind: Kind | None = None) -> list[dict[str, Any]]:
        with unit_of_work(engine) as session:
            get_video(session, video_id)
            stmt = select(Moment).where(Moment.video_id == video_id).order_by(Moment.start, Moment.kind, Moment.seq)
            if kind:
                stmt = stmt.where(Moment.kind == kind)
            return [moment_dict(m) for m in session.scalars(stmt)]

    @router.get("/search", tags=["search"])
    def search_all(
        q: Annotated[str, Query(min_length=1, max_length=500)],
        video_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
        kind: Annotated[list[Kind] | None, Query()] = None,
        start: Annotated[float | None, Query(ge=0, le=1e7)] = None,
        end: Annotated[float | None, Query(ge=0, le=1e7)] = None,
        uploaded_after: datetime | None = None,
        uploaded_before: datetime | None = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 20,
    ) -> list[dict[str, Any]]:
        filters = Filters(video_id, tuple(kind or ()), start, end, uploaded_after, uploaded_before)
        with unit_of_work(engine) as session:
            return [h.to_dict() for h in search(session, engine, q, get_embedder(settings), filters, limit)]

    @router.post("/videos/{video_id}/ask", tags=["search"])
    def ask_video(video_id: VideoId, body: AskBody) -> dict[str, Any]:
        with unit_of_work(engine) as session:
            get_video(session, video_id)
            try:
                return ask(session, engine, settings, video_id, body.question, get_backends(settings)).to_dict()
            except ValueError as error:
                raise HTTPException(status_code=422, detail=str(error)) from error
            except MediaError as error:
                raise HTTPException(status_code=409, detail=str(error)) from error

    @router.get("/videos/{video_id}/export/{name}", tags=["videos"])
    def export_video(video_id: VideoId, name: ExportName) -> Response:
        with unit_of_work(engine) as session:
            get_video(session, video_id)
            content, media_type = export(session, video_id, name)
        return Response(content, media_type=media_type,
                        headers={"Content-Disposition": f'attachment; filename="video-{video_id}-{name}"'})

    @router.get("/videos/{video_id}/media", tags=["videos"])
    def media(video_id: VideoId) -> FileResponse:
        """The video file itself (range requests work), only from the allowed folders."""
        with unit_of_work(engine) as session:
            path = get_video(session, video_id).path
        try:
            resolved = check_allowed(path, settings)
        except RegistrationRefused as error:
            raise HTTPException(status_code=403, detail=f"video {video_id} is not inside the allowed folders") from error
        return FileResponse(resolved)

    @router.get("/videos/{video_id}/thumbnail", tags=["videos"])
    def thumbnail(video_id: VideoId, t: Annotated[float, Query(ge=0, le=1e7)] = 0.0) -> Response:
        from video_qa.media.thumbs import thumbnail as make_thumbnail

        with unit_of_work(engine) as session:
            video = get_video(session, video_id)
            path, duration = video.path, video.duration
        try:
            resolved = check_allowed(path, settings)
            jpeg = make_thumbnail(resolved, min(t, max(0.0, (duration or 0.0) - 0.05)))
        except RegistrationRefused as error:
            raise HTTPException(status_code=403, detail=f"video {video_id} is not inside the allowed folders") from error
        except MediaError as error:
            raise HTTPException(status_code=409, detail=str(error)) from error
        return Response(jpeg, media_type="image/jpeg")

    app.include_router(router)

