"""The persisted vector index of one database: faiss IVF-PQ files in a folder, by generation.

A folder (``vectors.index_folder``) holds::

    manifest.json            which generation is current, its watermark and counts (written last)
    vectors-<g>.faiss        faiss IVF-PQ index (inner product) of every moment with id <= watermark
    ids-<g>.npy              the ids it holds, sorted (int64)
    fps-<g>.npy              crc32 of each id's embedding bytes, in the order of ids-<g>.npy
    lock                     flock(2) file: one writer at a time, across processes

Readers open a generation memory-mapped (``faiss.IO_FLAG_MMAP``: the PQ codes and ids of the
inverted lists stay in the file and are shared by every process through the page cache; ``np.load``
with ``mmap_mode='r'`` for the id and fingerprint arrays). Writers never change a published file:
a new generation is written to temporary files, each flushed and fsynced, renamed into place, then
the manifest is replaced the same way and the folder fsynced. A writer killed at any point leaves
the previous manifest naming complete files (its temporary files are removed by the next writer);
a manifest that cannot be read or names files that are missing or disagree with each other is
reported as ``None`` by ``open_generation`` and the caller rebuilds.

Building streams the rows from the database in id order (never all vectors in memory): the
coarse quantizer and the product quantizer are trained on a random sample of ids, then every row
is added in batches.
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
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faiss
import numpy as np
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from video_qa.models import MomentEmbedding
from video_qa.moments import EMBEDDING_DTYPE

log = logging.getLogger(__name__)

FORMAT = 1
MANIFEST = "manifest.json"
LOCK = "lock"
PQ_BYTES = 64  # bytes of code per vector (docs/search-index.md: measured against the other choices)
NLIST_MIN, NLIST_MAX = 64, 2048  # 2048: assigning 10M vectors stays near 6 min on 2 cores (docs)
TRAIN_PER_LIST = 40  # training sample: this many vectors per inverted list
TRAIN_MIN, TRAIN_MAX = 10_000, 150_000  # product quantizer: 256 centroids x 39 points
STREAM_BATCH = 20_000


@dataclass
class Generation:
    """One published generation, opened memory-mapped."""

    folder: Path
    number: int
    index: Any  # faiss.IndexIVFPQ
    ids: np.ndarray  # sorted int64 (memory-mapped)
    fps: np.ndarray  # uint32, aligned with ids (memory-mapped)
    watermark: int  # every database id <= watermark was considered when this generation was written
    trained_rows: int  # rows the quantizers were trained for (a rebuild retrains when far outgrown)
    signature: tuple[int, int, int]  # the manifest's (inode, size, mtime_ns) when it was read

    @property
    def count(self) -> int:
        return len(self.ids)

    def fingerprints(self, wanted: np.ndarray) -> np.ndarray:
        """crc32 of each wanted id's vector as indexed; 0 where the id is not held (a real
        crc32 of 0 only makes one extra re-read)."""
        at = np.searchsorted(self.ids, wanted)
        at = np.minimum(at, max(0, len(self.ids) - 1))
        held = (self.ids[at] == wanted) if len(self.ids) else np.zeros(len(wanted), dtype=bool)
        return np.where(held, self.fps[at], 0).astype(np.uint32)


def fingerprint(blob: bytes) -> int:
    return zlib.crc32(blob)


def manifest_signature(folder: Path) -> tuple[int, int, int] | None:
    try:
        st = os.stat(folder / MANIFEST)
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def read_manifest(folder: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((folder / MANIFEST).read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        log.warning("vector index %s: unreadable manifest (%s)", folder, error)
        return None
    return data if isinstance(data, dict) and data.get("format") == FORMAT else None


def open_generation(folder: Path) -> Generation | None:
    """The current generation, memory-mapped; None when there is none or it is damaged (logged)."""
    for _attempt in range(3):  # a writer may replace the manifest and remove old files meanwhile
        signature = manifest_signature(folder)
        manifest = read_manifest(folder)
        if manifest is None or signature is None:
            return None
        number = int(manifest["generation"])
        try:
            index = faiss.read_index(str(folder / manifest["index"]), faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY)
            ids = np.load(folder / manifest["ids"], mmap_mode="r")
            fps = np.load(folder / manifest["fps"], mmap_mode="r")
        except FileNotFoundError:
            if manifest_signature(folder) != signature:
                continue  # replaced under us: read the new one
            log.warning("vector index %s: generation %d names missing files", folder, number)
            return None
        except (RuntimeError, OSError, ValueError) as error:  # faiss raises RuntimeError on a damaged file
            log.warning("vector index %s: generation %d unreadable (%s)", folder, number, error)
            return None
        if not (index.ntotal == len(ids) == len(fps) == int(manifest["count"])):
            log.warning("vector index %s: generation %d is inconsistent (%d vectors, %d ids, %d fingerprints)",
                        folder, number, index.ntotal, len(ids), len(fps))
            return None
        return Generation(folder, number, index, ids, fps, int(manifest["watermark"]),
                          int(manifest.get("trained_rows", index.ntotal)), signature)
    return None


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
            database: str) -> int:
    """Write a new generation and make it current; returns its number. Call with the writer lock."""
    current = read_manifest(folder)
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
                "database": database, "written_at": time.time()}
    _fsync_write(folder / (MANIFEST + tag), lambda fh: fh.write(json.dumps(manifest, indent=1).encode()))
    os.replace(folder / (MANIFEST + tag), folder / MANIFEST)
    _fsync_path(folder)
    previous = {f"vectors-{number - 1}.faiss", f"ids-{number - 1}.npy", f"fps-{number - 1}.npy"}
    remove_leftovers(folder, set(names.values()) | previous)  # the previous one: a reader may be opening it
    log.info("vector index %s: generation %d published (%d vectors, watermark %d)", folder, number, len(ids),
             watermark)
    return number


def retire(folder: Path) -> None:
    """No index any more (the database shrank below what is worth training for): the manifest
    goes first, atomically, then the files. Call with the writer lock."""
    (folder / MANIFEST).unlink(missing_ok=True)
    _fsync_path(folder)
    remove_leftovers(folder, set())
    log.info("vector index %s: retired", folder)


def describe(index: Any) -> str:
    ivf = faiss.downcast_index(faiss.extract_index_ivf(index))
    return f"IVF{ivf.nlist},PQ{ivf.pq.M}x{ivf.pq.nbits}"


# ---- reading rows from the database


def count_rows(session: Session, above: int | None = None, upto: int | None = None) -> int:
    stmt = select(func.count()).select_from(MomentEmbedding)
    if above is not None:
        stmt = stmt.where(MomentEmbedding.moment_id > above)
    if upto is not None:
        stmt = stmt.where(MomentEmbedding.moment_id <= upto)
    return int(session.scalar(stmt) or 0)


def max_id(session: Session) -> int:
    return int(session.scalar(select(func.max(MomentEmbedding.moment_id))) or 0)


def stream_rows(session: Session, above: int, upto: int | None = None, batch: int = STREAM_BATCH
                ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(ids, vectors, fingerprints) of the rows with ``above < id <= upto``, in id order, in batches
    (keyset pagination on the primary key)."""
    last = above
    while True:
        stmt = (select(MomentEmbedding.moment_id, MomentEmbedding.embedding)
                .where(MomentEmbedding.moment_id > last).order_by(MomentEmbedding.moment_id).limit(batch))
        if upto is not None:
            stmt = stmt.where(MomentEmbedding.moment_id <= upto)
        rows = session.execute(stmt).all()
        if not rows:
            return
        yield to_arrays(rows)
        last = int(rows[-1][0])
        if len(rows) < batch:
            return


