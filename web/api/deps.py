"""What the routes depend on: the settings, the engine, the queueing callables (all set on the app
by ``install_api``), a session per request, the video a path names (404 if unknown), and the
query embedders a search uses."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import Depends, HTTPException, Request
from fastapi import Path as PathParam
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from model.protocols import TextEmbedder
from video_qa.config import Settings
from video_qa.db import unit_of_work
from video_qa.models import Video
from video_qa.analyzers import get_embedder
from video_qa.search import VisualQuery
from video_qa.services.intake import Send
from video_qa.services.questions import SendAsk
from video_qa.services.similar import visual_query as configured_visual_query

MAX_ID = 2_147_483_647  # ids are 32-bit integers on PostgreSQL
Kind = Literal["event", "speech", "text", "chapter", "visual"]  # a moment's kind (video_qa.models.MomentKind)
VideoId = Annotated[int, PathParam(ge=1, le=MAX_ID)]


def settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


def engine(request: Request) -> Engine:
    return request.app.state.engine  # type: ignore[no-any-return]


def send(request: Request) -> Send:
    return request.app.state.send  # type: ignore[no-any-return]


def send_ask(request: Request) -> SendAsk | None:
    return request.app.state.send_ask  # type: ignore[no-any-return]


def query_embedder(request: Request) -> TextEmbedder | None:
    """What embeds a search query (``video_qa.analyzers.get_embedder``: ONNX Runtime, no PyTorch),
    None when embeddings are off."""
    return get_embedder(request.app.state.settings)


def visual_query(request: Request) -> VisualQuery | None:
    """What matches a search query in the visual space (``video_qa.services.similar.visual_query``:
    a real image-text model's text tower), None without one."""
    return configured_visual_query(request.app.state.settings)


SettingsDep = Annotated[Settings, Depends(settings)]
QueryEmbedderDep = Annotated[TextEmbedder | None, Depends(query_embedder)]
VisualQueryDep = Annotated[VisualQuery | None, Depends(visual_query)]
EngineDep = Annotated[Engine, Depends(engine)]
SendDep = Annotated[Send, Depends(send)]
SendAskDep = Annotated[SendAsk | None, Depends(send_ask)]


def session(engine: EngineDep) -> Iterator[Session]:
    """The request's unit of work: committed when the route returns, rolled back when it raises,
    closed before the response is sent."""
    with unit_of_work(engine) as s:
        yield s


SessionDep = Annotated[Session, Depends(session, scope="function")]


def video(video_id: VideoId, session: SessionDep) -> Video:
    found = session.get(Video, video_id)
    if found is None:
        raise HTTPException(status_code=404, detail=f"no video {video_id}")
    return found


VideoDep = Annotated[Video, Depends(video)]


@dataclass(frozen=True)
class VideoFile:
    id: int
    path: str
    duration: float | None


def video_file(video_id: VideoId, engine: EngineDep) -> VideoFile:
    """Where a video's file is, read in a unit of work of its own that ends before the file is
    served or decoded (a page of search results asks for many thumbnails at once)."""
    with unit_of_work(engine) as s:
        found = s.get(Video, video_id)
        if found is None:
            raise HTTPException(status_code=404, detail=f"no video {video_id}")
        return VideoFile(found.id, found.path, found.duration)


VideoFileDep = Annotated[VideoFile, Depends(video_file)]
