"""A worker bootstep: heartbeats, recovery at start and then periodically, and (embedded mode)
pruning of delivered broker messages. Runs in the worker's main process; it touches only the
database and the broker, never a model, so CUDA is never initialised there.

``install(app, settings, send)`` adds the step to an app: the step gets the settings and the
function that sends recovered work items as arguments (this module imports nothing from
``workers.app``, which imports it).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from celery import Celery, bootsteps
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from video_qa.config import Settings
from video_qa.db import engine_for
from video_qa.pipeline import ItemRef
from video_qa.pipeline import forget_worker, heartbeat, recover
from workers.broker import EmbeddedChannel

log = logging.getLogger(__name__)

RECOVER_EVERY_BEATS = 5
PRUNE_AFTER_S = 3600

SendItems = Callable[[Celery, list[ItemRef]], None]


class Liveness(bootsteps.StartStopStep):
    label = "videoqa-liveness"
    requires = {"celery.worker.components:Pool"}
    settings: Settings  # set by install()
    send: SendItems

    def __init__(self, worker, **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(worker, **kwargs)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, worker) -> None:  # type: ignore[no-untyped-def]
        app, settings = worker.app, self.settings
        name = worker.hostname
        queues = ",".join(sorted(q.name for q in app.amqp.queues.consume_from.values())) if app.amqp.queues.consume_from else "cpu,gpu"
        engine = engine_for(settings.resolved_database_url)
        heartbeat(engine, name, queues, settings.embedded_broker)
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, args=(app, name, queues), name="videoqa-liveness", daemon=True)
        self._thread.start()
        log.info("worker %s on queues %s: heartbeat every %.1f s", name, queues, settings.worker_heartbeat)

    def _loop(self, app: Celery, name: str, queues: str) -> None:
        settings = self.settings
        engine = engine_for(settings.resolved_database_url)
        beat = 0
        while True:
            try:
                if beat % RECOVER_EVERY_BEATS == 0:
                    self.send(app, recover(engine, settings))
                    if settings.embedded_broker:
                        prune_delivered(settings)
                heartbeat(engine, name, queues, settings.embedded_broker)
            except (SQLAlchemyError, OSError) as error:  # the database or broker is away: try again next beat
                log.warning("worker %s: heartbeat or recovery failed (%s); retrying", name, error)
            beat += 1
            if self._stop.wait(settings.worker_heartbeat):
                return

    def stop(self, worker) -> None:  # type: ignore[no-untyped-def]
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        try:
            forget_worker(engine_for(self.settings.resolved_database_url), worker.hostname)
        except SQLAlchemyError as error:
            log.warning("worker %s: could not remove its heartbeat row (%s)", worker.hostname, error)


def prune_delivered(settings: Settings) -> None:
    """kombu's SQLAlchemy transport keeps delivered messages forever; drop those older than an hour."""
    url = settings.resolved_broker_url.split("+", 1)[1]
    engines = EmbeddedChannel._engines
    if url not in engines:
        return
    engine = engines[url][0]
    # kombu stamps a message with naive local time when it is delivered, as SQLAlchemy's text form
    cutoff = (datetime.now() - timedelta(seconds=PRUNE_AFTER_S)).strftime("%Y-%m-%d %H:%M:%S.%f")
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM kombu_message WHERE visible = 0 AND timestamp < :cutoff"), {"cutoff": cutoff})


def install(app: Celery, settings: Settings, send: SendItems) -> None:
    """Add the liveness step, bound to ``settings`` and ``send``, to ``app``'s workers."""
    step = type("Liveness", (Liveness,), {"settings": settings, "send": staticmethod(send),
                                          "__module__": __name__})
    app.steps["worker"].add(step)
