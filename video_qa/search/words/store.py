"""The words index's folder, schema and analyzer (tantivy).

A database's words index lives beside its vector index (``location.index_folder``, suffix
``-words``): a tantivy index of one document per moment, ``id`` (the moment's id: indexed, for
deletes; a fast field, read back per hit and sorted on) and ``text`` (tantivy's ``en_stem``: split
on what is not a letter or digit, words over 40 bytes left out, lower-cased, the Snowball English
stemmer, PostgreSQL's ``english`` configuration's stemmer too). Queries stem their words with the
same chain (``analyzer``). tantivy commits atomically (its ``meta.json``), and only a commit's
documents are ever seen: the highest id a commit holds is the index's *watermark*, and every row
of the database up to it was read by the writer (``sync``) that committed it.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import tantivy
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from video_qa.models import Moment
from video_qa.search.index.generation import file_signature
from video_qa.search.index.location import index_folder

SUFFIX = "-words"
TOKENIZER = "en_stem"
BUILD_AT = 50_000  # moments before an archive gets a words index (below: the database's full text answers)


@functools.cache
def schema() -> Any:
    return (tantivy.SchemaBuilder()
            .add_integer_field("id", stored=False, indexed=True, fast=True)
            .add_text_field("text", stored=False, tokenizer_name=TOKENIZER, index_option="freq")
            .build())


@functools.cache
def analyzer() -> Any:
    """``en_stem`` as a chain of its own, to stem a query's words and the tail's texts."""
    return (tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple()).filter(tantivy.Filter.remove_long(40))
            .filter(tantivy.Filter.lowercase()).filter(tantivy.Filter.stemmer("english")).build())


def words_folder(engine: Engine, index_dir: Path | None = None) -> Path | None:
    """This database's words index folder (None for an in-memory database)."""
    vectors = index_folder(engine, index_dir)
    return None if vectors is None else vectors.with_name(vectors.name + SUFFIX)


def commit_signature(folder: Path) -> tuple[int, int, int] | None:
    """The signature of the folder's ``meta.json`` (tantivy replaces it at every commit and merge)."""
    return file_signature(folder / "meta.json")


def text_rows(session: Session, low: int, high: int | None = None, limit: int | None = None) -> list[tuple[int, str]]:
    """The (id, text) rows with ``low < id <= high``, in id order, at most ``limit``: what the index
    holds of a moment, read by the writer and by a reader's tail."""
    stmt = select(Moment.id, Moment.text).where(Moment.id > low).order_by(Moment.id)
    if high is not None:
        stmt = stmt.where(Moment.id <= high)
    if limit is not None:
        stmt = stmt.limit(limit)
    return [(int(i), t) for i, t in session.execute(stmt).all()]


def open_index(folder: Path, create: bool = False) -> Any | None:
    """The index in ``folder`` (``tantivy.Index``); None when there is none and ``create`` is not
    asked."""
    if not (folder / "meta.json").exists():
        if not create:
            return None
        folder.mkdir(parents=True, exist_ok=True)
    return tantivy.Index(schema(), path=str(folder), reuse=True)


def watermark(searcher: Any, above: int = 0) -> int:
    """The highest id the searcher's commit holds (0: none). ``above``: a watermark this index had
    before (a later commit only adds ids above it, or deletes): only the ids above it are looked at,
    through the id's terms (2 ms at 10M documents where reading every id's column costs 25-90 ms);
    ``above`` itself when there are none."""
    if searcher.num_docs == 0:
        return 0
    if above > 0:
        query = tantivy.Query.range_query(schema(), "id", tantivy.FieldType.Integer, above, None, include_lower=False,
                                          use_inverted_index=True)
        hits = searcher.search(query, 1, count=False, order_by_field="id").hits
        return int(hits[0][0]) if hits else above
    found = searcher.aggregate(tantivy.Query.all_query(), {"top": {"max": {"field": "id"}}})["top"]["value"]
    return int(found or 0)


def ids_between(searcher: Any, low: int, high: int) -> set[int]:
    """The ids the searcher holds with ``low < id <= high``."""
    if high <= low or searcher.num_docs == 0:
        return set()
    query = tantivy.Query.range_query(schema(), "id", tantivy.FieldType.Integer, low, high, include_lower=False)
    # the limit sizes tantivy's top-k heap: never more than the documents there are
    hits = searcher.search(query, min(high - low, searcher.num_docs), count=False, order_by_field="id").hits
    return {int(key) for key, _ in hits}
