"""/api/v1/videos/{id}/media (the file itself; range requests work) and .../thumbnail, served only
from the allowed folders. Thumbnails are made once and kept under ``<data_dir>/thumbs``; they are
served with an ETag and a five-minute ``Cache-Control`` (a file changed on disk and analysed again
gets new thumbnails at the same URL), so a page of results costs the server little the second time."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import FileResponse, Response

from video_qa.media.errors import MediaError
from video_qa.media.thumbs import cached_thumbnail
from video_qa.registry import RegistrationRefused, check_allowed
from web.api.deps import SettingsDep, VideoFileDep
from web.urls import API_PREFIX

router = APIRouter(prefix=API_PREFIX + "/videos/{video_id}", tags=["videos"])

# not immutable: a file changed on disk and analysed again gets new thumbnails at the same URL
THUMB_CACHE_CONTROL = "private, max-age=300"
BINARY = {"schema": {"type": "string", "format": "binary"}}
MEDIA_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "the video file", "content": {"video/*": BINARY}},
    206: {"description": "the part of the file a Range header asked for", "content": {"video/*": BINARY}}}
THUMB_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "a 320-px JPEG (ETag, Cache-Control)", "content": {"image/jpeg": BINARY}},
    304: {"description": "the thumbnail named by If-None-Match is still the one"}}


@router.get("/media", response_class=FileResponse, responses=MEDIA_RESPONSES)
def media(video: VideoFileDep, settings: SettingsDep) -> FileResponse:
    """The video file itself (range requests work), only from the allowed folders."""
    try:
        resolved = check_allowed(video.path, settings)
    except RegistrationRefused as error:
        raise HTTPException(status_code=403, detail=f"video {video.id} is not inside the allowed folders (VIDEOQA_ARCHIVE_ROOTS or the media folder of this server)") from error
    return FileResponse(resolved)


@router.get("/thumbnail", response_class=FileResponse, responses=THUMB_RESPONSES)
def thumbnail(video: VideoFileDep, settings: SettingsDep, request: Request,
              t: Annotated[float, Query(ge=0, le=1e7)] = 0.0) -> Response:
    """A JPEG of the frame near ``t`` (rounded to 100 ms), made on the first request and cached."""
    try:
        resolved = check_allowed(video.path, settings)
        path = cached_thumbnail(settings.thumbs_dir, video.id, resolved,
                                min(t, max(0.0, (video.duration or 0.0) - 0.05)))
    except RegistrationRefused as error:
        raise HTTPException(status_code=403, detail=f"video {video.id} is not inside the allowed folders (VIDEOQA_ARCHIVE_ROOTS or the media folder of this server)") from error
    except MediaError as error:
        raise HTTPException(status_code=409, detail=f"video {video.id}: {error.reason}") from error
    stat = path.stat()
    etag = f'"{video.id}-{path.stem}-{stat.st_mtime_ns:x}-{stat.st_size:x}"'
    headers = {"Cache-Control": THUMB_CACHE_CONTROL, "ETag": etag}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return FileResponse(path, media_type="image/jpeg", headers=headers)
