"""Everything that writes a database's index folder: training, building, folding, publishing and
retiring generations. Called by ``videoqa reindex`` and by the background writer (``writer``),
never on a query's thread.

Writers never change a published file: a new generation is written to temporary files, each
flushed and fsynced, renamed into place, then the manifest is replaced the same way and the folder
fsynced. A writer killed at any point leaves the previous manifest naming complete files; its
temporary files are removed by the next writer. One writer at a time holds the folder's ``lock``
(``flock``: released by the kernel when the holder dies).

Building streams the rows from the database in id order (never all vectors in memory): the
coarse quantizer and the product quantizer are trained on a random sample of ids, then every row
is added in batches, each read in a short transaction of its own (no read transaction spans a
build or a fold). Below ``generation.BUILD_AT`` rows no generation is kept.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import logging
import math
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import faiss
import numpy as np
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from video_qa.moments.values import EMBEDDING_DTYPE
from video_qa.search.index import generation
from video_qa.search.index.generation import FORMAT, LOCK, MANIFEST, Generation, describe, open_generation
from video_qa.search.index.location import database_label, index_folder
from video_qa.search.index.rows import STREAM_BATCH, all_ids, count_rows, max_id, rows_by_id, stream_rows_apart
from video_qa.search.index.space import TEXT, Space

log = logging.getLogger(__name__)

PQ_BYTES = 64  # bytes of code per vector (docs/search-index.md: measured against the other choices)
NLIST_MIN, NLIST_MAX = 64, 2048  # 2048: the assignment of 10M vectors stays affordable on 2 cores (docs)
TRAIN_PER_LIST = 40  # training sample: this many vectors per inverted list
TRAIN_MIN, TRAIN_MAX = 10_000, 150_000  # product quantizer: 256 centroids x 39 points
BUILD_BATCH = STREAM_BATCH  # rows a build or fold reads in one short transaction
RETRAIN_GROWTH = 4.0  # a fold past this many times the rows trained for (or below a quarter) retrains


# ---- the folder's files


@contextlib.contextmanager
def writer_lock(folder: Path, wait: bool) -> Iterator[bool]:
    """Hold the folder's writer lock (flock: released by the kernel when the holder dies). Yields
    False without waiting when ``wait`` is False and another process or thread holds it."""
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except OSError as error:
            if error.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                yield False
                return
            raise
        yield True
    finally:
        os.close(fd)  # releases the lock


def _fsync_write(path: Path, write: Any) -> None:
    with open(path, "wb") as fh:
        write(fh)
        fh.flush()
        os.fsync(fh.fileno())


def _fsync_path(path: Path) -> None:
    """fsync a file, or a folder (its entries: a rename is durable once its folder is synced)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_leftovers(folder: Path, keep: set[str]) -> None:
    """Temporary files of writers that died, and generations older than ``keep``'s (called with
    the writer lock held; a reader that mapped an old file keeps its mapping after the unlink)."""
    for path in folder.iterdir():
        if path.name in keep or path.name in (MANIFEST, LOCK):
            continue
        if ".tmp" in path.name or path.name.startswith(("vectors-", "ids-", "fps-")):
            path.unlink(missing_ok=True)


def publish(folder: Path, index: Any, ids: np.ndarray, fps: np.ndarray, watermark: int, trained_rows: int,
            database: str, space: Space = TEXT) -> int:
    """Write a new generation and make it current; returns its number. Call with the writer lock."""
    current = generation.read_manifest(folder)
    number = (int(current["generation"]) + 1) if current else 1
    order = np.argsort(ids, kind="stable")
    ids, fps = ids[order], fps[order]
    names = {"index": f"vectors-{number}.faiss", "ids": f"ids-{number}.npy", "fps": f"fps-{number}.npy"}
    tag = f".tmp{os.getpid()}"
    faiss.write_index(index, str(folder / (names["index"] + tag)))
    _fsync_path(folder / (names["index"] + tag))
    _fsync_write(folder / (names["ids"] + tag), lambda fh: np.save(fh, ids.astype(np.int64)))
    _fsync_write(folder / (names["fps"] + tag), lambda fh: np.save(fh, fps.astype(np.uint32)))
    for name in names.values():
        os.replace(folder / (name + tag), folder / name)
    manifest = {"format": FORMAT, "generation": number, **names, "watermark": int(watermark), "count": int(len(ids)),
                "trained_rows": int(trained_rows), "dim": int(index.d), "kind": describe(index),
                "database": database, "space": space.key, "written_at": time.time()}
    _fsync_write(folder / (MANIFEST + tag), lambda fh: fh.write(json.dumps(manifest, indent=1).encode()))
    os.replace(folder / (MANIFEST + tag), folder / MANIFEST)
    _fsync_path(folder)
    previous = {f"vectors-{number - 1}.faiss", f"ids-{number - 1}.npy", f"fps-{number - 1}.npy"}
    remove_leftovers(folder, set(names.values()) | previous)  # the previous one: a reader may be opening it
    log.info("vector index %s: generation %d published (%d vectors, watermark %d)", folder, number, len(ids),
             watermark)
    return number


