"""The words index (``video_qa.search.words``) of a PostgreSQL archive, by value: phrases, stems
and hostile syntax answered by the index as the database's full text answers them; a moment
committed after the last commit found at once and ranked among the others; a deleted moment never
returned and deleted from the folder by the writer; filters; a moment committed late; a writer
killed mid-build leaving its last commit serving; two hosts with their own folders over one
database; the search use case building and using it in the background; ``videoqa reindex``."""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from typing import Any
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session

from tests.factories.processes import videoqa_env
from tests.factories.rows import make_moment, make_video
from video_qa.db import unit_of_work
from video_qa.models import Moment, Video
from video_qa.search import Filters, fulltext, search
from video_qa.search.index import location
from video_qa.search.index.location import use_index_dir
from video_qa.search.query import words
from video_qa.search.words import live, registry, store, sync
from video_qa.search.words.live import WordsIndex
from video_qa.search.words.store import words_folder

ROOT = Path(__file__).resolve().parents[4]
pytestmark = pytest.mark.parametrize("migrated_url", ["postgresql"], indirect=True)  # SQLite ranks with FTS5


@pytest.fixture()
def pg(engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """A PostgreSQL engine whose index folders are in a temporary folder; the commit is reloaded
    at every query (``RELOAD_S`` 0) so a test sees the writer's work at once."""
    assert engine.dialect.name == "postgresql"
    monkeypatch.setattr(location, "_named", {})
    use_index_dir(engine, tmp_path / "index")
    monkeypatch.setattr(live, "RELOAD_S", 0.0)
    registry.release_words_index(engine)
    yield engine
    held = registry._indexes.get(engine.url.render_as_string(hide_password=False))
    if held is not None and held.writer is not None:
        held.writer.wait(60)  # type: ignore[attr-defined]
    registry.release_words_index(engine)


def add(engine: Engine, texts: list[str], kind: str = "speech", video_id: int | None = None) -> list[int]:
    """One moment per text (of a new video unless ``video_id``), committed; their ids."""
    with unit_of_work(engine) as session:
        video = make_video(session) if video_id is None else session.get(Video, video_id)
        return [make_moment(session, video, kind=kind, seq=n, start=float(n), end=n + 1.0, text=t).id
                for n, t in enumerate(texts)]


def built(engine: Engine) -> WordsIndex:
    """The folder caught up with the database and a reader of it with no writer (tests write
    explicitly)."""
    folder = words_folder(engine)
    assert folder is not None
    assert sync.catch_up(engine, folder) is not None
    return WordsIndex(folder)


def matches(engine: Engine, index: WordsIndex | None, query: str, filters: Filters = Filters(),
            any_word: bool = True) -> tuple[list[int], list[int]]:
    with unit_of_work(engine) as session:
        return fulltext.text_matches(session, words(query), filters, any_word=any_word, index=index)


def by_index_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """The database's own full text made to fail: what is answered, the index answered."""
    def refused(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("the database's full text was asked")

    monkeypatch.setattr(fulltext, "_text_query", refused)


TEXTS = [
    "the red car runs past the station",  # 0
    "a blue car parked by the river",  # 1
    "running late for the train again",  # 2
    "studies show that cars are often red",  # 3
    "O'Brien said: foo & bar | baz! (1=1) -- 'quoted'",  # 4
    "a very quiet morning",  # 5
]


def test_phrases_stems_and_hostile_syntax_by_value(pg: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = add(pg, TEXTS)
    expected = {q: matches(pg, None, q) for q in
                ["red car", "red car runs past the station", "running", "studies", "RUNS!", "foo & bar | !baz:* OR 1=1 --'",
                 "very quiet", "O'Brien", "zzz qqq"]}
    index = built(pg)
    by_index_only(monkeypatch)
    got = {q: matches(pg, index, q) for q in expected}
    assert set(got["red car"][0]) == {ids[0], ids[3]}  # "cars" is "car"
    assert got["red car runs past the station"][0] == [ids[0]]  # the sentence as said
    assert set(got["running"][0]) == {ids[0], ids[2]} == set(got["RUNS!"][0])  # runs, running: run
    assert got["studies"][0] == [ids[3]]
    assert got["foo & bar | !baz:* OR 1=1 --'"] == ([ids[4]], [])  # syntax is no syntax: its words are words
    assert got["very quiet"][0] == [ids[5]]  # "very" is a stop word of PostgreSQL's: matched as "quiet" there too
    assert got["O'Brien"][0] == [ids[4]]
    assert got["zzz qqq"] == ([], [])
    for q, (every, some) in expected.items():  # the same moments as the database's own full text
        assert (set(got[q][0]), set(got[q][1])) == (set(every), set(some)), q


def test_a_new_moment_is_found_at_once_and_ranked_by_bm25_among_the_indexed(pg: Engine) -> None:
    old = add(pg, ["zebra " + "filler words about nothing " * 6, "no stripes here"] + [f"row {n}" for n in range(40)])
    index = built(pg)
    new = add(pg, ["zebra zebra crossing"])  # after the commit: the tail
    assert matches(pg, index, "zebra")[0] == [new[0], old[0]]  # short, twice: first, as BM25 ranks it
    assert index.mark == old[-1] and new[0] in index.lengths  # answered from the tail, not a new commit
    folder = index.folder
    assert sync.catch_up(pg, folder)["added"] == 1  # type: ignore[index]
    after = WordsIndex(folder)
    assert matches(pg, after, "zebra")[0] == [new[0], old[0]]  # the same order from the folder alone
    assert after.mark == new[0] and not after.lengths


def test_a_deleted_moment_is_never_returned_and_the_writer_deletes_it(pg: Engine, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    ids = add(pg, ["heron by the lake", "heron in flight", "a lake at dusk"])
    index = built(pg)
    by_index_only(monkeypatch)
    with unit_of_work(pg) as session:
        session.execute(delete(Moment).where(Moment.id == ids[0]))
    assert matches(pg, index, "heron")[0] == [ids[1]]
    assert index.dead == {ids[0]}
    assert sync.catch_up(pg, index.folder, sorted(index.dead))["deleted"] == 1  # type: ignore[index]
    fresh = WordsIndex(index.folder)
    assert matches(pg, fresh, "heron")[0] == [ids[1]]
    assert store.ids_between(fresh.searcher, 0, 10**9) == {ids[1], ids[2]}
    assert not fresh.dead


def test_filters_are_the_databases_and_too_few_among_the_best_asks_the_database(pg: Engine,
                                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    a = add(pg, [f"lantern festival night {n}" for n in range(30)], kind="speech")
    b = add(pg, ["lantern in the window"], kind="text")
    with Session(pg) as session:
        b_video = session.get(Moment, b[0]).video_id  # type: ignore[union-attr]
    index = built(pg)
    assert matches(pg, index, "lantern", Filters(kinds=("text",)))[0] == b
    assert matches(pg, index, "lantern", Filters(video_id=b_video))[0] == b
    assert set(matches(pg, index, "lantern", Filters(kinds=("speech",)))[0]) == set(a)
    asked = []
    text_query = fulltext._text_query
    monkeypatch.setattr(fulltext, "_text_query", lambda *args: asked.append(args) or text_query(*args))
    monkeypatch.setattr(live, "CAP", 5)  # the one text moment is not among the best five
    assert matches(pg, index, "lantern festival window", Filters(kinds=("text",)), any_word=True) == ([], b)
    assert asked  # the database answered


def test_a_moment_committed_after_a_higher_id_was_read_is_found(pg: Engine) -> None:
    """PostgreSQL takes ids at insert and commits in any order (two ingest workers): a moment
    whose id is below one already read, and already committed to the folder, commits later. The
    next query finds it (``LATE_WINDOW``), and the next writer adds it below its watermark."""
    add(pg, ["an osprey dives", "calm water"])
    index = built(pg)
    with Session(pg) as slow:  # an ingest transaction: its moment takes an id, commits last
        late = make_moment(slow, make_video(slow), text="the osprey returns with a fish").id
        early = add(pg, ["an osprey circles"])[0]
        assert early > late
        assert sync.catch_up(pg, index.folder) == {"added": 1, "late": 0, "deleted": 0}  # the folder's mark: early
        assert early in matches(pg, index, "osprey")[0] and index.mark == early
        slow.commit()
    assert late in matches(pg, index, "osprey")[0]  # the next query
    assert late in index.lengths
    assert sync.catch_up(pg, index.folder) == {"added": 0, "late": 1, "deleted": 0}  # below the watermark
    fresh = WordsIndex(index.folder)
    fresh._reload()
    assert late in store.ids_between(fresh.searcher, 0, 10**9)


def test_a_late_commit_below_every_window_is_found_by_the_count_check(pg: Engine,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    add(pg, ["a kingfisher on a branch"])
    index = built(pg)
    monkeypatch.setattr(live, "LATE_WINDOW", 0)  # as if it were further down than either window (one for both)
    with Session(pg) as slow:
        late = make_moment(slow, make_video(slow), text="the kingfisher dives").id
        early = add(pg, ["a kingfisher flies off"])[0]
        assert sync.catch_up(pg, index.folder) == {"added": 1, "late": 0, "deleted": 0}
        assert early in matches(pg, index, "kingfisher")[0]
        slow.commit()
    assert late not in matches(pg, index, "kingfisher")[0]  # looked for by neither window ...
    assert sync.catch_up(pg, index.folder) == {"added": 0, "late": 0, "deleted": 0}
    assert sync.check(pg, index.folder)["missing"] == 1  # type: ignore[index]  # ... found by the count
    assert late in matches(pg, index, "kingfisher")[0]
    assert sync.check(pg, index.folder) is None  # the counts agree now: nothing to do


KILLED_BUILD = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from video_qa.db import make_engine
    from video_qa.search.index import location
    from video_qa.search.words import store, sync

    sync.READ_BATCH, sync.COMMIT_EVERY = 100, 200
    made = sync._writer

    class Stalling:  # the third commit never comes: killed while the rows after the second are added
        def __init__(self, writer):
            self.writer, self.commits = writer, 0
        def __getattr__(self, name):
            return getattr(self.writer, name)
        def commit(self):
            self.commits += 1
            if self.commits == 3:
                print("stalled", flush=True)
                time.sleep(120)
            return self.writer.commit()

    sync._writer = lambda index: Stalling(made(index))
    engine = make_engine(sys.argv[1])
    location.use_index_dir(engine, Path(sys.argv[2]))
    sync.catch_up(engine, store.words_folder(engine))
""")


def test_a_writer_killed_mid_build_leaves_its_last_commit_serving(pg: Engine, tmp_path: Path) -> None:
    ids = add(pg, [f"kestrel number {n}" for n in range(1_000)])
    url = pg.url.render_as_string(hide_password=False)
    proc = subprocess.Popen([sys.executable, "-c", KILLED_BUILD, url, str(tmp_path / "index")], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=videoqa_env(data_dir=tmp_path), cwd=ROOT)
    try:
        assert proc.stdout is not None and proc.stderr is not None
        assert proc.stdout.readline().strip() == "stalled", proc.stderr.read()
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    folder = words_folder(pg)
    assert folder is not None
    index = WordsIndex(folder)
    index._reload()
    assert index.mark == ids[399] and index.docs == 400  # two commits of 200: the last one serves
    every, _ = matches(pg, index, "kestrel")
    assert len(every) == 50 and set(every) <= set(ids)  # the tail of 600 rows ranked with the commit's
    assert sync.catch_up(pg, folder)["added"] == 600  # type: ignore[index]  # the next writer goes on from it
    index._reload()
    assert index.docs == 1_000 and store.ids_between(index.searcher, 0, 10**9) == set(ids)


WORDS_HOST = textwrap.dedent("""
    import json, sys, uuid
    from sqlalchemy import delete
    from tests.factories.rows import make_moment, make_video
    from video_qa.db import make_engine, unit_of_work
    from video_qa.models import Moment
    from video_qa.search import Filters, fulltext
    from video_qa.search.query import words
    from video_qa.search.words import live, store, sync
    from video_qa.search.words.registry import words_index

    def refused(*args):
        raise AssertionError("the database's full text was asked")

    fulltext._text_query = refused  # every answer below is the words index's
    live.RELOAD_S = 0.0
    engine = make_engine(sys.argv[1])  # its folder: the settings' (its own VIDEOQA_DATA_DIR)
    index = words_index(engine)
    index.writer = None  # this host writes only when told ("sync")
    for line in sys.stdin:
        op, arg = json.loads(line)
        if op == "search":
            with unit_of_work(engine) as session:
                every, some = fulltext.text_matches(session, words(arg), Filters(), index=index)
            out = {"ids": every + some, "mark": index.mark, "folder": str(index.folder)}
        elif op == "add":
            with unit_of_work(engine) as session:
                video = make_video(session, sha256=uuid.uuid4().hex * 2)  # another process: its own counter
                out = {"ids": [make_moment(session, video, text=t).id for t in arg]}
        elif op == "delete":
            with unit_of_work(engine) as session:
                session.execute(delete(Moment).where(Moment.id.in_(arg)))
            out = {}
        elif op == "sync":  # this host's writer, into its own folder, with the dead ids its reader noted
            out = sync.catch_up(engine, index.folder, sorted(index.dead))
        else:  # the ids this host's folder holds
            index._reload()
            out = {"ids": sorted(store.ids_between(index.searcher, 0, 10**9))}
        print(json.dumps(out), flush=True)
""")


def _ask(host: subprocess.Popen, op: str, arg: object = None) -> Any:  # type: ignore[type-arg]
    assert host.stdin is not None and host.stdout is not None
    host.stdin.write(json.dumps([op, arg]) + "\n")
    host.stdin.flush()
    line = host.stdout.readline()
    assert line, f"host died on {op}"
    return json.loads(line)


def test_two_hosts_with_their_own_folders_over_one_database(pg: Engine, tmp_path: Path) -> None:
    """Two searching processes as two web hosts: each with its own VIDEOQA_DATA_DIR, so its own
    words folder, over one database. Each finds what the other commits at its next query (its
    tail), never what the other deleted, and one's writer leaves the other's folder as it was."""
    base = add(pg, ["a grebe on the pond", "the pond in winter"])
    url = pg.url.render_as_string(hide_password=False)
    hosts = {name: subprocess.Popen([sys.executable, "-c", WORDS_HOST, url], stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, text=True, env=videoqa_env(data_dir=tmp_path / name),
                                    cwd=ROOT) for name in ("a", "b")}
    a, b = hosts["a"], hosts["b"]
    try:
        for name, host in hosts.items():
            assert _ask(host, "sync") == {"added": 2, "late": 0, "deleted": 0}
            first = _ask(host, "search", "grebe")
            assert first["ids"] == [base[0]] and first["mark"] == base[1]
            assert first["folder"].startswith(str(tmp_path / name))
        from_a = _ask(a, "add", ["a grebe dives"])["ids"][0]
        from_b = _ask(b, "add", ["a grebe nests"])["ids"][0]
        for host in (a, b):  # committed by either: each finds both at its next query
            assert set(_ask(host, "search", "grebe")["ids"]) == {base[0], from_a, from_b}
        assert _ask(b, "delete", [base[0], from_a]) == {}
        for host in (a, b):  # in both folders (base[0]) or both tails (from_a): never returned
            assert _ask(host, "search", "grebe")["ids"] == [from_b]
        # A's writer, into its folder: from_b added, the two dead ids its reader noted deleted
        assert _ask(a, "sync") == {"added": 1, "late": 0, "deleted": 2}
        assert _ask(a, "held")["ids"] == sorted([base[1], from_b])
        assert _ask(b, "held")["ids"] == sorted(base)  # B's folder as it was
        assert _ask(b, "search", "grebe")["ids"] == [from_b]
    finally:
        for host in hosts.values():
            host.kill()
            host.wait()


def test_search_builds_the_index_in_the_background_and_answers_from_it(pg: Engine,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store, "BUILD_AT", 20)
    ids = add(pg, [f"cormorant drying its wings, take {n}" for n in range(25)]) + add(pg, ["a cormorant fishing at dawn"])
    with unit_of_work(pg) as session:
        first = search(session, pg, "cormorant fishing")  # no index yet: the database answers; the writer builds
    index = registry.words_index(pg)
    assert index is not None and index.writer is not None
    index.writer.wait(60)  # type: ignore[attr-defined]
    assert words_folder(pg) is not None and (words_folder(pg) / "meta.json").exists()  # type: ignore[operator]
    by_index_only(monkeypatch)
    with unit_of_work(pg) as session:
        second = search(session, pg, "cormorant fishing")
    assert index.mark == ids[-1]
    assert first[0].moment_ids == second[0].moment_ids == [ids[-1]]


def test_reindex_brings_the_words_index_up_to_the_database(pg: Engine, tmp_path: Path) -> None:
    from videoqa_cli.commands.index import cmd_reindex
    from video_qa.config import get_settings

    ids = add(pg, ["an egret", "two egrets", "a heron"])
    folder = words_folder(pg, get_settings().index_dir)
    assert folder is not None and sync.catch_up(pg, folder) is not None
    with unit_of_work(pg) as session:
        session.execute(delete(Moment).where(Moment.id == ids[0]))
    settings = get_settings().model_copy(update={"database_url": pg.url.render_as_string(hide_password=False)})
    assert cmd_reindex(settings, argparse.Namespace(json=False)) == 0
    index = WordsIndex(folder)
    index._reload()
    assert store.ids_between(index.searcher, 0, 10**9) == set(ids[1:])
    with Session(pg) as session:
        assert index.docs == session.scalar(select(func.count()).select_from(Moment))


def test_the_json_of_reindex_names_the_words_index(pg: Engine, capsys: pytest.CaptureFixture[str]) -> None:
    from videoqa_cli.commands.index import cmd_reindex
    from video_qa.config import get_settings

    add(pg, ["an ibis"])
    settings = get_settings().model_copy(update={"database_url": pg.url.render_as_string(hide_password=False)})
    assert cmd_reindex(settings, argparse.Namespace(json=True)) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["words"]["rows"] == 1 and out["words"]["added"] == 1 and out["words"]["folder"].endswith("-words")
