"""The background writer of one database's index in this process: a daemon thread that folds the
tail into a new generation or builds one (``build.fold_index``), one at a time, holding the
folder's writer lock without waiting (another writer at work, in this process or another: skipped).
A query asks it (``VectorIndex.refresh``) and goes on without waiting for it."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
from sqlalchemy import Engine

from video_qa.search.index import build
from video_qa.search.index.space import Space


class BackgroundWriter:
    """Folds or builds the index of ``space`` of ``engine``'s database in ``folder``, in a thread."""

    def __init__(self, engine: Engine, folder: Path, space: Space) -> None:
        self.engine = engine
        self.folder = folder
        self.space = space
        self.thread: threading.Thread | None = None

    @property
    def busy(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def request(self, stale: np.ndarray) -> None:
        """Start a fold (``stale``: ids indexed under a vector they no longer have) unless one of
        this writer's is running."""
        if self.busy:
            return
        self.thread = threading.Thread(target=build.fold_index, args=(self.engine, self.folder, stale, False, self.space),
                                       name="vector-fold", daemon=True)
        self.thread.start()

    def wait(self, timeout: float | None = None) -> None:
        """Until the running fold, if any, has finished."""
        if self.thread is not None:
            self.thread.join(timeout)
