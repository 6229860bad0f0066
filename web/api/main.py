"""``install_api``: the routers, their shared state and the error handlers on one FastAPI app."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from video_qa.config import Settings
from video_qa.media.errors import MediaToolError
from video_qa.services.intake import Send
from video_qa.services.questions import SendAsk
from video_qa.services.videos import VideoNotFound
from web.api import ask, health, media, search, similar, videos

log = logging.getLogger(__name__)


async def database_away(request: Request, error: Exception) -> JSONResponse:
    """The database is restarting or unreachable: 503, so clients retry, never a bare 500."""
    orig = getattr(error, "orig", None)
    log.warning("%s %s: database unavailable (%s)", request.method, request.url.path, type(orig).__name__)
    return JSONResponse({"detail": "database unavailable, retry shortly"}, status_code=503,
                        headers={"Retry-After": "5"})


async def media_tool_broken(request: Request, error: Exception) -> JSONResponse:
    """ffprobe/ffmpeg missing or broken on this server: not the client's file's fault (503, logged)."""
    log.error("%s %s: media tool unavailable: %s", request.method, request.url.path, error)
    return JSONResponse({"detail": "the server cannot read media right now (its ffmpeg tools are unavailable); "
                                   "retry later"}, status_code=503, headers={"Retry-After": "30"})


async def video_not_found(request: Request, error: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(error)}, status_code=404)


def install_api(app: FastAPI, settings: Settings, engine: Engine, send: Send, send_ask: SendAsk | None = None) -> None:
    """``send(refs)`` queues work items (the Celery app's ``send_items``); ``send_ask(question_id)``
    queues a question for a gpu worker (``workers.app.ask_sender``; None: answered in this process)."""
    app.state.settings, app.state.engine, app.state.send, app.state.send_ask = settings, engine, send, send_ask
    app.add_exception_handler(OperationalError, database_away)
    app.add_exception_handler(VideoNotFound, video_not_found)
    app.add_exception_handler(MediaToolError, media_tool_broken)
    for module in (health, videos, search, similar, ask, media):
        app.include_router(module.router)
