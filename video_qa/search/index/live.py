"""This process's state of one database's vector index of one space (``space``), and how it follows the database and the
published files. It reads and never writes: a generation to write is asked of its ``Writer``.

A ``VectorIndex`` holds:

- the current *generation* of the persisted index (``generation``): the PQ codes of every moment
  with an id up to its watermark, memory-mapped, so every process of the machine shares one copy
  through the page cache;
- the *tail*: the rows written since (id above the watermark), read from the database before each
  query (``WHERE moment_id > last seen``: the primary key's index, nothing when nothing is new) and
  searched exactly; so a process sees every committed moment at its next query, whoever wrote it
  (one committed after higher ids were read, PostgreSQL: by ``_catch_late`` within the last
  ``LATE_WINDOW`` ids, else by the next ``check``);
- *dead* ids: ids the generation holds that the database no longer has, or has with another
  vector (SQLite gives a deleted row's id to the next row): never returned from the generation.

Without a usable generation (none published yet, or the manifest names damaged or missing files)
the tail holds every row, up to ``TAIL_MAX``; past that the index is ``scanning``: nothing is held
and each query searches the database exactly (``query.exact_scan``), until the writer publishes a
generation. The writer is asked when the tail outgrows ``FOLD_AT`` (or dead ids pile up), and
whenever no usable generation is there for an archive worth one. Consistency with the database is
checked when a generation is opened and every ``CHECK_EVERY_S``: counts first, a full diff of ids
only when they disagree.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Protocol

import numpy as np
from sqlalchemy.orm import Session

from video_qa.moments.values import EMBEDDING_DTYPE
from video_qa.search.index import generation
from video_qa.search.index.generation import Generation, manifest_signature, open_generation
from video_qa.search.index.rows import all_ids, count_rows, newest_rows, rows_by_id, stream_rows
from video_qa.search.index.space import Space

log = logging.getLogger(__name__)

TAIL_MAX = 200_000  # no usable generation and more rows than this: queries scan the database instead
FOLD_AT, FOLD_SHARE = 20_000, 0.02  # tail rows that make a fold: the larger of the two
DEAD_SHARE = 0.05  # dead ids (share of the generation) that make a fold
CHECK_EVERY_S = 300.0
VERIFY_BATCH, VERIFY_MAX = 512, 50_000  # _verify_newest
LATE_WINDOW = 4_096  # ids below the highest seen in which each query looks for late commits (_catch_late)

Signature = tuple[int, int, int]


class Writer(Protocol):
    """Writes a new generation of this index somewhere other than the query's thread."""

    @property
    def busy(self) -> bool: ...

    def request(self, stale: np.ndarray) -> None:
        """Fold the tail (and the ``stale`` ids) into a new generation, or build one."""


def nprobe_for(nlist: int) -> int:
    """Inverted lists a query scans (docs/search-index.md: recall against time)."""
    return min(nlist, 32)


