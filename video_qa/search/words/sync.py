"""The words index's one writer: bring the folder up to the database (``catch_up``), or check
every id against it (``reconcile``: ``videoqa reindex``).

One writer at a time, across processes: tantivy's own lock file in the folder (a writer that finds
it taken skips; the holder does the work). Rows are read in id order in batches, each in a short
transaction of its own (``read_batch``), and committed every ``COMMIT_EVERY`` rows: a writer killed
in the middle leaves the last commit serving, and the next one goes on from its watermark.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import tantivy
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from video_qa.models import Moment
from video_qa.search.words import live, store

log = logging.getLogger(__name__)

READ_BATCH = 20_000
COMMIT_EVERY = 500_000
HEAP_BYTES = 128 * 2**20
RECONCILE_CHUNK = 200_000  # ids compared at a time by reconcile


def read_batch(engine: Engine, last: int, upto: int | None, batch: int) -> list[tuple[int, str]]:
    """The first ``batch`` (id, text) rows with ``last < id <= upto``, in a transaction of their own."""
    with Session(engine) as session:
        return store.text_rows(session, last, upto, batch)


def rows_after(engine: Engine, last: int, upto: int | None = None) -> Iterator[list[tuple[int, str]]]:
    """Every (id, text) row above ``last`` (up to ``upto``), ``READ_BATCH`` at a time (keyset pagination)."""
    batch = READ_BATCH
    while True:
        page = read_batch(engine, last, upto, batch)
        if not page:
            return
        yield page
        last = page[-1][0]
        if len(page) < batch:
            return


def _writer(index: Any) -> Any | None:
    try:
        return index.writer(HEAP_BYTES, 1)
    except ValueError as error:  # the folder's lock is held: another writer, here or elsewhere, is at work
        log.info("words index: another writer holds the folder (%s); skipped", error)
        return None


def _add(writer: Any, rows: Iterable[tuple[int, str]]) -> int:
    n = 0
    for mid, text in rows:
        writer.add_document(tantivy.Document(id=mid, text=text))
        n += 1
    return n


def catch_up(engine: Engine, folder: Path, dead: Iterable[int] = ()) -> dict[str, int] | None:
    """Delete ``dead`` ids (rows the database no longer has), add the rows committed late just below
    the watermark and every row above it. None when another writer holds the folder."""
    index = store.open_index(folder, create=True)
    writer = _writer(index)
    if writer is None:
        return None
    started = time.monotonic()
    try:
        index.reload()
        searcher = index.searcher()
        mark = store.watermark(searcher)
        deleted = 0
        for mid in dead:
            writer.delete_documents_by_term("id", int(mid))
            deleted += 1
        low = max(0, mark - live.LATE_WINDOW)  # the readers' window: rows committed late below the watermark
        held = store.ids_between(searcher, low, mark)
        late = _add(writer, ((i, t) for page in rows_after(engine, low, mark) for i, t in page if i not in held))
        added, pending = 0, late + deleted
        for page in rows_after(engine, mark):
            pending += _add(writer, page)
            added += len(page)
            if pending >= COMMIT_EVERY:
                writer.commit()
                pending = 0
        if pending:
            writer.commit()
        writer.wait_merging_threads()
    finally:
        del writer  # releases the folder's lock
    if added or late or deleted:
        log.info("words index %s: %d rows added, %d committed late, %d deleted (%.1f s)", folder, added, late, deleted,
                 time.monotonic() - started)
    return {"added": added, "late": late, "deleted": deleted}


def check(engine: Engine, folder: Path) -> dict[str, int] | None:
    """The folder's document count against the database's rows up to its watermark; on a
    difference (a row committed later than ``LATE_WINDOW`` ids below the watermark, a delete the
    readers never saw returned), ``reconcile``. None when nothing was done."""
    index = store.open_index(folder)
    if index is None:
        return None
    index.reload()
    searcher = index.searcher()
    mark = store.watermark(searcher)
    with Session(engine) as session:
        in_db = int(session.scalar(select(func.count()).select_from(Moment).where(Moment.id <= mark)) or 0)
    if in_db == searcher.num_docs:
        return None
    log.info("words index %s: %d documents against %d rows up to id %d; reconciling", folder, searcher.num_docs,
             in_db, mark)
    return reconcile(engine, folder)


def reconcile(engine: Engine, folder: Path) -> dict[str, int] | None:
    """``catch_up``, then every id of the index against the database's: ids it holds that the
    database has not are deleted, rows it lacks are added (a database restored from a backup, a
    folder copied from another host). None when another writer holds the folder."""
    figures = catch_up(engine, folder)
    if figures is None:
        return None
    index = store.open_index(folder)
    assert index is not None
    writer = _writer(index)
    if writer is None:
        return None
    gone = missing = 0
    try:
        index.reload()
        searcher = index.searcher()
        mark = store.watermark(searcher)
        for low in range(0, mark, RECONCILE_CHUNK):  # ids compared a range at a time (bounded memory)
            high = min(mark, low + RECONCILE_CHUNK)
            held = store.ids_between(searcher, low, high)
            with Session(engine) as session:
                in_db = set(session.scalars(select(Moment.id).where(Moment.id > low, Moment.id <= high)))
            for mid in held - in_db:
                writer.delete_documents_by_term("id", mid)
            wanted = sorted(in_db - held)
            with Session(engine) as session:
                _add(writer, session.execute(select(Moment.id, Moment.text).where(Moment.id.in_(wanted))).all())
            gone, missing = gone + len(held - in_db), missing + len(wanted)
        if gone or missing:
            writer.commit()
            writer.wait_merging_threads()
    finally:
        del writer
    with Session(engine) as session:
        total = int(session.scalar(select(func.count()).select_from(Moment)) or 0)
    return {**figures, "deleted": figures["deleted"] + gone, "missing": missing, "rows": total}
