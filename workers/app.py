"""The Celery app, built from settings, and the tasks of the ingest pipeline.

One app per settings object (``make_celery``), so a process can serve any configuration without
module-level state. Server mode: the broker is ``VIDEOQA_BROKER_URL`` (Redis). Embedded mode:
the SQLite transport of ``workers.broker``. Results are never stored: a task's outcome lives in
the database's work ledger (``video_qa.pipeline``), not in a result backend.

Tasks carry only ids. ``ingest`` -> a group of ``analyze_clip`` (cpu queue: speech, on-screen
text) and ``see_clip`` (gpu queue: the vision-language model) for every clip -> ``finalize``,
queued by whichever clip part finishes last (decided in the database, see pipeline's doc).
``videoqa.answer_question`` (gpu queue) answers a stored question (``ask_sender``).

Imports go one way: this module imports ``workers.tasks`` and ``workers.liveness`` and hands them
the settings and ``send_items``; neither imports this module.
"""

from __future__ import annotations

import logging

from collections.abc import Callable

from celery import Celery, group

import workers.broker  # noqa: F401 - registers the embedded transport
from video_qa.config import Settings
from video_qa.models import ItemPart
from video_qa.pipeline import ItemRef
from workers import liveness, tasks

log = logging.getLogger(__name__)

TASK_FOR_PART = {
    ItemPart.ingest.value: "videoqa.ingest",
    ItemPart.hear_read.value: "videoqa.analyze_clip",
    ItemPart.see.value: "videoqa.see_clip",
    ItemPart.look.value: "videoqa.look_clip",
    ItemPart.finalize.value: "videoqa.finalize",
}
QUEUES = ("cpu", "gpu")
ASK_QUEUE = "gpu"
MAX_RETRIES = 5  # transient errors (database, broker) of one task


def make_celery(settings: Settings) -> Celery:
    app = Celery("videoqa", broker=settings.resolved_broker_url, set_as_current=False)
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        result_backend=None,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_acks_on_failure_or_timeout=True,
        worker_prefetch_multiplier=1,
        task_time_limit=settings.task_time_limit,
        task_soft_time_limit=max(30, settings.task_time_limit - 60),
        broker_transport_options={"visibility_timeout": settings.visibility_timeout}
        if not settings.embedded_broker else {},
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,
        task_default_queue="cpu",
        task_routes={**{name: {"queue": "gpu" if part == ItemPart.see.value else "cpu"}
                        for part, name in TASK_FOR_PART.items()}, tasks.ASK_TASK: {"queue": ASK_QUEUE}},
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
        worker_send_task_events=False,
        worker_enable_remote_control=not settings.embedded_broker,  # the SQLite transport has no fanout
    )
    tasks.register(app, settings, send_items, MAX_RETRIES)
    liveness.install(app, settings, send_items)
    return app


def send_items(app: Celery, refs: list[ItemRef]) -> None:
    """Send one message per item, in one group (the fan-out of a video's clips)."""
    if not refs:
        return
    signatures = [
        app.signature(TASK_FOR_PART[r.part], args=(r.video_id, r.clip_index), queue=r.queue, immutable=True)
        for r in refs
    ]
    group(signatures).apply_async()
    log.debug("sent %s", ", ".join(r.label() for r in refs))


def ask_sender(app: Celery) -> Callable[[int], None]:
    """``send(question_id)``: the ask task on the gpu queue, for ``video_qa.services.questions.ask``."""

    def send(question_id: int) -> None:
        app.signature(tasks.ASK_TASK, args=(int(question_id),), queue=ASK_QUEUE, immutable=True).apply_async()
        log.debug("sent question %d to the %s queue", question_id, ASK_QUEUE)

    return send


