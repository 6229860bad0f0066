"""Find similar: ``GET /api/v1/moments/{id}/similar`` (a moment as the query) and
``POST /api/v1/similar`` (an uploaded image as the query), both answered by
``video_qa.services.similar``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, HTTPException, Query, UploadFile
from fastapi import Path as PathParam

from video_qa.search import Filters
from video_qa.services.similar import (MomentNotFound, NothingToCompare, decode_image, image_query_embedder,
                                       similar_to_image, similar_to_moment)
from web.api.deps import MAX_ID, EngineDep, Kind, SessionDep, SettingsDep
from web.api.schemas import SimilarMoments
from web.urls import API_PREFIX

router = APIRouter(prefix=API_PREFIX, tags=["similar"])

MAX_IMAGE_BYTES = 20 * 1024 * 1024
Limit = Annotated[int, Query(ge=1, le=200)]
VideoFilter = Annotated[int | None, Query(ge=1, le=MAX_ID, description="only moments of this video")]
KindFilter = Annotated[list[Kind] | None, Query(description="only moments of these kinds")]


def _filters(video_id: int | None, kind: list[str] | None) -> Filters:
    return Filters(video_id=video_id, kinds=tuple(kind or ()))


@router.get("/moments/{moment_id}/similar", response_model=SimilarMoments)
def similar_moments(session: SessionDep, engine: EngineDep, settings: SettingsDep,
                    moment_id: Annotated[int, PathParam(ge=1, le=MAX_ID)], video_id: VideoFilter = None,
                    kind: KindFilter = None, limit: Limit = 20) -> dict[str, Any]:
    """The moments nearest this one: a visual moment by its keyframe's image vector, any other by
    its text embedding; each hit with its own times, the moment itself left out. 404 for an
    unknown moment, 422 for one with no vector."""
    try:
        return similar_to_moment(session, engine, settings, moment_id, _filters(video_id, kind), limit)
    except MomentNotFound as error:
        raise HTTPException(status_code=404, detail=str(error)) from error
    except NothingToCompare as error:
        raise HTTPException(status_code=422, detail=str(error)) from error


@router.post("/similar", response_model=SimilarMoments)
def similar_to_upload(session: SessionDep, engine: EngineDep, settings: SettingsDep,
                      file: Annotated[UploadFile, File(description="an image: JPEG, PNG or WebP")],
                      video_id: VideoFilter = None, kind: KindFilter = None, limit: Limit = 20) -> dict[str, Any]:
    """The visual moments nearest an uploaded image, embedded by the image model visual moments are
    embedded with here. 413 over 20 MiB, 422 for what is not an image, 409 when this server has
    no image model (the detail names the setting that turns one on)."""
    data = file.file.read(MAX_IMAGE_BYTES + 1)
    if len(data) > MAX_IMAGE_BYTES:
        raise HTTPException(status_code=413, detail=f"an image of at most {MAX_IMAGE_BYTES // (1024 * 1024)} MiB")
    try:
        frame = decode_image(data)
    except NothingToCompare as error:
        raise HTTPException(status_code=422, detail=str(error)) from error
    embedder = image_query_embedder(settings)
    try:
        return similar_to_image(session, engine, frame, embedder, _filters(video_id, kind), limit)
    except NothingToCompare as error:
        raise HTTPException(status_code=409, detail=str(error)) from error
