"""The HTTP server, run by uvicorn: the JSON API (``web.api``) under /api/v1 and /healthz, and the
Gradio app (``web.ui``) at /. Login (VIDEOQA_AUTH / VIDEOQA_AUTH_FILE) guards both."""

from __future__ import annotations

import logging
import os

from fastapi import FastAPI

from video_qa.config import Settings

log = logging.getLogger(__name__)


def create_app(settings: Settings, ui: bool = True) -> FastAPI:
    from video_qa.db import engine_for
    from web.api import install_api
    from workers.app import make_celery, send_items

    celery = make_celery(settings)
    app = FastAPI(title="VideoQA", version="1", docs_url="/api/docs", openapi_url="/openapi.json")
    app.state.settings = settings

    def send(refs: list) -> None:  # type: ignore[type-arg]
        send_items(celery, refs)

    install_api(app, settings, send)
    if ui:
        mount_ui(app, settings, send, engine_for(settings.resolved_database_url))
    if settings.auth_pairs():
        install_basic_auth(app, settings.auth_pairs())
    return app


def mount_ui(app: FastAPI, settings: Settings, send, engine) -> None:  # type: ignore[no-untyped-def]
    """The Gradio app at /. Its uploads land in the data folder (moved into the media folder when
    registered), never in /tmp, and are capped by VIDEOQA_UPLOAD_MAX_BYTES."""
    uploads = settings.data_dir / "uploads"
    uploads.mkdir(parents=True, exist_ok=True)
    os.environ["GRADIO_TEMP_DIR"] = str(uploads)
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    import gradio as gr

    from web.ui import build_ui, head_html

    blocks = build_ui(settings, engine, send)
    gr.mount_gradio_app(app, blocks, path="/", max_file_size=settings.upload_max_bytes, ssr_mode=False,
                        head=head_html(), footer_links=[], allowed_paths=[], show_error=True)


OPEN_PATHS = frozenset({"/healthz"})  # health checks answer without credentials (they reveal nothing)


def install_basic_auth(app: FastAPI, pairs: list[tuple[str, str]]) -> None:
    """HTTP Basic authentication on every route but ``OPEN_PATHS`` (VIDEOQA_AUTH)."""
    import base64
    import hmac

    from fastapi import Request
    from fastapi.responses import JSONResponse

    def allowed(header: str) -> bool:
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
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
    import uvicorn

    app = create_app(settings)
    log.info("serving on http://%s:%d", settings.web_host, settings.web_port)
    uvicorn.run(app, host=settings.web_host, port=settings.web_port, log_config=None)
