"""The JSON API under /api/v1 (``web.urls.API_PREFIX``), and /healthz: one router per resource
(``videos``, ``search``, ``ask``, ``media``, ``health``), each route with its response model
(``schemas``), over the shared use cases in ``video_qa.services``; ``main.install_api`` includes
them. Errors are JSON ``{"detail": ...}`` with the status that fits: 404 unknown id, 422
bad input, 413 too large, 403 outside the allowed folders, 409 unreadable media, 503 database away."""

from web.api.main import install_api

__all__ = ["install_api"]
