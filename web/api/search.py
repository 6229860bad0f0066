"""/api/v1/search over every video's moments, and /api/v1/videos/{id}/ask (a question about one
video, answered with cited moments)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, Field

from video_qa.analyzers import get_backends, get_embedder
from video_qa.media.errors import MediaError
from video_qa.search import Filters
from video_qa.services import questions
from video_qa.services.videos import search_hits
from web.api.deps import API_PREFIX, MAX_ID, EngineDep, Kind, SendAskDep, SessionDep, SettingsDep, VideoFileDep

router = APIRouter(prefix=API_PREFIX, tags=["search"])



class AskBody(BaseModel):
    question: str = Field(min_length=1, max_length=2000)


@router.get("/search")
def search_all(
    session: SessionDep,
    engine: EngineDep,
    settings: SettingsDep,
    q: Annotated[str, Query(min_length=1, max_length=500)],
    video_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    kind: Annotated[list[Kind] | None, Query()] = None,
    start: Annotated[float | None, Query(ge=0, le=1e7)] = None,
    end: Annotated[float | None, Query(ge=0, le=1e7)] = None,
    uploaded_after: datetime | None = None,
    uploaded_before: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
) -> list[dict[str, Any]]:
    """The best moments; each hit says whether its video's file changed on disk since analysis."""
    filters = Filters(video_id, tuple(kind or ()), start, end, uploaded_after, uploaded_before)
    return search_hits(session, engine, q, get_embedder(settings), filters, limit)


@router.post("/videos/{video_id}/ask")
def ask_video(video: VideoFileDep, body: AskBody, engine: EngineDep, settings: SettingsDep,
              send_ask: SendAskDep) -> dict[str, Any]:
    """Answered by a worker of the gpu queue in server mode (this waits for it, holding no database
    session), else here; 409 when the video cannot be read or the answer failed, 504 past the time
    limit (the answer may still be stored later)."""
    try:
        result = questions.ask(engine, settings, send_ask, video.id, body.question, lambda: get_backends(settings))
    except ValueError as error:
        raise HTTPException(status_code=422, detail=str(error)) from error
    except (MediaError, questions.AnswerFailed) as error:
        raise HTTPException(status_code=409, detail=str(error)) from error
    except questions.AnswerTimedOut as error:
        raise HTTPException(status_code=504, detail=str(error)) from error
    return result.to_dict()
