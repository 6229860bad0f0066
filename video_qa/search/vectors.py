"""The vector part of a search: a persisted faiss IVF-PQ index shared by the processes of a
machine, an exact in-memory tail of newer rows, and exact re-ranking from the database.

Per database, a process holds a ``VectorIndex``:

- the current *generation* of the persisted index (``index_store``): the PQ codes of every moment
  with an id up to its watermark, memory-mapped, so every process of the machine shares one copy
  through the page cache;
- the *tail*: the rows written since (id above the watermark), read from the database before each
  query (``WHERE moment_id > last seen``: the primary key's index, nothing when nothing is new) and
  searched exactly; so a process sees every committed moment at its next query, whoever wrote it;
- *dead* ids: ids the generation holds that the database no longer has, or has with another
  vector (SQLite gives a deleted row's id to the next row): never returned from the generation.

A query takes the ``RERANK`` best candidates of the generation and of the tail, reads their rows
(embedding, and the moment's fields when there are filters) from the database and ranks them by
the exact cosine: a deleted moment cannot come back (it has no row), a changed one is scored by
what the database holds now, and a row whose vector differs from the one indexed under its id
(crc32 fingerprints) is marked dead and moved to the tail. A filter is applied in that same SQL;
when it leaves too few candidates the depth grows; a filter on one video (or any filter leaving
at most ``EXACT_MAX`` rows) is searched exactly over that video's rows.

When the tail outgrows ``fold_at`` (or dead ids pile up) one process folds it into a new
generation in a background thread, holding the folder's writer lock (others skip); readers notice
the new manifest at their next query and map the new files. Consistency with the database is
checked when a generation is opened and every ``CHECK_EVERY_S``: counts first, a full diff of ids
only when they disagree. ``rebuild_index`` (``videoqa reindex``) trains and writes a fresh one.
docs/search-index.md has the measurements behind the choices.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from pathlib import Path

import numpy as np
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from video_qa.db import index_dir_of, set_index_dir
from video_qa.models import Moment, MomentEmbedding, Video
from video_qa.moments import EMBEDDING_DTYPE
from video_qa.search import index_store as store
from video_qa.search.hits import CANDIDATES, Filters

log = logging.getLogger(__name__)

BUILD_AT = 50_000  # rows before the first generation is written (below: the exact tail alone)
SYNC_BUILD_AT = 200_000  # more rows than this and no generation: build one before answering
FOLD_AT, FOLD_SHARE = 20_000, 0.02  # tail rows that make a fold: the larger of the two
DEAD_SHARE = 0.05  # dead ids (share of the generation) that make a fold
RETRAIN_GROWTH = 4.0  # a fold past this many times the rows trained for (or below a quarter) retrains
CHECK_EVERY_S = 300.0
RERANK = 256  # candidates re-ranked exactly (unfiltered)
WIDE = 8192  # unfiltered: asked of the generation, before runs of equal scores collapse
FILTERED_RERANK, WIDEN_MAX = 2048, 65_536  # filtered: first depth, deepest
EXACT_MAX = 20_000  # a filter leaving at most this many rows is searched exactly
IN_CHUNK = 5_000
VERIFY_BATCH, VERIFY_MAX = 512, 50_000  # _verify_newest


def nprobe_for(nlist: int) -> int:
    """Inverted lists a query scans (docs/search-index.md: recall against time)."""
    return min(nlist, 32)


# ---- where a database's index lives


def use_index_dir(engine: Engine, path: Path) -> None:
    """Keep this engine's vector index under ``path`` (a folder per database inside it)."""
    set_index_dir(engine, path)


def index_folder(engine: Engine) -> Path | None:
    """This database's index folder: under the folder named for it (``use_index_dir`` /
    ``engine_for(url, index_dir=...)``), else under ``index/`` beside a SQLite file, else under the
    process settings' ``index_dir``. None for an in-memory SQLite database (nothing persisted)."""
    url = engine.url
    base = index_dir_of(engine)
    if url.get_backend_name() == "sqlite":
        if url.database in (None, "", ":memory:"):
            return None
        label = f"sqlite:{Path(url.database).resolve()}"
        if base is None:
            base = Path(url.database).resolve().parent / "index"
    else:
        label = url.render_as_string(hide_password=True)
        if base is None:
            from video_qa.config import get_settings

            base = get_settings().index_dir
    return base / hashlib.sha256(label.encode()).hexdigest()[:16]


# ---- the per-process index of one database


