"""The HTTP server: the JSON API (``web.api``) under /api/v1 and /healthz, run by uvicorn."""

from __future__ import annotations

import logging

from fastapi import FastAPI

from video_qa.config import Settings

log = logging.getLogger(__name__)


def create_app(settings: Settings) -> FastAPI:
    from web.api import install_api
    from workers.app import make_celery, send_items

    celery = make_celery(settings)
    app = FastAPI(title="VideoQA", version="1", docs_url="/api/docs", openapi_url="/openapi.json")
    app.state.settings = settings
    install_api(app, settings, lambda refs: send_items(celery, refs))
    return app


def serve(settings: Settings) -> None:
    import uvicorn

    app = create_app(settings)
    log.info("serving on http://%s:%d", settings.web_host, settings.web_port)
    uvicorn.run(app, host=settings.web_host, port=settings.web_port, log_config=None)
