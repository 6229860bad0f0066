"""Worker liveness and recovery, as the workers import them; the code lives in
``video_qa.pipeline.liveness`` (the one rule for a live worker, heartbeats) and
``video_qa.pipeline.recovery`` (requeue what dead workers held)."""

from video_qa.pipeline.liveness import forget_worker, heartbeat, live_worker_names, live_workers, worker_name
from video_qa.pipeline.recovery import recover

__all__ = ["forget_worker", "heartbeat", "live_worker_names", "live_workers", "recover", "worker_name"]