class VectorIndex:
    """One database's vector index in this process (see module doc)."""

    def __init__(self, engine: Engine, folder: Path | None, background: bool = True) -> None:
        self.engine = engine
        self.folder = folder
        self.background = background
        self.lock = threading.RLock()
        self.gen: store.Generation | None = None
        self.opened = False
        self.dead = np.zeros(0, np.int64)  # sorted
        self.tail_ids = np.zeros(0, np.int64)
        self.tail_vectors = np.zeros((0, 0), EMBEDDING_DTYPE)
        self.tail_fps = np.zeros(0, np.uint32)
        self.seen = 0  # highest id read from the database
        self.checked_at = float("-inf")
        self.folding: threading.Thread | None = None

    # -- state

    @property
    def watermark(self) -> int:
        return self.gen.watermark if self.gen is not None else 0

    @property
    def building(self) -> bool:
        """A fold or build of this process is running in the background."""
        return self.folding is not None and self.folding.is_alive()

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

    def _install(self, gen: store.Generation) -> None:
        gen.index.nprobe = nprobe_for(gen.index.nlist)
        self.gen = gen
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

    # -- bringing it up to date

    def refresh(self, session: Session) -> None:
        """Follow the published generation, read new rows into the tail, check consistency when
        due, and start a fold when the tail has grown (module doc). Call with ``lock`` held."""
        self._follow(session)
        self._verify_newest(session)
        for ids, vectors, fps in store.stream_rows(session, self.seen):
            self._append(ids, vectors, fps)
            self.seen = int(ids[-1])
        if time.monotonic() - self.checked_at > CHECK_EVERY_S:
            self.check(session)
        if self.folder is not None and self._fold_due():
            self.fold_soon()

    def _follow(self, session: Session) -> None:
        if self.folder is None:
            self.opened = True
            return
        signature = store.manifest_signature(self.folder)
        if self.gen is not None and signature == self.gen.signature:
            return
        if signature is None and self.gen is not None:  # retired (too few rows): all from the tail
            log.info("vector index %s: retired; searching exactly", self.folder)
            self.gen, self.dead, self.seen = None, np.zeros(0, np.int64), 0
            self._drop_tail(np.ones(len(self.tail_ids), dtype=bool))
            return
        if signature is None and self.gen is None and self.opened:
            return
        gen = store.open_generation(self.folder) if signature is not None else None
        if gen is not None:
            self._install(gen)
        elif signature is not None or not self.opened:
            if signature is not None:
                log.warning("vector index %s: current generation unusable; rebuilding", self.folder)
            self.gen, self.dead = None, np.zeros(0, np.int64)
            if signature is not None or store.count_rows(session, above=self.seen) > SYNC_BUILD_AT:
                log.info("vector index %s: none usable for %d+ rows; building it now", self.folder, SYNC_BUILD_AT)
                rebuild_index(self.engine, self.folder, only_if_missing=signature is None)
                gen = store.open_generation(self.folder)
                if gen is not None:
                    self._install(gen)
        self.opened = True

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
            rows = session.execute(
                select(MomentEmbedding.moment_id, MomentEmbedding.embedding).where(MomentEmbedding.moment_id <= cursor)
                .order_by(MomentEmbedding.moment_id.desc()).limit(batch)).all()
            ids, vectors, fps = store.to_arrays(rows)
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

    def check(self, session: Session) -> None:
        """Counts against the database; on a difference, the ids: dead ones out, missing ones
        into the tail."""
        self.checked_at = time.monotonic()
        w = self.watermark
        tail_low = self.tail_ids[self.tail_ids <= w]
        if self.gen is not None:
            held = self.gen.count - len(self.dead) + len(tail_low)
            in_db = store.count_rows(session, upto=w)
            if held != in_db:
                started = time.monotonic()
                db_ids = store.all_ids(session, w)
                gen_ids = np.asarray(self.gen.ids)
                self._kill(np.setdiff1d(gen_ids, db_ids, assume_unique=True))
                self._drop_tail((self.tail_ids <= w) & ~np.isin(self.tail_ids, db_ids))
                live = np.union1d(np.setdiff1d(gen_ids, self.dead, assume_unique=True), self.tail_ids[self.tail_ids <= w])
                missing = np.setdiff1d(db_ids, live, assume_unique=True)
                self._append(*store.rows_by_id(session, missing))
                log.info("vector index: %d held against %d in the database up to id %d: %d dead, %d read again "
                         "(%.1f s)", held, in_db, w, len(self.dead), len(missing), time.monotonic() - started)
        above = self.tail_ids > w
        if int(above.sum()) != store.count_rows(session, above=w, upto=self.seen):
            present = np.concatenate([ids for ids, _, _ in store.stream_rows(session, w, upto=self.seen)] or
                                     [np.zeros(0, np.int64)])
            self._drop_tail(above & ~np.isin(self.tail_ids, present))

    def _fold_due(self) -> bool:
        if self.folding is not None and self.folding.is_alive():
            return False
        if self.gen is None:
            return len(self.tail_ids) >= BUILD_AT
        return (len(self.tail_ids) >= max(FOLD_AT, FOLD_SHARE * self.gen.count)
                or len(self.dead) > DEAD_SHARE * self.gen.count)

    def fold_soon(self) -> None:
        stale = self.dead.copy()
        if self.background:
            self.folding = threading.Thread(target=fold_index, args=(self.engine, self.folder, stale, False),
                                            name="vector-fold", daemon=True)
            self.folding.start()
        else:
            fold_index(self.engine, self.folder, stale, wait=False)

    # -- queries

    def candidates(self, vector: np.ndarray, k: int, collapse: bool = False) -> tuple[np.ndarray, dict[int, np.ndarray]]:
        """Ids of the ``k`` best of the generation (dead ones left out) and the ``k`` best of the
        tail, by approximate (generation) or exact (tail) score. ``collapse``: the generation is
        asked for ``WIDE`` and each run of equal approximate scores (the same product code in the
        same list: in practice the same vector, a sentence said again) counts once, its first id
        standing for it; the others come back as ``{first id: the others}`` (see ``query_scored``)."""
        found, groups = [], {}
        gen = self.gen
        if gen is not None and gen.count:
            scores, ids = gen.index.search(vector[None, :], min(max(k, WIDE if collapse else k) + len(self.dead), gen.count))
            keep = ids[0] >= 0
            scores, ids = scores[0][keep], ids[0][keep]
            if len(self.dead):
                alive = ~np.isin(ids, self.dead)
                scores, ids = scores[alive], ids[alive]
            if collapse and len(ids):
                starts = np.flatnonzero(np.r_[True, scores[1:] != scores[:-1]])
                ends = np.r_[starts[1:], len(ids)]
                for a, b in zip(starts[:k], ends[:k]):
                    if b - a > 1:
                        groups[int(ids[a])] = ids[a + 1:b]
                found.append(ids[starts[:k]])
            else:
                found.append(ids[:k])
        if len(self.tail_ids):
            with _single_threaded_blas():
                scores = self.tail_vectors @ vector
            top = np.argpartition(-scores, min(k, len(scores)) - 1)[:k] if len(scores) > k else np.arange(len(scores))
            found.append(self.tail_ids[top])
        return (np.unique(np.concatenate(found)) if found else np.zeros(0, np.int64)), groups

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