class VectorIndex:
    """One database's vector index of ``space`` in this process (see module doc)."""

    def __init__(self, space: Space, folder: Path | None, writer: Writer | None = None) -> None:
        self.folder = folder
        self.space = space
        self.writer = writer
        self.lock = threading.RLock()
        self.gen: Generation | None = None
        self.opened = False
        self.looked_at: Signature | None = None  # the manifest's signature when last acted on
        self.scanning = False
        self.dead = np.zeros(0, np.int64)  # sorted
        self.tail_ids = np.zeros(0, np.int64)
        self.tail_vectors = np.zeros((0, 0), EMBEDDING_DTYPE)
        self.tail_fps = np.zeros(0, np.uint32)
        self.seen = 0  # highest id read from the database
        self.checked_at = float("-inf")

    # -- state

    @property
    def watermark(self) -> int:
        return self.gen.watermark if self.gen is not None else 0

    @property
    def building(self) -> bool:
        """The writer is folding or building this index."""
        return self.writer is not None and self.writer.busy

    @property
    def ids(self) -> np.ndarray:
        """Every live id held: the generation's less the dead ones, and the tail's (sorted)."""
        held = np.setdiff1d(np.asarray(self.gen.ids), self.dead) if self.gen is not None else np.zeros(0, np.int64)
        return np.union1d(held, self.tail_ids)

    def __len__(self) -> int:
        held = self.gen.count - len(self.dead) if self.gen is not None else 0
        return held + len(self.tail_ids)

    def _append(self, ids: np.ndarray, vectors: np.ndarray, fps: np.ndarray) -> None:
        if not len(ids):
            return
        keep = ~np.isin(self.tail_ids, ids)  # a re-read row replaces the one held
        self.tail_ids = np.concatenate([self.tail_ids[keep], ids])
        self.tail_fps = np.concatenate([self.tail_fps[keep], fps])
        held = self.tail_vectors[keep] if len(self.tail_vectors) else np.zeros((0, vectors.shape[1]), EMBEDDING_DTYPE)
        self.tail_vectors = np.concatenate([held, vectors])

    def _drop_tail(self, mask: np.ndarray) -> None:
        keep = ~mask
        self.tail_ids, self.tail_fps = self.tail_ids[keep], self.tail_fps[keep]
        self.tail_vectors = self.tail_vectors[keep] if len(self.tail_vectors) else self.tail_vectors

    def _kill(self, ids: np.ndarray) -> None:
        if self.gen is not None and len(ids):
            held = ids[np.isin(ids, self.gen.ids)]
            self.dead = np.union1d(self.dead, held)

    def _install(self, gen: Generation) -> None:
        gen.index.nprobe = nprobe_for(gen.index.nlist)
        self.gen, self.looked_at, self.scanning = gen, gen.signature, False
        self.dead = np.zeros(0, np.int64)
        low = self.tail_ids <= gen.watermark
        # rows at or below its watermark leave the tail, unless the generation indexed another
        # vector under their id (a change its writer could not see): those stay, its copy dead
        differs = low & (gen.fingerprints(self.tail_ids) != self.tail_fps)
        self._drop_tail(low & ~differs)
        self._kill(self.tail_ids[self.tail_ids <= gen.watermark])
        self.seen = max(self.seen, gen.watermark)
        self.checked_at = float("-inf")  # check the new generation against the database
        log.info("vector index: generation %d open (%d vectors, watermark %d)", gen.number, gen.count, gen.watermark)

    def _without_generation(self, session: Session, signature: Signature | None) -> None:
        """No usable generation: nothing held from any earlier one; the tail is read afresh, or
        with more than ``TAIL_MAX`` rows, queries scan the database."""
        self.gen, self.looked_at, self.dead, self.seen = None, signature, np.zeros(0, np.int64), 0
        self._drop_tail(np.ones(len(self.tail_ids), dtype=bool))
        self.scanning = count_rows(session, self.space) > TAIL_MAX
        if signature is not None:
            log.warning("vector index %s: current generation unusable; searching exactly until it is rebuilt",
                        self.folder)
        elif self.scanning:
            log.info("vector index %s: none yet for %d+ rows; searching exactly until one is built", self.folder,
                     TAIL_MAX)

    # -- bringing it up to date

    def refresh(self, session: Session) -> None:
        """Follow the published generation, read new rows into the tail, check consistency when
        due, and ask the writer for a generation when one is due (module doc). Call with ``lock``
        held."""
        self._follow(session)
        if not self.scanning:
            self._verify_newest(session)
            for ids, vectors, fps in stream_rows(session, self.space, self.seen):
                self._append(ids, vectors, fps)
                self.seen = int(ids[-1])
            if session.get_bind().dialect.name != "sqlite":  # SQLite's writes are serial: no id commits late
                self._catch_late(session)
            if time.monotonic() - self.checked_at > CHECK_EVERY_S:
                self.check(session)
        if self.writer is not None and self._fold_due():
            self.writer.request(self.dead.copy())

    def _follow(self, session: Session) -> None:
        if self.folder is None:
            self.opened = True
            return
        signature = manifest_signature(self.folder)
        if self.opened and signature == self.looked_at:
            return
        gen = open_generation(self.folder) if signature is not None else None
        if gen is not None:
            self._install(gen)
        else:
            if self.gen is not None and signature is None:
                log.info("vector index %s: retired; searching exactly", self.folder)
            self._without_generation(session, signature)
        self.opened = True

    def _fold_due(self) -> bool:
        if self.building:
            return False
        if self.gen is None:  # none usable: build one when the archive is worth it
            return self.scanning or self.looked_at is not None or len(self.tail_ids) >= generation.BUILD_AT
        return (len(self.tail_ids) >= max(FOLD_AT, FOLD_SHARE * self.gen.count)
                or len(self.dead) > DEAD_SHARE * self.gen.count)

    def _held_between(self, low: int, high: int) -> np.ndarray:
        """Live ids held (generation less dead, and tail) with ``low < id <= high``."""
        parts = [self.tail_ids[(self.tail_ids > low) & (self.tail_ids <= high)]]
        if self.gen is not None:
            ids = self.gen.ids
            part = np.asarray(ids[np.searchsorted(ids, low, side="right"):np.searchsorted(ids, high, side="right")])
            parts.append(np.setdiff1d(part, self.dead, assume_unique=True) if len(self.dead) else part)
        return np.unique(np.concatenate(parts))

    def _verify_newest(self, session: Session) -> None:
        """Deletes and re-inserts at the top of the id range (a re-analysed part of the newest
        video; SQLite then gives the deleted ids again): the newest row up to ``seen`` must be the
        one held, with the vector held. When it is not, walk down in batches, putting changed or
        missing rows right (dead / tail), until a batch agrees (past ``VERIFY_MAX`` rows: a full
        check). One primary-key lookup per query when nothing changed."""
        if self.seen == 0:
            return
        cursor, walked, batch = self.seen, 0, 1
        while True:
            ids, vectors, fps = newest_rows(session, self.space, cursor, batch)
            low = int(ids[-1]) - 1 if len(ids) == batch else 0  # (low, cursor]: every row there is in ids
            gone = np.setdiff1d(self._held_between(low, cursor), ids)
            changed = self.held_fingerprints(ids) != fps if len(ids) else np.zeros(0, bool)
            if walked == 0:
                self.seen = int(ids[0]) if len(ids) else 0  # rows above it were deleted: their ids come again
            if not len(gone) and not changed.any():
                return
            if walked == 0:
                log.info("vector index: the newest rows changed under it; verifying downwards from id %d", cursor)
            self._kill(gone)
            self._drop_tail(np.isin(self.tail_ids, gone))
            self.note_changed(ids[changed], vectors[changed], fps[changed])
            walked += max(1, len(ids))
            if low == 0:
                return
            if walked > VERIFY_MAX:
                self.checked_at = float("-inf")
                return
            cursor, batch = low, VERIFY_BATCH

    def _catch_late(self, session: Session) -> None:
        """Rows committed after higher ids were read (PostgreSQL takes ids at insert and commits in
        any order: two ingest workers, two hosts): each query counts the rows of the last
        ``LATE_WINDOW`` ids seen against those held and, when the database has more, reads the
        missing ones into the tail. One count on the primary key when nothing is late; a late row
        further down is found by the next ``check``."""
        low = max(0, self.seen - LATE_WINDOW)
        if self.seen > low and count_rows(session, self.space, above=low, upto=self.seen) > len(
                self._held_between(low, self.seen)):
            self._read_missing(session, low)

    def _read_missing(self, session: Session, low: int) -> np.ndarray:
        """The rows with ``low < id <= seen`` not held read into the tail; every id there returned."""
        held = self._held_between(low, self.seen)
        present, late = [], 0
        for ids, vectors, fps in stream_rows(session, self.space, low, upto=self.seen):
            present.append(ids)
            new = ~np.isin(ids, held)
            late += int(new.sum())
            self._append(ids[new], vectors[new], fps[new])
        if late:
            log.info("vector index: %d moments committed after higher ids were read; now in the tail", late)
        return np.concatenate(present or [np.zeros(0, np.int64)])

    def check(self, session: Session) -> None:
        """Counts against the database; on a difference, the ids: dead ones out, missing ones
        into the tail."""
        self.checked_at = time.monotonic()
        w = self.watermark
        tail_low = self.tail_ids[self.tail_ids <= w]
        if self.gen is not None:
            held = self.gen.count - len(self.dead) + len(tail_low)
            in_db = count_rows(session, self.space, upto=w)
            if held != in_db:
                started = time.monotonic()
                db_ids = all_ids(session, self.space, w)
                gen_ids = np.asarray(self.gen.ids)
                self._kill(np.setdiff1d(gen_ids, db_ids, assume_unique=True))
                self._drop_tail((self.tail_ids <= w) & ~np.isin(self.tail_ids, db_ids))
                live = np.union1d(np.setdiff1d(gen_ids, self.dead, assume_unique=True), self.tail_ids[self.tail_ids <= w])
                missing = np.setdiff1d(db_ids, live, assume_unique=True)
                self._append(*rows_by_id(session, self.space, missing))
                log.info("vector index: %d held against %d in the database up to id %d: %d dead, %d read again "
                         "(%.1f s)", held, in_db, w, len(self.dead), len(missing), time.monotonic() - started)
        if int((self.tail_ids > w).sum()) != count_rows(session, self.space, above=w, upto=self.seen):
            present = self._read_missing(session, w)  # committed late (``_catch_late``), or deleted:
            self._drop_tail((self.tail_ids > w) & ~np.isin(self.tail_ids, present))

    def held_fingerprints(self, ids: np.ndarray) -> np.ndarray:
        """The fingerprint each id was indexed under: the tail's where it is there, else the
        generation's (0: unknown)."""
        out = self.gen.fingerprints(ids) if self.gen is not None else np.zeros(len(ids), np.uint32)
        if len(self.tail_ids):
            order = np.argsort(self.tail_ids)
            at = np.searchsorted(self.tail_ids, ids, sorter=order)
            at = order[np.minimum(at, len(order) - 1)]
            in_tail = self.tail_ids[at] == ids
            out = np.where(in_tail, self.tail_fps[at], out)
        return out

    def note_changed(self, ids: np.ndarray, vectors: np.ndarray, fps: np.ndarray) -> None:
        """Rows whose vector differs from the indexed one under the same id: the generation's copy
        dies, the row as it is now joins the tail. Call with ``lock`` held."""
        if len(ids):
            log.info("vector index: %d moments changed under their ids; moved to the exact tail", len(ids))
            self._kill(ids)
            self._append(ids, vectors, fps)