def rows_by_id(session: Session, wanted: np.ndarray, chunk: int = 5_000) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ids, vectors, fingerprints) of those of the ``wanted`` ids that have an embedding."""
    found = []
    for a in range(0, len(wanted), chunk):
        part = [int(i) for i in wanted[a:a + chunk]]
        found += session.execute(select(MomentEmbedding.moment_id, MomentEmbedding.embedding)
                                 .where(MomentEmbedding.moment_id.in_(part))).all()
    return to_arrays(found)


def to_arrays(rows: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if not rows:
        return np.zeros(0, np.int64), np.zeros((0, 0), EMBEDDING_DTYPE), np.zeros(0, np.uint32)
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    vectors = np.frombuffer(b"".join(r[1] for r in rows), dtype=EMBEDDING_DTYPE).reshape(len(rows), -1)
    fps = np.fromiter((fingerprint(r[1]) for r in rows), dtype=np.uint32, count=len(rows))
    return ids, vectors, fps


def all_ids(session: Session, upto: int) -> np.ndarray:
    """Every id up to ``upto``, sorted (the full diff of a consistency check)."""
    result = session.execute(select(MomentEmbedding.moment_id).where(MomentEmbedding.moment_id <= upto)
                             .order_by(MomentEmbedding.moment_id))
    return np.fromiter((r[0] for r in result), dtype=np.int64)


# ---- building


def nlist_for(rows: int) -> int:
    return int(min(NLIST_MAX, max(NLIST_MIN, round(math.sqrt(rows)))))


def _training_sample(session: Session, rows: int, wanted: int, top: int) -> np.ndarray:
    """About ``wanted`` vectors of random ids (ids are dense enough that a few draws suffice)."""
    rng = np.random.default_rng(0)
    if rows <= wanted:
        return np.concatenate([v for _, v, _ in stream_rows(session, 0)])
    got: list[np.ndarray] = []
    have = 0
    for _attempt in range(6):
        draw = np.unique(rng.integers(1, top + 1, size=int((wanted - have) * 1.3 * top / rows) + 16))
        _, vectors, _ = rows_by_id(session, draw)
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


def build(session: Session, log_every: int = 1_000_000) -> tuple[Any, np.ndarray, np.ndarray, int] | None:
    """Train and fill an index from every row; (index, ids, fingerprints, watermark), or None when
    there are no rows."""
    started = time.monotonic()
    top = max_id(session)
    rows = count_rows(session, upto=top)
    if not rows:
        return None
    sample = _training_sample(session, rows, min(TRAIN_MAX, max(TRAIN_MIN, TRAIN_PER_LIST * nlist_for(rows))), top)
    index = train(sample, rows)
    trained = time.monotonic()
    all_ids_: list[np.ndarray] = []
    all_fps: list[np.ndarray] = []
    added = 0
    for ids, vectors, fps in stream_rows(session, 0, upto=top):
        index.add_with_ids(vectors, ids)
        all_ids_.append(ids)
        all_fps.append(fps)
        added += len(ids)
        if added // log_every != (added - len(ids)) // log_every:
            log.info("vector index: %d of %d rows added", added, rows)
    log.info("vector index: built over %d rows (%s) in %.1f s (training %.1f s)", added, describe(index),
             time.monotonic() - started, trained - started)
    empty = np.zeros(0, np.int64)
    return (index, np.concatenate(all_ids_) if all_ids_ else empty,
            np.concatenate(all_fps) if all_fps else empty.astype(np.uint32), top)


def load_for_update(gen: Generation) -> Any:
    """A writable in-memory copy of a generation's index (the mapped one is read-only)."""
    return faiss.read_index(str(gen.folder / f"vectors-{gen.number}.faiss"))


def engine_label(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)