# ---- the database side of a query


def _filtered(stmt, filters: Filters):  # type: ignore[no-untyped-def]
    if not (filters.video_id is not None or filters.kinds or filters.start is not None or filters.end is not None
            or filters.uploaded_after is not None or filters.uploaded_before is not None):
        return stmt
    stmt = stmt.join(Moment, Moment.id == MomentEmbedding.moment_id)
    if filters.video_id is not None:
        stmt = stmt.where(Moment.video_id == filters.video_id)
    if filters.kinds:
        stmt = stmt.where(Moment.kind.in_(filters.kinds))
    if filters.start is not None:
        stmt = stmt.where(Moment.end >= filters.start)
    if filters.end is not None:
        stmt = stmt.where(Moment.start <= filters.end)
    if filters.uploaded_after is not None or filters.uploaded_before is not None:
        stmt = stmt.join(Video, Video.id == Moment.video_id)
        if filters.uploaded_after is not None:
            stmt = stmt.where(Video.created_at >= filters.uploaded_after)
        if filters.uploaded_before is not None:
            stmt = stmt.where(Video.created_at <= filters.uploaded_before)
    return stmt


def _fetch(session: Session, ids: np.ndarray, filters: Filters) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rows = []
    for a in range(0, len(ids), IN_CHUNK):
        part = [int(i) for i in ids[a:a + IN_CHUNK]]
        stmt = select(MomentEmbedding.moment_id, MomentEmbedding.embedding).where(MomentEmbedding.moment_id.in_(part))
        rows += session.execute(_filtered(stmt, filters)).all()
    return store.to_arrays(rows)


def _top(ids: np.ndarray, scores: np.ndarray, limit: int) -> list[tuple[int, float]]:
    order = np.lexsort((ids, -scores))[:limit]  # best first; ties by id, so answers are repeatable
    return [(int(ids[i]), float(scores[i])) for i in order]


