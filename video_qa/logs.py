"""Logging, configured once at an entry point (CLI, worker, web).

Two formats (VIDEOQA_LOG_FORMAT): ``text`` for people, ``json`` (one object per line) for log
collectors. Either way, records written while a work item runs carry its ids (``video_id``,
``clip``, ``part``, ``job_id``, ``task_id``) from ``log_context``, also in libraries' records."""

from __future__ import annotations

import contextvars
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any

FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s%(ids)s"
ID_FIELDS = ("video_id", "job_id", "clip", "part", "task_id")
_context: contextvars.ContextVar[dict[str, Any]] = contextvars.ContextVar("videoqa_log_context", default={})


@contextmanager
def log_context(**ids: Any) -> Iterator[None]:
    """Attach ids (None values skipped) to every record logged inside the block, in this thread."""
    token = _context.set({**_context.get(), **{k: v for k, v in ids.items() if v is not None}})
    try:
        yield
    finally:
        _context.reset(token)


def current_ids() -> dict[str, Any]:
    return dict(_context.get())


class ContextFilter(logging.Filter):
    """Puts the current ids on each record: as attributes and as a ``[k=v ...]`` suffix for text."""

    def filter(self, record: logging.LogRecord) -> bool:
        ids = _context.get()
        for key in ID_FIELDS:
            if not hasattr(record, key) and key in ids:
                setattr(record, key, ids[key])
        shown = {k: getattr(record, k) for k in ID_FIELDS if getattr(record, k, None) is not None}
        record.ids = (" [" + " ".join(f"{k}={v}" for k, v in shown.items()) + "]") if shown else ""
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname, "logger": record.name, "message": record.getMessage(),
            "process": record.process, "thread": record.threadName,
        }
        out.update({k: getattr(record, k) for k in ID_FIELDS if getattr(record, k, None) is not None})
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str, ensure_ascii=False)


class DropRequests(logging.Filter):
    """Leaves out uvicorn access-log records of requests whose path (without its query) starts with
    one of ``prefixes`` (uvicorn's record: ``'%s - "%s %s HTTP/%s" %d'``, the path third)."""

    def __init__(self, prefixes: tuple[str, ...]) -> None:
        super().__init__()
        self.prefixes = prefixes

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            return not args[2].partition("?")[0].startswith(self.prefixes)
        return True


QUIET_LIBRARIES = ("alembic",)  # INFO on every start (its migration context's two lines): WARNING and up shown


def configure_logging(level: str = "INFO", fmt: str = "text", quiet_libraries: bool = True) -> None:
    """The root logger at ``level`` with one handler in ``fmt``; ``QUIET_LIBRARIES`` log WARNING and
    up only, unless ``quiet_libraries`` is False (``videoqa migrate`` reports each upgrade)."""
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(logging.WARNING if quiet_libraries else logging.NOTSET)
    root = logging.getLogger()
    root.setLevel(level)
    handler = next((h for h in root.handlers if getattr(h, "_videoqa", False)), None)
    if handler is None:
        handler = logging.StreamHandler()
        handler._videoqa = True  # type: ignore[attr-defined]
        handler.addFilter(ContextFilter())
        root.addHandler(handler)
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(FORMAT))