def retire(folder: Path) -> None:
    """No index any more (too few rows to train for, or a damaged one): the manifest goes first,
    atomically, then the files. Call with the writer lock."""
    (folder / MANIFEST).unlink(missing_ok=True)
    _fsync_path(folder)
    remove_leftovers(folder, set())
    log.info("vector index %s: retired", folder)


# ---- training and filling


def nlist_for(rows: int) -> int:
    return int(min(NLIST_MAX, max(NLIST_MIN, round(math.sqrt(rows)))))


def _training_sample(engine: Engine, space: Space, rows: int, wanted: int, top: int) -> np.ndarray:
    """About ``wanted`` vectors of random ids (ids are dense enough that a few draws suffice), each
    draw read in a short transaction of its own."""
    rng = np.random.default_rng(0)
    if rows <= wanted:
        return np.concatenate([v for _, v, _ in stream_rows_apart(engine, space, 0, upto=top, batch=BUILD_BATCH)])
    got: list[np.ndarray] = []
    have = 0
    for _attempt in range(6):
        draw = np.unique(rng.integers(1, top + 1, size=int((wanted - have) * 1.3 * top / rows) + 16))
        with Session(engine) as session:
            _, vectors, _ = rows_by_id(session, space, draw)
        if len(vectors):
            got.append(vectors)
            have += len(vectors)
        if have >= wanted:
            break
    return np.concatenate(got)[:wanted] if got else np.zeros((0, 0), EMBEDDING_DTYPE)


