"""Threads beside a part's own: the side pool (a ``hear_read`` part's speech, the embedder's first
load) and the prefetcher (a ``see`` part's next clip, decoded while the model works on this one).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Generic, TypeVar

T = TypeVar("T")
Loader = Callable[[], tuple[T, float]]

_side_pool: ThreadPoolExecutor | None = None
_side_lock = threading.Lock()


def side_pool() -> ThreadPoolExecutor:
    """Threads for work beside a part's reading of text: its speech, the embedder's first load.
    Each analyzer runs on ``VIDEOQA_ANALYZER_THREADS`` threads, so a part keeps about two cores
    busy (text in its own thread, speech here) without the runtimes' thread pools fighting."""
    global _side_pool
    with _side_lock:
        if _side_pool is None:
            _side_pool = ThreadPoolExecutor(4, thread_name_prefix="videoqa-side")
        return _side_pool


class Prefetcher(Generic[T]):
    """Loads the next clip's media in one background thread while this clip's models run.

    ``start(key, loader)`` begins a load; ``take(key, loader)`` returns it (waiting if needed) or
    loads in the calling thread when nothing was started. At most ``capacity`` loads are kept, so
    memory stays bounded by a clip or two. A loader returns ``(value, seconds_of_work)``.
    """

    def __init__(self, capacity: int = 1) -> None:
        self.capacity = capacity
        self._futures: OrderedDict[Hashable, Future[tuple[T, float]]] = OrderedDict()
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None

    def start(self, key: Hashable, loader: Loader[T]) -> None:
        with self._lock:
            if key in self._futures:
                return
            if self._pool is None:
                self._pool = ThreadPoolExecutor(1, thread_name_prefix="videoqa-prefetch")
            self._futures[key] = self._pool.submit(loader)
            while len(self._futures) > self.capacity:
                _, old = self._futures.popitem(last=False)
                old.cancel()

    def take(self, key: Hashable, loader: Loader[T]) -> tuple[T, float, bool]:
        """(value, seconds of decode work, whether it came from the background)."""
        with self._lock:
            future = self._futures.pop(key, None)
        if future is not None and not future.cancelled():
            value, seconds = future.result()  # a loader's error surfaces here, in the task
            return value, seconds, True
        value, seconds = loader()
        return value, seconds, False


def timed(fn: Callable[[], T]) -> Loader[T]:
    """``fn`` as a loader: its value and the seconds it took."""
    def run() -> tuple[T, float]:
        began = time.perf_counter()
        value = fn()
        return value, time.perf_counter() - began

    return run
