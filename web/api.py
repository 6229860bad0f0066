"""The JSON API under /api/v1, and /healthz."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, HTTPException
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from video_qa.config import Settings
from video_qa.db import engine_for, unit_of_work
from video_qa.recovery import live_workers


def install_api(app: FastAPI, settings: Settings) -> None:
    engine = engine_for(settings.resolved_database_url)
    router = APIRouter()

    @app.get("/healthz", tags=["operations"])
    def healthz() -> dict[str, object]:
        """The database answers; how many workers are alive (the embedded one counts)."""
        try:
            with unit_of_work(engine) as session:
                session.execute(select(1))
                workers = len(live_workers(session, settings))
        except SQLAlchemyError as error:
            raise HTTPException(status_code=503, detail=f"database unavailable: {type(error).__name__}") from error
        return {"status": "ok", "workers": workers}

    app.include_router(router, prefix="/api/v1")