def train(sample: np.ndarray, rows: int) -> Any:
    """An empty, trained IVF-PQ index for about ``rows`` vectors like ``sample``."""
    dim = sample.shape[1]
    nlist = min(nlist_for(rows), max(1, len(sample) // 39))
    m = PQ_BYTES if dim % PQ_BYTES == 0 else next(d for d in range(min(PQ_BYTES, dim), 0, -1) if dim % d == 0)
    index = faiss.index_factory(dim, f"IVF{nlist},PQ{m}", faiss.METRIC_INNER_PRODUCT)
    faiss.downcast_index(index).do_polysemous_training = False  # slow, and its Hamming filter is not used
    index.train(np.ascontiguousarray(sample, dtype=np.float32))
    return index


def _figures(engine: Engine, space: Space) -> tuple[int, int]:
    """(highest id, rows) of the space, read in one short transaction."""
    with Session(engine) as session:
        top = max_id(session, space)
        return top, count_rows(session, space, upto=top)


def build(engine: Engine, space: Space, log_every: int = 1_000_000
          ) -> tuple[Any, np.ndarray, np.ndarray, int] | None:
    """Train and fill an index from every row of the space up to the highest id when it starts
    (the watermark: rows written later are a reader's tail); (index, ids, fingerprints,
    watermark), or None when there are no rows. No read transaction spans the build: each batch
    of rows is read in its own (``stream_rows_apart``), so writers and searches go on meanwhile;
    a row deleted after its batch was read is indexed and found dead by readers (docs)."""
    started = time.monotonic()
    top, rows = _figures(engine, space)
    if not rows:
        return None
    wanted = min(TRAIN_MAX, max(TRAIN_MIN, TRAIN_PER_LIST * nlist_for(rows)))
    index = train(_training_sample(engine, space, rows, wanted, top), rows)
    trained = time.monotonic()
    all_ids_: list[np.ndarray] = []
    all_fps: list[np.ndarray] = []
    added = 0
    for ids, vectors, fps in stream_rows_apart(engine, space, 0, upto=top, batch=BUILD_BATCH):
        index.add_with_ids(vectors, ids)
        all_ids_.append(ids)
        all_fps.append(fps)
        added += len(ids)
        if added // log_every != (added - len(ids)) // log_every:
            log.info("vector index %s: %d of %d rows added", space.key, added, rows)
    log.info("vector index %s: built over %d rows (%s) in %.1f s (training %.1f s)", space.key, added, describe(index),
             time.monotonic() - started, trained - started)
    empty = np.zeros(0, np.int64)
    return (index, np.concatenate(all_ids_) if all_ids_ else empty,
            np.concatenate(all_fps) if all_fps else empty.astype(np.uint32), top)


def load_for_update(gen: Generation) -> Any:
    """A writable in-memory copy of a generation's index (the mapped one is read-only)."""
    return faiss.read_index(str(gen.folder / f"vectors-{gen.number}.faiss"))


# ---- writing generations


def rebuild_index(engine: Engine, folder: Path | None = None, space: Space = TEXT) -> dict[str, int] | None:
    """Train and write a new generation of ``space`` from every row (waits for the writer lock);
    ``folder``: the space's folder of the settings' index folder when None. Returns the
    manifest's figures, or None when there is no folder or the database holds no embedding. Below
    ``BUILD_AT`` rows no generation is written (any earlier one is retired): generation 0, the
    exact search answers."""
    folder = folder if folder is not None else index_folder(engine, space=space)
    if folder is None:
        return None
    with writer_lock(folder, wait=True):
        rows = _figures(engine, space)[1]
        if 0 < rows < generation.BUILD_AT:  # too few to train for (as fold_index): the exact tail answers
            if generation.manifest_signature(folder) is not None:
                retire(folder)
            return {"generation": 0, "count": rows, "watermark": 0}
        built = build(engine, space)
        if built is None:
            return None
        index, ids, fps, watermark = built
        number = publish(folder, index, ids, fps, watermark, len(ids), database_label(engine), space)
    return {"generation": number, "count": int(len(ids)), "watermark": int(watermark)}


def fold_index(engine: Engine, folder: Path | None, stale: np.ndarray | None = None, wait: bool = True,
               space: Space = TEXT) -> int | None:
    """Fold the rows above the watermark (and ``stale`` ids: indexed under a vector they no longer
    have) into a new generation, dropping ids the database lost; a full build when there is no
    usable generation or the rows far outgrew the training, a retirement below ``BUILD_AT`` rows.
    Returns the generation written, or None (no folder, lock busy and not ``wait``, nothing to do,
    a write that failed)."""
    if folder is None:
        return None
    started = time.monotonic()
    try:
        with writer_lock(folder, wait=wait) as held:
            if not held:
                return None
            current = open_generation(folder)
            top, rows = _figures(engine, space)
            if rows < generation.BUILD_AT:  # too few to train for: the exact tail answers alone
                if generation.manifest_signature(folder) is not None:
                    retire(folder)
                return None
            if current is None or not (current.trained_rows / RETRAIN_GROWTH <= rows
                                       <= RETRAIN_GROWTH * current.trained_rows):
                built = build(engine, space)
                if built is None:
                    return None
                index, ids, fps, watermark = built
                trained = len(ids)
            else:
                folded = _fold(engine, space, current, top, stale)
                if folded is None:
                    return None
                index, ids, fps, watermark = folded
                trained = current.trained_rows
            number = publish(folder, index, ids, fps, watermark, trained, database_label(engine), space)
    except OSError as error:  # a full disk or a read-only folder: searches go on from the tail
        log.warning("vector index %s: fold failed (%s)", folder, error)
        return None
    log.info("vector index %s: folded into generation %d in %.1f s", folder, number, time.monotonic() - started)
    return number


def _fold(engine: Engine, space: Space, current: Generation, top: int, stale: np.ndarray | None
          ) -> tuple[Any, np.ndarray, np.ndarray, int] | None:
    """``current`` loaded into memory, less the ids the database lost and the ``stale`` ones, plus
    the rows above its watermark up to ``top`` and the stale ones re-read; None when nothing
    changed. The ids, the re-read rows and each batch of new rows are read in short transactions
    of their own (as ``build``)."""
    w = current.watermark
    index = load_for_update(current)
    ids, fps = np.array(current.ids), np.array(current.fps)
    with Session(engine) as session:
        db_ids = all_ids(session, space, w) if count_rows(session, space, upto=w) != len(ids) else ids
    stale = np.zeros(0, np.int64) if stale is None else stale
    gone = np.union1d(np.setdiff1d(ids, db_ids, assume_unique=True), stale)
    fresh = np.union1d(np.setdiff1d(db_ids, ids, assume_unique=True), np.intersect1d(stale, db_ids))
    if len(gone):
        index.remove_ids(gone.astype(np.int64))
        keep = ~np.isin(ids, gone)
        ids, fps = ids[keep], fps[keep]
    with Session(engine) as session:
        reread = rows_by_id(session, space, fresh)
    new = [reread, *stream_rows_apart(engine, space, w, upto=top, batch=BUILD_BATCH)]
    for add_ids, vectors, add_fps in new:
        if len(add_ids):
            index.add_with_ids(vectors, add_ids)
            ids, fps = np.concatenate([ids, add_ids]), np.concatenate([fps, add_fps])
    watermark = max(w, top)
    if not len(gone) and not any(len(n[0]) for n in new) and watermark == w:
        return None
    return index, ids, fps, watermark
