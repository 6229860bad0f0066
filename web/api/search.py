"""/api/v1/search over every video's moments, and /api/v1/videos/{id}/ask (a question about one
video, answered with cited moments)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field

from video_qa.analyzers import get_backends
from video_qa.media.errors import MediaError
from video_qa.search import Filters
from video_qa.services import questions
from video_qa.services.videos import search_hits
from web.api.deps import (API_PREFIX, MAX_ID, EngineDep, Kind, QueryEmbedderDep, SendAskDep, SessionDep, SettingsDep,
                          VideoFileDep)

router = APIRouter(prefix=API_PREFIX, tags=["search"])


class SearchHit(BaseModel):
    """One search hit (``video_qa.search.Hit.to_dict``), with whether its video's file changed."""

    model_config = ConfigDict(extra="allow")

    video_id: int
    title: str
    start: float = Field(description="seconds into the video")
    end: float = Field(description="seconds into the video")
    kind: str = Field(description="the kind of the best moment: speech, text, event or chapter")
    text: str = Field(description="the moment's text, as it is (moments merged into one hit are joined by ' … ')")
    highlights: list[tuple[int, int]] = Field(
        description="where `text` matches the query's words (compared by English stem, stop words aside "
                    "unless the query has nothing else): [start, end] pairs of offsets into `text`, half-open, "
                    "counted in Unicode code points (not bytes, not UTF-16 units: a JavaScript client converts, "
                    "e.g. with Array.from(text)), sorted and never overlapping. `text` carries no markers.")
    score: float
    moment_ids: list[int]
    kinds: list[str]
    start_uncertainty: float = Field(description="seconds the true start may lie before `start`")
    end_uncertainty: float = Field(description="seconds the true end may lie after `end`")
    changed_on_disk: bool = Field(description="the video's file changed since it was analysed")


class AskBody(BaseModel):
    question: str = Field(min_length=1, max_length=2000)


@router.get("/search", response_model=list[SearchHit])
def search_all(
    session: SessionDep,
    engine: EngineDep,
    embedder: QueryEmbedderDep,
    q: Annotated[str, Query(min_length=1, max_length=500)],
    video_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    kind: Annotated[list[Kind] | None, Query()] = None,
    start: Annotated[float | None, Query(ge=0, le=1e7)] = None,
    end: Annotated[float | None, Query(ge=0, le=1e7)] = None,
    uploaded_after: datetime | None = None,
    uploaded_before: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
) -> list[dict[str, Any]]:
    """The best moments, best first; each hit gives its text with highlight offsets (no markup in the
    text), and says whether its video's file changed on disk since analysis."""
    filters = Filters(video_id, tuple(kind or ()), start, end, uploaded_after, uploaded_before)
    return search_hits(session, engine, q, embedder, filters, limit)


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
