"""/api/v1/search over every video's moments."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from video_qa.search import Filters
from video_qa.services.videos import search_hits
from web.api.deps import MAX_ID, EngineDep, Kind, QueryEmbedderDep, SessionDep, VisualQueryDep
from web.api.schemas import SearchHit
from web.urls import API_PREFIX

router = APIRouter(prefix=API_PREFIX, tags=["search"])


@router.get("/search", response_model=list[SearchHit])
def search_all(
    session: SessionDep,
    engine: EngineDep,
    embedder: QueryEmbedderDep,
    visual: VisualQueryDep,
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
    text), and says whether its video's file changed on disk since analysis. With an image-text model
    the query is matched against what visual moments show, too."""
    filters = Filters(video_id, tuple(kind or ()), start, end, uploaded_after, uploaded_before)
    return search_hits(session, engine, q, embedder, filters, limit, visual)
