"""/healthz: the database answers; how many workers are alive (an embedded one counts)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from video_qa.db import unit_of_work
from video_qa.pipeline import live_workers
from web.api.deps import EngineDep, SettingsDep
from web.api.schemas import Health

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=Health)
def healthz(engine: EngineDep, settings: SettingsDep) -> dict[str, Any]:
    """The database answers; how many workers are alive (an embedded one counts)."""
    try:
        with unit_of_work(engine) as session:
            session.execute(select(1))
            workers = len(live_workers(session, settings))
    except SQLAlchemyError as error:
        raise HTTPException(status_code=503, detail=f"database unavailable: {type(error).__name__}") from error
    return {"status": "ok", "workers": workers}
