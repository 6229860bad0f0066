"""The ingest pipeline's orchestration, independent of Celery: ``ledger`` (work items, claims,
fan-in), ``plans`` (a plan reconciled with the ledger), ``runners`` (claim, compute by
``video_qa.analysis``, store by ``video_qa.moments.store``, return the refs to send), ``recovery``,
``liveness``, ``clock``, ``background``, ``failures``, ``status``. Every public name is importable
from ``video_qa.pipeline``."""

from video_qa.pipeline.failures import EXPECTED_ERRORS, file_name, reason, without_paths
from video_qa.pipeline.ledger import (
    CLIP_PARTS,
    MAX_TAKEOVERS,
    PART_FIELDS,
    PLAN_FIELDS,
    PROGRESS_EVERY,
    TRANSIENT_ERRORS,
    VIDEO_LEVEL,
    ItemRef,
    WorkGone,
    active_job,
    claim,
    clip_part_done,
    complete,
    finish,
    get_item,
    is_transient,
    item_counts,
    mark_clip,
    progress,
    queue_again,
    queue_finalize_if_complete,
    record_failure,
    release_claim,
    request_ingest,
    settings_key,
    wants_see,
)
from video_qa.pipeline.liveness import (
    forget_worker,
    heartbeat,
    heartbeat_cutoff,
    live_worker_names,
    live_workers,
    process_exists,
    worker_name,
)
from video_qa.pipeline.plans import ClipWork, Reconciled, load_clip, reconcile_plan, record_probe
from video_qa.pipeline.recovery import recover
from video_qa.pipeline.runners import RUNNERS, run_item
from video_qa.pipeline.status import Status, latest_job, video_status, video_statuses

__all__ = [
    "CLIP_PARTS", "EXPECTED_ERRORS", "MAX_TAKEOVERS", "PART_FIELDS", "PLAN_FIELDS", "PROGRESS_EVERY",
    "RUNNERS", "TRANSIENT_ERRORS", "VIDEO_LEVEL", "active_job", "claim", "clip_part_done", "ClipWork", "complete",
    "file_name", "finish", "forget_worker", "get_item", "heartbeat", "heartbeat_cutoff", "is_transient",
    "item_counts", "ItemRef", "latest_job", "live_worker_names", "live_workers", "load_clip", "mark_clip",
    "process_exists", "progress", "queue_again", "queue_finalize_if_complete", "reason", "Reconciled",
    "reconcile_plan", "record_failure", "record_probe", "recover", "release_claim", "request_ingest",
    "run_item", "settings_key", "Status", "video_status", "video_statuses", "wants_see", "without_paths", "worker_name",
    "WorkGone",
]
