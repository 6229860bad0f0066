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
    if settings.auth_pairs():
        install_basic_auth(app, settings.auth_pairs())
    return app


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
