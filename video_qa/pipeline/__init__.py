"""The ingest pipeline's orchestration, independent of Celery.

- ``ledger``: the work items and their rules: requests, claims (with takeovers), finishing,
  failure, progress, fan-in to ``finalize``;
- ``liveness``: the one rule for a live worker, heartbeats, worker names;
- ``recovery``: requeues what dead workers held, resends lost messages, fails a part that kills
  every worker that runs it;
- ``runners``: run one item: ``ingest``, ``hear_read``, ``see``, ``finalize``;
- ``failures``: the reason users see when a part fails (no server paths);
- ``status``: the read model the CLI, the API and the UI show.

Every public name is importable from ``video_qa.pipeline``.
"""

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
    complete,
    finish,
    get_item,
    is_transient,
    item_counts,
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
from video_qa.pipeline.recovery import recover
from video_qa.pipeline.runners import RUNNERS, run_item
from video_qa.pipeline.status import Status, latest_job, video_status, video_statuses

__all__ = [
    "CLIP_PARTS", "EXPECTED_ERRORS", "MAX_TAKEOVERS", "PART_FIELDS", "PLAN_FIELDS", "PROGRESS_EVERY",
    "RUNNERS", "TRANSIENT_ERRORS", "VIDEO_LEVEL", "active_job", "claim", "complete", "file_name", "finish",
    "forget_worker", "get_item", "heartbeat", "heartbeat_cutoff", "is_transient", "item_counts", "ItemRef",
    "latest_job", "live_worker_names", "live_workers", "process_exists", "progress", "queue_again",
    "queue_finalize_if_complete", "reason", "record_failure", "recover", "release_claim", "request_ingest",
    "run_item", "settings_key", "Status", "video_status", "video_statuses", "wants_see", "without_paths", "worker_name",
    "WorkGone",
]
