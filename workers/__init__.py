"""VideoQA's workers: the Celery app built from settings (``app``), its tasks (``tasks``), the
liveness bootstep (``liveness``), the embedded broker (``broker``) and a worker inside the current
process (``embedded``)."""
