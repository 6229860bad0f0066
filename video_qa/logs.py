"""Logging, configured once at an entry point (CLI, worker, web)."""

from __future__ import annotations

import logging

FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def configure_logging(level: str = "INFO") -> None:
    root = logging.getLogger()
    if getattr(configure_logging, "_done", False):
        root.setLevel(level)
        return
    logging.basicConfig(level=level, format=FORMAT)
    configure_logging._done = True  # type: ignore[attr-defined]
