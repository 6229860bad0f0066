"""The HTTP server, run by uvicorn: the JSON API (``web.api``) under /api/v1 and /healthz, and the
Gradio app (``web.ui``) at /. Login (VIDEOQA_AUTH / VIDEOQA_AUTH_FILE) guards both."""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
import os

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine

from video_qa.config import Settings, parse_login
from video_qa.db import engine_for
from video_qa.pipeline import ItemRef
from video_qa.services.intake import Send
from video_qa.services.questions import SendAsk
from web.api import install_api
from workers.app import ask_sender, make_celery, send_items

log = logging.getLogger(__name__)

OPEN_PATHS = frozenset({"/healthz"})  # health checks answer without credentials (they reveal nothing)


def create_app(settings: Settings, ui: bool = True) -> FastAPI:
    celery = make_celery(settings)
    engine = engine_for(settings.resolved_database_url)
    app = FastAPI(title="VideoQA", version="1", docs_url="/api/docs", openapi_url="/openapi.json")

    def send(refs: list[ItemRef]) -> None:
        send_items(celery, refs)

    send_ask = ask_sender(celery)
    install_api(app, settings, engine, send, send_ask)
    if ui:
        mount_ui(app, settings, engine, send, send_ask)
    if settings.auth_pairs():
        install_basic_auth(app, settings.auth_pairs())
    return app


def mount_ui(app: FastAPI, settings: Settings, engine: Engine, send: Send, send_ask: SendAsk | None) -> None:
    """The Gradio app at /. Its uploads land in the data folder (moved into the media folder when
    registered), never in /tmp, and are capped by VIDEOQA_UPLOAD_MAX_BYTES."""
    uploads = settings.data_dir / "uploads"
    uploads.mkdir(parents=True, exist_ok=True)
    os.environ["GRADIO_TEMP_DIR"] = str(uploads)  # read by gradio when it is imported
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    import gradio as gr

    from web.ui import build_ui, head_html

    blocks = build_ui(settings, engine, send, send_ask)
    gr.mount_gradio_app(app, blocks, path="/", max_file_size=settings.upload_max_bytes, ssr_mode=False,
                        head=head_html(), footer_links=[], allowed_paths=[], show_error=True)


def credentials(header: str) -> tuple[str, str] | None:
    """(user, password) of an ``Authorization: Basic ...`` header, or None."""
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        return parse_login(base64.b64decode(encoded, validate=True).decode())
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None


def install_basic_auth(app: FastAPI, pairs: list[tuple[str, str]]) -> None:
    """HTTP Basic authentication on every route but ``OPEN_PATHS`` (VIDEOQA_AUTH)."""

    def allowed(header: str) -> bool:
        given = credentials(header)
        if given is None:
            return False
        user, password = given
        ok = False
        for u, p in pairs:  # compare every pair in constant time
            ok |= hmac.compare_digest(u.encode(), user.encode()) & hmac.compare_digest(p.encode(), password.encode())
        return ok

    @app.middleware("http")
    async def basic_auth(request: Request, call_next):  # type: ignore[no-untyped-def]
        if request.url.path in OPEN_PATHS or allowed(request.headers.get("authorization", "")):
            return await call_next(request)
        return JSONResponse({"detail": "authentication required"}, status_code=401,
                            headers={"WWW-Authenticate": 'Basic realm="VideoQA"'})


def serve(settings: Settings) -> None:
    """Run the app; the access log leaves out the page's polling (Gradio's queue and heartbeat
    routes, requested every second while a video is analysed): the API's requests stay in it."""
    import uvicorn

    from video_qa.logs import DropRequests

    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, DropRequests) for f in access.filters):
        access.addFilter(DropRequests(("/gradio_api/queue/", "/gradio_api/heartbeat/")))
    app = create_app(settings)
    log.info("serving on http://%s:%d", settings.web_host, settings.web_port)
    uvicorn.run(app, host=settings.web_host, port=settings.web_port, log_config=None)
