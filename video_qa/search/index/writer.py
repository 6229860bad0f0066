"""The background writer of one index of a database in this process: a daemon thread that runs the
index's writing step (the vector index's ``build.fold_index``, the words index's ``sync.catch_up``),
one at a time; the step holds its folder's writer lock without waiting (another writer at work, in
this process or another: skipped). A query asks it (``request``) and goes on without waiting."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


class BackgroundWriter:
    """Runs ``step(stale)`` in a thread named ``name``, one at a time."""

    def __init__(self, step: Callable[[Any], object], name: str) -> None:
        self.step = step
        self.name = name
        self.thread: threading.Thread | None = None

    @property
    def busy(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def request(self, stale: Any) -> None:
        """Start the step (``stale``: what it is to drop, e.g. ids indexed under a vector they no
        longer have) unless one of this writer's is running."""
        if self.busy:
            return
        self.thread = threading.Thread(target=self.step, args=(stale,), name=self.name, daemon=True)
        self.thread.start()

    def wait(self, timeout: float | None = None) -> None:
        """Until the running step, if any, has finished."""
        if self.thread is not None:
            self.thread.join(timeout)
