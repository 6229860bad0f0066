"""Seconds per stage for one part of the work: the work ledger keeps them in the item's stats and
``bench/ingest`` adds them up (work done side by side adds up too)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

STAGES = ("decode", "see", "hear", "read", "embed", "store")


class Clock:
    """Seconds per stage for one part of the work (``video_qa.analysis.timing.StageClock``)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._lock = threading.Lock()  # a part's side threads (speech) add to it too

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        began = time.perf_counter()
        try:
            yield
        finally:
            self.add(stage, time.perf_counter() - began)

    def add(self, stage: str, seconds: float) -> None:
        with self._lock:
            self.seconds[stage] = self.seconds.get(stage, 0.0) + seconds

    def rounded(self) -> dict[str, float]:
        return {k: round(v, 4) for k, v in self.seconds.items()}
