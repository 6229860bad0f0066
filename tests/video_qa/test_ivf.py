"""The coarse lists of the vector index: on a large clustered set the probed search finds what the
exact search finds, respects filters, sees rows added after the build, and survives verification
although its rows are no longer in id order."""

from __future__ import annotations

import numpy as np
import pytest

from video_qa.search import ivf
from video_qa.search import Filters, VectorIndex

DIM, ROWS = 64, 30_000


def _vectors(n: int, rng: np.random.Generator, clusters: int = 300) -> np.ndarray:
    centres = rng.normal(size=(clusters, DIM))
    x = centres[rng.integers(0, clusters, n)] + 0.35 * rng.normal(size=(n, DIM))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def _rows(vectors: np.ndarray, first_id: int = 1) -> list[tuple]:
    kinds = ("speech", "text", "event")
    return [(first_id + i, 1 + i % 50, kinds[i % 3], float(i % 1000), float(i % 1000) + 2.0, v.tobytes())
            for i, v in enumerate(vectors)]


@pytest.fixture()
def built(monkeypatch: pytest.MonkeyPatch) -> tuple[VectorIndex, np.ndarray]:
    monkeypatch.setattr(ivf, "MIN_ROWS", 10_000)
    vectors = _vectors(ROWS, np.random.default_rng(1))
    index = VectorIndex(background=False)
    with index.lock:
        index._append(_rows(vectors))
        index._maybe_build()
    assert index.coarse is not None and index.coarse.rows == ROWS
    return index, vectors


def _exact(vectors: np.ndarray, q: np.ndarray, k: int, keep: np.ndarray | None = None) -> list[int]:
    scores = vectors @ q
    if keep is not None:
        scores = np.where(keep, scores, -np.inf)
    return [int(i) + 1 for i in np.argsort(-scores)[:k]]


def test_probed_search_finds_what_the_exact_search_finds(built: tuple[VectorIndex, np.ndarray]) -> None:
    index, vectors = built
    rng = np.random.default_rng(2)
    queries = _vectors(100, rng)
    recall = np.mean([len(set(index.query(q, Filters(), None, 10)) & set(_exact(vectors, q, 10))) / 10 for q in queries])
    assert recall >= 0.9, recall
    # the rows are grouped by list now, yet every id is still where the index says
    assert sorted(index.ids.tolist()) == list(range(1, ROWS + 1))
    probed = sum(b - a for a, b in index.coarse.probe(queries[0]))
    assert probed < ROWS / 5  # it read a small part of the vectors


def test_filters_hold_on_the_probed_path(built: tuple[VectorIndex, np.ndarray]) -> None:
    index, vectors = built
    q = _vectors(1, np.random.default_rng(3))[0]
    kinds = np.array([("speech", "text", "event")[i % 3] for i in range(ROWS)])
    got = index.query(q, Filters(kinds=("text",)), None, 10)
    assert got and all(kinds[i - 1] == "text" for i in got)
    one_video = index.query(q, Filters(video_id=7), None, 10)  # few rows: searched exactly
    assert one_video == _exact(vectors, q, 10, keep=(np.arange(ROWS) % 50 + 1) == 7)


def test_rows_added_after_the_build_are_found_and_verification_still_works(built: tuple[VectorIndex, np.ndarray]) -> None:
    index, vectors = built
    fresh = _vectors(5, np.random.default_rng(4))
    with index.lock:
        index._append(_rows(fresh, first_id=ROWS + 1))
    assert index.query(fresh[2], Filters(), None, 1) == [ROWS + 3]  # in the tail, searched exactly
    returned = index.query(vectors[99], Filters(), None, 3)
    assert returned[0] == 100
    rows = [(i, 1 + (i - 1) % 50, float((i - 1) % 1000)) for i in returned]
    assert index.verify(returned, rows) is False  # consistent: nothing to do
    rows[0] = (rows[0][0], 999, rows[0][2])  # the database says another video owns this id now
    assert index.verify(returned, rows) is True and len(index.ids) == 0