def _exact_filtered(session: Session, vector: np.ndarray, filters: Filters, limit: int
                    ) -> list[tuple[int, float]] | None:
    """Every row the filter leaves, scored exactly; None when it leaves more than ``EXACT_MAX``."""
    stmt = _filtered(select(MomentEmbedding.moment_id, MomentEmbedding.embedding), filters).limit(EXACT_MAX + 1)
    ids, vectors, _ = store.to_arrays(session.execute(stmt).all())
    if len(ids) > EXACT_MAX:
        return None
    return _top(ids, vectors @ vector, limit) if len(ids) else []


def query_scored(index: VectorIndex, session: Session, vector: np.ndarray, filters: Filters, limit: int
                 ) -> list[tuple[int, float]]:
    """The ``limit`` nearest moments under ``filters`` as (id, exact cosine), best first."""
    if filters.video_id is not None:
        exact = _exact_filtered(session, vector, filters, limit)
        if exact is not None:
            return exact
    filtered = filters != Filters()
    k = FILTERED_RERANK if filtered else max(RERANK, limit)
    while True:
        with index.lock:
            candidates, groups = index.candidates(vector, k, collapse=not filtered)
            total = len(index)
        ids, vectors, fps = _scored_rows(index, session, candidates, filters)
        if groups and len(ids):  # the best vectors' repeats, best first, as many as the answer holds
            more, room = [], limit
            for i in ids[np.argsort(-(vectors @ vector), kind="stable")].tolist():
                if room <= 0:
                    break
                room -= 1
                if i in groups:
                    more.append(groups[i][:room])
                    room -= len(more[-1])
            if more:
                extra = _scored_rows(index, session, np.setdiff1d(np.concatenate(more), ids), filters)
                if len(extra[0]):
                    ids, vectors, fps = (np.concatenate([a, b]) for a, b in zip((ids, vectors, fps), extra))
        if not filtered or len(ids) >= limit or k >= total:
            break
        if k >= WIDEN_MAX:
            exact = _exact_filtered(session, vector, filters, limit)
            if exact is not None:
                return exact
            break
        k = min(WIDEN_MAX, k * 8)
    return _top(ids, vectors @ vector, limit) if len(ids) else []


