"""``rows.prefetched``: a build's batches read ahead by a helper thread, in order, with the
reader's error raised to the build and the thread stopped when the build stops early."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import numpy as np
import pytest

from video_qa.search.index.rows import Arrays, prefetched


def batches(n: int, fail_at: int | None = None, log: list[int] | None = None) -> Iterator[Arrays]:
    for i in range(n):
        if i == fail_at:
            raise RuntimeError(f"batch {i} unreadable")
        if log is not None:
            log.append(i)
        yield np.array([i], np.int64), np.zeros((1, 2), np.float32), np.zeros(1, np.uint32)


def test_every_batch_in_order_read_ahead_by_another_thread() -> None:
    readers: list[str] = []

    def recorded() -> Iterator[Arrays]:
        for b in batches(50):
            readers.append(threading.current_thread().name)
            yield b

    got = [int(ids[0]) for ids, _, _ in prefetched(recorded())]
    assert got == list(range(50))
    assert set(readers) == {"index-read-ahead"}


def test_the_readers_error_is_raised_to_the_build() -> None:
    got = []
    with pytest.raises(RuntimeError, match="batch 3 unreadable"):
        for ids, _, _ in prefetched(batches(10, fail_at=3)):
            got.append(int(ids[0]))
    assert got == [0, 1, 2]


def test_a_build_that_stops_early_stops_the_reader() -> None:
    read: list[int] = []
    stream = prefetched(batches(1_000, log=read), depth=2)
    assert int(next(stream)[0][0]) == 0
    stream.close()  # the build raised or returned
    time.sleep(0.6)
    assert len(read) <= 4  # the one taken, two queued, one waiting to be: not the thousand
    assert not any(t.name == "index-read-ahead" for t in threading.enumerate())
