"""This process's reader of one database's words index, and how it follows the database and the
folder. It reads and never writes: what is to be written is asked of its ``Writer``.

A ``WordsIndex`` holds:

- the folder's last commit (``store``), reloaded every ``RELOAD_S`` and whenever this process's
  writer has finished: the moments with an id up to its watermark, BM25-ranked by tantivy;
- the *tail*: the rows written since (id above the watermark, and rows committed late below it),
  read from the database before each query (``WHERE id > last seen``: the primary key's index,
  nothing when nothing is new), stemmed once and held as postings in memory, and ranked by the
  same BM25 (the index's document frequencies and count with the tail's own, the tail's mean
  length), so a moment ingested a second ago ranks among the others at once, whoever wrote it;
- *dead* ids: ids the index returned that the database no longer has (a deleted video), never
  returned again, and handed to the writer to delete.

Every hit is checked against the database before it is returned (``_kept``: one primary-key query
for the candidates, with the search's filters): a deleted moment is never returned, by any host,
whatever its words index holds. With filters that leave fewer moments than asked among the first
``CAP`` the index ranks, or with no usable commit (none yet, or more than ``TAIL_MAX`` rows above
its watermark: the writer is catching up), ``ranked`` answers None and the caller asks the
database's own full text. The writer is asked for a catch-up when the tail or dead ids are not
empty, at most every ``SYNC_EVERY_S``, and for a build when an archive of ``BUILD_AT`` ids has none.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any, Protocol

import tantivy
from sqlalchemy import and_, func, select, true
from sqlalchemy.orm import Session

from video_qa.models import Moment
from video_qa.search.filters import Filters
from video_qa.search.index import live as index_live
from video_qa.search.words import store

log = logging.getLogger(__name__)

RELOAD_S = 1.0  # another host's (or process's) commits are seen within this
SYNC_EVERY_S = 2.0  # the tail is folded into the folder at most this often
TAIL_MAX = 100_000  # rows above the watermark beyond which the database's full text answers instead
LATE_WINDOW = index_live.LATE_WINDOW  # ids below the highest seen in which each query looks for late commits
CAP = 1_000  # the most index hits ranked for a filtered query
K1, B = 1.2, 0.75  # tantivy's BM25 parameters


class Writer(Protocol):
    @property
    def busy(self) -> bool: ...

    def request(self, dead: Any) -> None:
        """Catch the folder up with the database, deleting the ``dead`` ids."""


class WordsIndex:
    """One database's words index in this process (see module doc)."""

    def __init__(self, folder: Path, writer: Writer | None = None) -> None:
        self.folder = folder
        self.writer = writer
        self.lock = threading.Lock()
        self.index: Any = None
        self.searcher: Any = None
        self.mark = 0  # the commit's watermark
        self.docs = 0  # documents the commit holds
        self.window: set[int] = set()  # the commit's ids in (mark - LATE_WINDOW, mark]
        self.reloaded_at = float("-inf")
        self.signature: tuple[int, int, int] | None = None  # the commit file's when the searcher was made
        self.writer_was_busy = False
        self.seen = 0  # highest id read from the database into the tail
        self.postings: dict[str, dict[int, int]] = {}  # the tail's stem -> {id: term frequency}
        self.lengths: dict[int, int] = {}  # the tail's id -> tokens
        self.dead: set[int] = set()
        self.sent: set[int] = set()  # dead ids handed to the writer
        self.requested_at = float("-inf")
        self.usable = False

    # -- following the folder and the database

    def _reload(self) -> None:
        self.reloaded_at = time.monotonic()
        if self.writer is None or not self.writer.busy:
            self.dead -= self.sent  # deleted by the writer that has finished
            self.sent = set()
        signature = store.commit_signature(self.folder)
        if signature is None or (signature == self.signature and self.searcher is not None):
            return  # no folder yet, or the same commit
        if self.index is None:
            self.index = store.open_index(self.folder)
            if self.index is None:
                return
        self.index.reload()
        self.searcher = self.index.searcher()
        self.signature = signature
        mark = store.watermark(self.searcher, above=self.mark)
        self.docs = self.searcher.num_docs
        self.window = store.ids_between(self.searcher, max(0, mark - LATE_WINDOW), mark)
        if mark != self.mark:
            self._prune(mark)
        self.mark = mark

    def _prune(self, mark: int) -> None:
        """Tail rows the new commit holds leave the tail."""
        low = [i for i in self.lengths if i <= mark]
        if not low:
            return
        held = store.ids_between(self.searcher, min(low) - 1, mark)
        self._drop([i for i in low if i in held])

    def _drop(self, ids: list[int]) -> None:
        gone = set(ids)
        for i in gone:
            self.lengths.pop(i, None)
        for stem in list(self.postings):
            row = self.postings[stem]
            for i in gone & row.keys():
                del row[i]
            if not row:
                del self.postings[stem]

    def _add(self, rows: list[tuple[int, str]]) -> None:
        analyze = store.analyzer().analyze
        for mid, text in rows:
            if mid in self.lengths:
                continue
            stems = analyze(text or "")
            self.lengths[mid] = len(stems)
            for stem, tf in Counter(stems).items():
                self.postings.setdefault(stem, {})[mid] = tf

    def refresh(self, session: Session) -> bool:
        """Follow the folder and read new rows into the tail (module doc); whether the index can
        answer. Call with ``lock`` held."""
        busy = self.writer is not None and self.writer.busy
        due = time.monotonic() - self.reloaded_at >= RELOAD_S or (self.writer_was_busy and not busy)
        if due:
            self._reload()
        self.writer_was_busy = busy
        if self.index is None and not due:
            return False  # no folder: looked for, and the archive's size asked, once every RELOAD_S
        low = max(0, self.seen - LATE_WINDOW)
        top, below = session.execute(
            select(func.max(Moment.id), func.count().filter(Moment.id <= self.seen)).where(Moment.id > low)).one()
        top = int(top or low)
        if self.index is None or self.mark == 0 or top - self.mark > TAIL_MAX:
            if self.usable or self.lengths:
                self._drop(list(self.lengths))
            self.usable, self.seen = False, 0
            if top >= store.BUILD_AT or self.mark:
                self._ask()
            return False
        if not self.usable:
            self.seen, below, low = self.mark, 0, self.mark  # the tail is read from the watermark
            self.usable = True
        held = sum(1 for i in self.window if i > low) + sum(1 for i in self.lengths if low < i <= self.seen)
        if int(below or 0) > held:  # committed after higher ids were read
            self._add([r for r in store.text_rows(session, low, self.seen) if r[0] not in self.window])
        if top > self.seen:
            self._add(store.text_rows(session, self.seen, top))
            self.seen = top
        if self.lengths or self.dead - self.sent:
            self._ask()
        return True

    def _ask(self) -> None:
        if self.writer is None or self.writer.busy or time.monotonic() - self.requested_at < SYNC_EVERY_S:
            return
        self.requested_at = time.monotonic()
        self.sent = set(self.dead)
        self.writer.request(sorted(self.sent))

    # -- ranking

    def ranked(self, session: Session, stems: list[str], filters: Filters, limit: int, every: bool) -> list[int] | None:
        """The ids of the moments holding every stem (``every``) or any, best first, at most
        ``limit``, that ``filters`` keep; None where the database must answer (module doc)."""
        with self.lock:
            if not self.refresh(session):
                return None
            searcher, tail = self.searcher, self._tail_scores(stems, every)
            dead = set(self.dead)
        if not stems:
            return []
        occur = tantivy.Occur.Must if every else tantivy.Occur.Should
        query = tantivy.Query.boolean_query([(occur, tantivy.Query.term_query(store.schema(), "text", s))
                                             for s in dict.fromkeys(stems)])
        fetch = CAP if filters.active else limit + len(dead) + 16
        while True:
            hits = searcher.search(query, fetch, count=False).hits
            ids = searcher.fast_field_values("id", [addr for _, addr in hits]) if hits else []
            scored = [(float(s), int(i)) for (s, _), i in zip(hits, ids, strict=True) if i is not None and i not in dead]
            merged = sorted({i: s for s, i in scored + tail}.items(), key=lambda p: (-p[1], p[0]))
            kept = self._kept(session, [i for i, _ in merged], filters)
            if len(kept) >= limit or len(hits) < fetch:
                return kept[:limit]
            if fetch >= CAP:
                return None  # the filters keep too few of the best: the database ranks
            fetch = CAP

    def _tail_scores(self, stems: list[str], every: bool) -> list[tuple[float, int]]:
        """BM25 of the tail's rows, with the commit's document frequencies beside the tail's."""
        unique = list(dict.fromkeys(stems))
        if not self.lengths or not unique:
            return []
        lists = [self.postings.get(s, {}) for s in unique]
        if every:
            ids = set(lists[0]).intersection(*lists[1:])
        else:
            ids = set().union(*lists)
        if not ids:
            return []
        n = self.docs + len(self.lengths)
        mean = sum(self.lengths.values()) / len(self.lengths) or 1.0
        idf = [math.log(1 + (n - df + 0.5) / (df + 0.5))
               for df in (self.searcher.doc_freq("text", s) + len(row) for s, row in zip(unique, lists, strict=True))]
        out = []
        for i in ids:
            norm = K1 * (1 - B + B * self.lengths[i] / mean)
            score = sum(w * row[i] * (K1 + 1) / (row[i] + norm) for w, row in zip(idf, lists, strict=True) if i in row)
            out.append((score, i))
        return out

    def _kept(self, session: Session, ids: list[int], filters: Filters) -> list[int]:
        """``ids`` in order, less those the database no longer has (noted dead) and those
        ``filters`` leave out."""
        if not ids:
            return []
        keep = and_(*filters.conditions()) if filters.active else true()
        found = dict(session.execute(select(Moment.id, keep).where(Moment.id.in_(ids))).all())
        gone = [i for i in ids if i not in found]
        if gone:
            with self.lock:
                self.dead.update(gone)
        return [i for i in ids if found.get(i)]