def _scored_rows(index: VectorIndex, session: Session, candidates: np.ndarray, filters: Filters
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The candidates' rows as the database holds them now (those the filter keeps), with any
    whose vector differs from the indexed one handed to the index (``note_changed``)."""
    ids, vectors, fps = _fetch(session, candidates, filters)
    if len(ids):
        with index.lock:
            changed = index.held_fingerprints(ids) != fps
            if changed.any():
                index.note_changed(ids[changed], vectors[changed], fps[changed])
    return ids, vectors, fps


# ---- the registry of this process


_indexes: dict[str, VectorIndex] = {}
_indexes_lock = threading.Lock()


def _index_key(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def vector_index(engine: Engine) -> VectorIndex:
    """This process's ``VectorIndex`` of the engine's database (opened at its first refresh)."""
    with _indexes_lock:
        key = _index_key(engine)
        held = _indexes.get(key)
        if held is None:
            held = _indexes[key] = VectorIndex(engine, index_folder(engine))
        return held


def release_vector_index(engine: Engine) -> None:
    """Forget this database's index in this process (its mapping and tail): the next query opens
    the published generation again and re-reads the tail. The files stay."""
    with _indexes_lock:
        _indexes.pop(_index_key(engine), None)


def _vector(vector: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(vector, dtype=EMBEDDING_DTYPE).reshape(-1)


def vector_candidates(session: Session, engine: Engine, vector: np.ndarray | None, filters: Filters,
                      limit: int = CANDIDATES) -> list[tuple[int, float]]:
    """(moment id, cosine similarity) of the moments nearest the query's ``vector``, best first
    (None: no embedder or an empty query). Read through the caller's ``session``: a row it wrote
    and rolled back may enter the tail, but is never returned (the re-ranking reads rows as they
    are), and an id given again after it is caught by ``_verify_newest``."""
    if vector is None:
        return []
    v = _vector(vector)
    index = vector_index(engine)
    with index.lock:
        index.refresh(session)
    return query_scored(index, session, v, filters, limit)


def vector_similarities(engine: Engine, vector: np.ndarray | None, moment_ids: list[int],
                        session: Session | None = None) -> dict[int, float]:
    """The query vector's cosine similarity to each of these moments that has an embedding (read
    from the database by primary key; ``session``: the caller's, else a fresh one)."""
    if vector is None or not moment_ids:
        return {}
    v = _vector(vector)
    wanted = np.unique(np.asarray(moment_ids, dtype=np.int64))
    if session is not None:
        ids, vectors, _ = store.rows_by_id(session, wanted)
    else:
        with Session(engine) as own:
            ids, vectors, _ = store.rows_by_id(own, wanted)
    return {int(i): float(s) for i, s in zip(ids, vectors @ v)} if len(ids) else {}


# ---- writing generations


def rebuild_index(engine: Engine, folder: Path | None = None, only_if_missing: bool = False) -> dict[str, int] | None:
    """Train and write a new generation from every row (waits for the writer lock). Returns the
    manifest's figures, or None when there is no folder or (``only_if_missing``) another process
    published one meanwhile, or the database holds no embedding. Below ``BUILD_AT`` rows no
    generation is written (any earlier one is retired): generation 0, the exact search answers."""
    folder = folder if folder is not None else index_folder(engine)
    if folder is None:
        return None
    with store.writer_lock(folder, wait=True):
        if only_if_missing and store.open_generation(folder) is not None:
            return None
        with Session(engine) as session:
            rows = store.count_rows(session)
            if 0 < rows < BUILD_AT:  # too few to train for (as fold_index): the exact tail answers
                if store.read_manifest(folder) is not None:
                    store.retire(folder)
                return {"generation": 0, "count": rows, "watermark": 0}
            built = store.build(session)
        if built is None:
            return None
        index, ids, fps, watermark = built
        number = store.publish(folder, index, ids, fps, watermark, len(ids), store.engine_label(engine))
    return {"generation": number, "count": int(len(ids)), "watermark": int(watermark)}


def fold_index(engine: Engine, folder: Path | None, stale: np.ndarray | None = None, wait: bool = True
               ) -> int | None:
    """Fold the rows above the watermark (and ``stale`` ids: indexed under a vector they no longer
    have) into a new generation, dropping ids the database lost; a full rebuild when there is no
    usable generation or the rows far outgrew the training. Returns the generation written, or
    None (no folder, lock busy and not ``wait``, nothing to do)."""
    if folder is None:
        return None
    started = time.monotonic()
    try:
        with store.writer_lock(folder, wait=wait) as held:
            if not held:
                return None
            current = store.open_generation(folder)
            with Session(engine) as session:
                top = store.max_id(session)
                rows = store.count_rows(session)
                if rows < BUILD_AT:  # too few to train for: the exact tail answers alone
                    if current is not None:
                        store.retire(folder)
                    return None
                if current is None or not (current.trained_rows / RETRAIN_GROWTH <= rows
                                           <= RETRAIN_GROWTH * current.trained_rows):
                    built = store.build(session)
                    if built is None:
                        return None
                    index, ids, fps, watermark = built
                    trained = len(ids)
                else:
                    w = current.watermark
                    index = store.load_for_update(current)
                    ids, fps = np.array(current.ids), np.array(current.fps)
                    db_ids = store.all_ids(session, w) if store.count_rows(session, upto=w) != len(ids) else ids
                    stale = np.zeros(0, np.int64) if stale is None else stale
                    gone = np.union1d(np.setdiff1d(ids, db_ids, assume_unique=True), stale)
                    fresh = np.union1d(np.setdiff1d(db_ids, ids, assume_unique=True), np.intersect1d(stale, db_ids))
                    if len(gone):
                        index.remove_ids(gone.astype(np.int64))
                        keep = ~np.isin(ids, gone)
                        ids, fps = ids[keep], fps[keep]
                    new = [store.rows_by_id(session, fresh)] + list(store.stream_rows(session, w, upto=top))
                    for add_ids, vectors, add_fps in new:
                        if len(add_ids):
                            index.add_with_ids(vectors, add_ids)
                            ids, fps = np.concatenate([ids, add_ids]), np.concatenate([fps, add_fps])
                    watermark, trained = max(w, top), current.trained_rows
                    if not len(gone) and not any(len(n[0]) for n in new) and watermark == w:
                        return None
            number = store.publish(folder, index, ids, fps, watermark, trained, store.engine_label(engine))
    except OSError as error:  # a full disk or a read-only folder: searches go on from the tail
        log.warning("vector index %s: fold failed (%s)", folder, error)
        return None
    log.info("vector index %s: folded into generation %d in %.1f s", folder, number, time.monotonic() - started)
    return number


_blas_controller = None


def _single_threaded_blas():  # type: ignore[no-untyped-def]
    """OpenBLAS's threads spin after a product and starve the query embedding on a small machine:
    measured here, p95 of a search fell from 103 to 23 ms at 10k moments with one thread."""
    global _blas_controller
    if _blas_controller is None:
        from threadpoolctl import ThreadpoolController

        _blas_controller = ThreadpoolController()
    return _blas_controller.limit(limits=1, user_api="blas")
