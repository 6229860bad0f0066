"""The persisted vector index (``video_qa.search.index``), on SQLite and PostgreSQL: recall
against exact search on a hard clustered set, filters, deleted and re-analysed moments never
coming back, new moments found at once, a build that holds no read transaction while the archive
is written, two processes sharing one index file, two hosts with their own index folders over one
database, a writer killed mid-update and a reindex killed mid-build, a search that never writes (a damaged or missing generation searched exactly and
rebuilt by the background writer), and ``videoqa reindex``."""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine, delete, func, insert, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from tests.factories.processes import videoqa_env
from tests.factories.rows import make_moment, make_video
from video_qa.db import unit_of_work
from video_qa.models import Moment, MomentEmbedding, Video
from video_qa.moments.store import replace_moments
from video_qa.moments.values import NewMoment
from video_qa.search import Filters
from video_qa.search.index import build, generation, live, location, rows
from video_qa.search.index.build import fold_index, rebuild_index, writer_lock
from video_qa.search.index.generation import fingerprint, open_generation, read_manifest
from video_qa.search.index.location import index_folder, use_index_dir
from video_qa.search.index.query import similarities
from video_qa.search.index.registry import release_vector_index, vector_candidates, vector_index

DIM = 384
ROOT = Path(__file__).resolve().parents[3]
PER_VIDEO = 500
KINDS = ("speech", "text", "event")


CENTRES = np.random.default_rng(0).normal(size=(400, DIM))


def clustered(n: int, rng: np.random.Generator) -> np.ndarray:
    """Overlapping Gaussian clusters on the unit sphere (the same clusters for every call, so
    queries fall among the data): many near neighbours at similar distances, which coarse
    quantization and product codes get wrong more easily than real sentence embeddings."""
    x = CENTRES[rng.integers(0, len(CENTRES), n)] + 0.8 * rng.normal(size=(n, DIM))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def add_rows(engine: Engine, vecs: np.ndarray, per_video: int = PER_VIDEO) -> list[int]:
    """Insert one moment per vector (new videos of ``per_video`` moments); their ids, in order."""
    now = datetime.now(timezone.utc)
    with engine.begin() as conn:
        first = int(conn.scalar(select(func.max(Moment.id))) or 0) + 1
        n_videos = (len(vecs) + per_video - 1) // per_video
        video_ids = [int(conn.scalar(insert(Video).values(
            title=f"v{uuid.uuid4().hex[:6]}", path="/x.mp4", sha256=uuid.uuid4().hex * 2, size=1, status="ready",
            created_at=now, updated_at=now).returning(Video.id))) for _ in range(n_videos)]
        ids = list(range(first, first + len(vecs)))
        for a in range(0, len(vecs), 5000):
            conn.execute(insert(Moment), [
                {"id": ids[i], "video_id": video_ids[i // per_video], "clip_id": None, "clip_index": 0,
                 "kind": KINDS[i % 3], "seq": i, "start": float(i % per_video), "end": float(i % per_video) + 1.0,
                 "text": f"moment {ids[i]}", "meta": None} for i in range(a, min(len(vecs), a + 5000))])
            conn.execute(insert(MomentEmbedding), [{"moment_id": ids[i], "embedding": vecs[i].tobytes()}
                                                   for i in range(a, min(len(vecs), a + 5000))])
        if conn.dialect.name == "postgresql":  # ids given explicitly: the sequence goes on after them
            conn.exec_driver_sql("SELECT setval(pg_get_serial_sequence('moments', 'id'), (SELECT max(id) FROM moments))")
    return ids


def nearest(engine: Engine, q: np.ndarray, k: int = 10, filters: Filters = Filters()) -> list[int]:
    with unit_of_work(engine) as session:
        return [i for i, _ in vector_candidates(session, engine, q, filters, k)]


@pytest.fixture()
def vec_engine(engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """The engine with its vector index in a temporary folder, tail folds off (tests fold
    explicitly), the build threshold at 1,000 rows (a fold retires an index below it) and short
    product codes (quicker to train; the recall test uses the real ones). The background writer
    is waited for at the end."""
    monkeypatch.setattr(location, "_named", {})  # the folder named here is forgotten after the test
    use_index_dir(engine, tmp_path / "index")
    monkeypatch.setattr(build, "PQ_BYTES", 16)
    monkeypatch.setattr(generation, "BUILD_AT", 1_000)  # the tests' archives hold a few thousand rows
    monkeypatch.setattr(live, "FOLD_AT", 10**9)
    release_vector_index(engine)
    yield engine
    for gate in _GATES:
        gate.set()
    _GATES.clear()
    _settle(engine)
    release_vector_index(engine)


_GATES: list[threading.Event] = []


def _settle(engine: Engine) -> None:
    """Until the background writer of this process's index has finished."""
    writer = vector_index(engine).writer
    assert writer is not None
    writer.wait(120)  # type: ignore[attr-defined]


def _writes(monkeypatch: pytest.MonkeyPatch) -> tuple[list[threading.Thread], threading.Event]:
    """The threads that publish a generation, recorded; each waits for the event before it writes."""
    threads: list[threading.Thread] = []
    go = threading.Event()
    _GATES.append(go)  # opened at the end of the test whatever happens
    publish = build.publish

    def recorded(*args):  # type: ignore[no-untyped-def]
        threads.append(threading.current_thread())
        assert go.wait(120)
        return publish(*args)

    monkeypatch.setattr(build, "publish", recorded)
    return threads, go


def test_recall_against_exact_search_on_a_clustered_set(vec_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(build, "PQ_BYTES", 64)
    rng = np.random.default_rng(1)
    data = clustered(20_000, rng)
    ids = np.array(add_rows(vec_engine, data))
    built = rebuild_index(vec_engine)
    assert built is not None and built["count"] == 20_000
    queries = clustered(100, rng)
    recall = []
    for q in queries:
        exact = set(ids[np.argsort(-(data @ q))[:10]].tolist())
        recall.append(len(exact & set(nearest(vec_engine, q))) / 10)
    assert float(np.mean(recall)) >= 0.95, np.mean(recall)
    index = vector_index(vec_engine)
    assert index.gen is not None and index.gen.count == 20_000 and len(index.tail_ids) == 0  # all from the index
    # the scores are the exact cosines, read from the database
    with unit_of_work(vec_engine) as session:
        got = vector_candidates(session, vec_engine, queries[0], Filters(), 3)
    for moment_id, score in got:
        assert score == pytest.approx(float(data[moment_id - ids[0]] @ queries[0]), abs=1e-5)
        assert similarities(session, queries[0], [got[0][0], 10**9]) == {got[0][0]: pytest.approx(got[0][1])}


def test_filters_hold_on_the_index_and_one_video_is_searched_exactly(vec_engine: Engine) -> None:
    rng = np.random.default_rng(2)
    data = clustered(12_000, rng)
    ids = np.array(add_rows(vec_engine, data))
    rebuild_index(vec_engine)
    q = clustered(1, rng)[0]
    kinds = np.array([KINDS[i % 3] for i in range(len(ids))])
    got = nearest(vec_engine, q, 10, Filters(kinds=("text",)))
    exact_text = ids[kinds == "text"][np.argsort(-(data[kinds == "text"] @ q))[:10]]
    assert len(got) == 10 and all(kinds[i - ids[0]] == "text" for i in got)
    assert len(set(got) & set(exact_text.tolist())) >= 9
    with unit_of_work(vec_engine) as session:
        video = session.scalar(select(Moment.video_id).where(Moment.id == int(ids[3 * PER_VIDEO])))
    in_video = (np.arange(len(ids)) // PER_VIDEO) == 3
    exact_video = ids[in_video][np.argsort(-(data[in_video] @ q))[:10]].tolist()
    assert nearest(vec_engine, q, 10, Filters(video_id=video)) == exact_video  # exact, in order
    late = nearest(vec_engine, q, 10, Filters(video_id=video, start=400.0))
    assert late and all((i - ids[0]) % PER_VIDEO + 1.0 >= 400.0 for i in late)  # moments ending at 400 s or later
    tomorrow = datetime.now(timezone.utc) + timedelta(days=1)
    assert nearest(vec_engine, q, 10, Filters(uploaded_after=tomorrow)) == []
    assert len(nearest(vec_engine, q, 10, Filters(uploaded_before=tomorrow, kinds=("event",)))) == 10


def test_a_deleted_or_reanalysed_videos_moments_never_come_back(vec_engine: Engine) -> None:
    rng = np.random.default_rng(3)
    data = clustered(6_000, rng)
    ids = add_rows(vec_engine, data)
    rebuild_index(vec_engine)
    nearest(vec_engine, data[0])  # this process has the generation open
    with unit_of_work(vec_engine) as session:
        first_video, last_video = (session.scalar(select(Moment.video_id).where(Moment.id == ids[i])) for i in (0, -1))
    doomed = set(ids[:PER_VIDEO])
    with unit_of_work(vec_engine) as session:
        session.delete(session.get(Video, first_video))
    for q in data[:20]:  # each of these was its own nearest neighbour
        assert not set(nearest(vec_engine, q, 50)) & doomed
    # the newest video's part is analysed again: its rows are deleted and written anew (SQLite
    # gives the same ids to the new rows), with other vectors
    fresh = clustered(PER_VIDEO, rng)
    with unit_of_work(vec_engine) as session:
        session.execute(delete(Moment).where(Moment.video_id == last_video))
        session.flush()
        written = replace_moments(session, last_video, None, 0, "speech",
                                  [NewMoment(float(i), float(i) + 1, f"again {i}", embedding=v) for i, v in enumerate(fresh)])
    assert written == PER_VIDEO
    with unit_of_work(vec_engine) as session:
        new_ids = dict(session.execute(select(Moment.seq, Moment.id).where(Moment.video_id == last_video)).all())
    for seq in (0, 7, 123, PER_VIDEO - 1):
        got = nearest(vec_engine, fresh[seq], 1)
        assert got == [new_ids[seq]], (seq, got)
    old_vectors = data[-PER_VIDEO:]
    with unit_of_work(vec_engine) as session:
        alive = set(session.scalars(select(MomentEmbedding.moment_id)))
    for q in old_vectors[:20]:  # an old vector's moment is gone: whatever comes back exists now
        assert set(nearest(vec_engine, q, 20)) <= alive
    # a fold writes all this into a new generation (the queries above started one already: the
    # changed rows outnumbered DEAD_SHARE of the index): the deleted ids leave the file, the
    # re-analysed rows are indexed under their new vectors
    fold_index(vec_engine, index_folder(vec_engine), vector_index(vec_engine).dead)
    gen = open_generation(index_folder(vec_engine))  # type: ignore[arg-type]
    assert gen is not None and gen.number >= 2
    assert not set(np.asarray(gen.ids).tolist()) & doomed
    assert set(np.asarray(gen.ids).tolist()) == alive
    assert int(gen.fingerprints(np.array([new_ids[9]]))[0]) == fingerprint(fresh[9].tobytes())
    for seq in (3, 250):
        assert nearest(vec_engine, fresh[seq], 1) == [new_ids[seq]]


def test_new_moments_are_found_at_once_and_folded_by_one_writer(vec_engine: Engine, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(4)
    data = clustered(5_000, rng)
    add_rows(vec_engine, data)
    rebuild_index(vec_engine)
    nearest(vec_engine, data[0])
    more = clustered(300, rng)
    more_ids = add_rows(vec_engine, more)
    assert nearest(vec_engine, more[5], 1) == [more_ids[5]]  # from the tail, exactly
    index = vector_index(vec_engine)
    assert len(index.tail_ids) == 300
    threads, go = _writes(monkeypatch)
    monkeypatch.setattr(live, "FOLD_AT", 200)
    monkeypatch.setattr(live, "FOLD_SHARE", 0.0)
    number = index.gen.number
    assert nearest(vec_engine, more[6], 1) == [more_ids[6]]  # this query asks the writer, answers from the tail
    assert index.building and index.gen.number == number and len(index.tail_ids) == 300
    go.set()
    _settle(vec_engine)
    assert threads and threading.current_thread() not in threads  # written by the writer's thread
    assert nearest(vec_engine, more[7], 1) == [more_ids[7]]  # the next query maps the new generation
    assert index.gen.number == number + 1 and index.gen.count == 5_300 and len(index.tail_ids) == 0
    with writer_lock(index_folder(vec_engine), wait=True):  # type: ignore[arg-type]  # another writer: skipped
        assert fold_index(vec_engine, index_folder(vec_engine), wait=False) is None



def test_a_build_reads_each_batch_in_its_own_transaction_while_the_archive_is_written_and_searched(
        vec_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """PostgreSQL: ``rebuild_index`` over many small batches while another connection deletes
    and inserts moments (committed) and the archive is searched between two batches. Each batch is
    read in a transaction of its own (its ``now()``, the transaction's start, differs), between
    batches the build holds no lock on the table (an ACCESS EXCLUSIVE lock is granted), and
    a search afterwards returns the new rows and none of the deleted ones."""
    if vec_engine.dialect.name != "postgresql":
        pytest.skip("transaction start times and table locks are PostgreSQL's")
    monkeypatch.setattr(build, "BUILD_BATCH", 400)
    rng = np.random.default_rng(11)
    data = clustered(4_000, rng)
    ids = add_rows(vec_engine, data)
    behind, ahead = ids[100:200], ids[3_000:3_100]  # deleted once the build has read past ids[1000]
    new = clustered(50, rng)
    state: dict[str, object] = {"trained": False, "written": None, "inside": False, "answered": None}
    starts: list[object] = []
    locks: list[bool] = []
    train, read = build.train, rows.rows_after

    def trained(sample, n):  # type: ignore[no-untyped-def]
        state["trained"] = True
        return train(sample, n)

    def batch(session, space, last, upto, size, filters=Filters()):  # type: ignore[no-untyped-def]
        if state["inside"] or size != 400:  # a search's own reads (below)
            return read(session, space, last, upto, size, filters)
        state["inside"] = True
        try:  # between two batches: the previous batch's transaction has ended
            with vec_engine.connect() as conn:
                # waits up to 5 s, not NOWAIT: an autovacuum worker on the table yields to a waiting
                # lock, a transaction the build kept open would not
                conn.execute(text("SET LOCAL lock_timeout = '5s'"))
                try:
                    conn.execute(text("LOCK TABLE moment_embeddings IN ACCESS EXCLUSIVE MODE"))
                    locks.append(True)
                except OperationalError:  # lock_not_available: a transaction of the build holds it
                    locks.append(False)
                conn.rollback()
            if state["trained"] and state["written"] is None and last > ids[1_000]:
                with unit_of_work(vec_engine) as other:
                    other.execute(delete(Moment).where(Moment.id.in_(behind + ahead)))
                state["written"] = add_rows(vec_engine, new)
                state["answered"] = nearest(vec_engine, data[5], 1)  # the archive answers mid-build
        finally:
            state["inside"] = False
        out = read(session, space, last, upto, size, filters)
        starts.append(session.scalar(text("SELECT now()")))  # this batch's transaction's start
        return out

    monkeypatch.setattr(build, "train", trained)
    monkeypatch.setattr(rows, "rows_after", batch)
    built = rebuild_index(vec_engine)
    monkeypatch.setattr(rows, "rows_after", read)
    _settle(vec_engine)
    written = state["written"]
    assert isinstance(written, list) and len(written) == 50 and state["answered"] == [ids[5]]
    assert built == {"generation": 1, "count": 4_000 - len(ahead), "watermark": ids[-1]}  # new rows: above it
    assert len(starts) >= 20 and len(set(starts)) == len(starts)  # no transaction spanned two batches
    assert locks and all(locks)  # nor held the table between them
    gen = open_generation(index_folder(vec_engine))  # type: ignore[arg-type]
    assert gen is not None
    held = set(np.asarray(gen.ids).tolist())
    assert set(behind) <= held and not set(ahead) & held and not set(written) & held
    release_vector_index(vec_engine)  # a process starting now
    for i in (0, 17, 49):
        assert nearest(vec_engine, new[i], 1) == [written[i]]
    doomed = set(behind + ahead)
    for q in np.concatenate([data[100:120], data[3_000:3_020]]):
        assert not set(nearest(vec_engine, q, 20)) & doomed
    assert nearest(vec_engine, data[2_000], 1) == [ids[2_000]]


CHILD = textwrap.dedent("""
    import json, sys
    import numpy as np
    from pathlib import Path
    from video_qa.db import make_engine, unit_of_work
    from video_qa.search import Filters
    from video_qa.search.index import generation
    from video_qa.search.index.location import use_index_dir
    from video_qa.search.index.registry import vector_candidates, vector_index

    generation.BUILD_AT = 1_000  # as in this module's tests: a few thousand rows are worth an index
    engine = make_engine(sys.argv[1])
    use_index_dir(engine, Path(sys.argv[2]))
    for line in sys.stdin:
        q = np.asarray(json.loads(line), dtype=np.float32)
        with unit_of_work(engine) as session:
            got = vector_candidates(session, engine, q, Filters(), 1)
        index = vector_index(engine)
        maps = Path("/proc/self/maps").read_text()
        mapped = index.gen is not None and f"vectors-{index.gen.number}.faiss" in maps
        print(json.dumps({"id": got[0][0] if got else None, "generation": index.gen.number if index.gen else None,
                          "mapped": mapped}), flush=True)
""")


def _ask(child: subprocess.Popen, q: np.ndarray) -> dict:  # type: ignore[type-arg]
    assert child.stdin is not None and child.stdout is not None
    child.stdin.write(json.dumps(q.tolist()) + "\n")
    child.stdin.flush()
    return json.loads(child.stdout.readline())


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}


def test_two_processes_share_one_index_file_and_see_each_others_moments(vec_engine: Engine, tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    data = clustered(5_000, rng)
    add_rows(vec_engine, data)
    rebuild_index(vec_engine)
    url = vec_engine.url.render_as_string(hide_password=False)
    child = subprocess.Popen([sys.executable, "-c", CHILD, url, str(tmp_path / "index")], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True, env=_env(), cwd=ROOT)
    try:
        first = _ask(child, data[10])
        assert first["generation"] == 1 and first["mapped"]  # the published file, memory-mapped
        mine = add_rows(vec_engine, clustered(3, rng))  # this process writes ...
        with unit_of_work(vec_engine) as session:
            vec = np.frombuffer(session.get(MomentEmbedding, mine[1]).embedding, dtype=np.float32)
        assert _ask(child, vec)["id"] == mine[1]  # ... the other finds it at its next query
        theirs = clustered(1, rng)
        add_rows(vec_engine, theirs)
        assert nearest(vec_engine, theirs[0], 1) == [mine[-1] + 1]
        fold_index(vec_engine, index_folder(vec_engine))  # a new generation: the other maps it
        answer = _ask(child, theirs[0])
        assert answer == {"id": mine[-1] + 1, "generation": 2, "mapped": True}
    finally:
        child.kill()
        child.wait()



HOST = textwrap.dedent("""
    import json, sys
    import numpy as np
    from sqlalchemy import delete
    from tests.video_qa.search.test_vectors import add_rows
    from video_qa.db import make_engine, unit_of_work
    from video_qa.models import Moment
    from video_qa.search import Filters
    from video_qa.search.index import generation
    from video_qa.search.index.build import fold_index
    from video_qa.search.index.registry import vector_candidates, vector_index

    generation.BUILD_AT = 1_000  # as in this module's tests: a few thousand rows are worth an index
    engine = make_engine(sys.argv[1])  # its index folder: the settings' (its own VIDEOQA_DATA_DIR)
    for line in sys.stdin:
        op, arg = json.loads(line)
        if op == "search":
            with unit_of_work(engine) as session:
                got = vector_candidates(session, engine, np.asarray(arg, dtype=np.float32), Filters(), 20)
            index = vector_index(engine)
            out = {"ids": [i for i, _ in got], "generation": index.gen.number if index.gen else None,
                   "folder": str(index.folder)}
        elif op == "add":
            out = {"ids": add_rows(engine, np.asarray(arg, dtype=np.float32))}
        elif op == "delete":
            with unit_of_work(engine) as session:
                session.execute(delete(Moment).where(Moment.id.in_(arg)))
            out = {}
        else:  # this host's writer folds into its own folder
            out = {"generation": fold_index(engine, vector_index(engine).folder)}
        print(json.dumps(out), flush=True)
""")


def _host(process: subprocess.Popen, op: str, arg: object = None) -> dict:  # type: ignore[type-arg]
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write(json.dumps([op, arg.tolist() if isinstance(arg, np.ndarray) else arg]) + "\n")
    process.stdin.flush()
    return json.loads(process.stdout.readline())


def test_two_hosts_with_their_own_data_folders_share_one_database(vec_engine: Engine, tmp_path: Path) -> None:
    """Two searching processes as two web hosts: each with its own VIDEOQA_DATA_DIR, so its own
    index folder and generation, over one database. Each finds the moments the other commits at
    its next query, never one the other deleted, and a fold on one host leaves the other's folder
    as it was."""
    if vec_engine.dialect.name != "postgresql":
        pytest.skip("several hosts share a database server")
    rng = np.random.default_rng(13)
    data = clustered(5_000, rng)
    ids = add_rows(vec_engine, data)
    url = vec_engine.url.render_as_string(hide_password=False)
    folders = {}
    for name in ("a", "b"):
        folders[name] = index_folder(vec_engine, tmp_path / name / "index")
        assert rebuild_index(vec_engine, folders[name])["generation"] == 1  # type: ignore[index]
    hosts = {name: subprocess.Popen([sys.executable, "-c", HOST, url], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    text=True, env=videoqa_env(data_dir=tmp_path / name), cwd=ROOT)
             for name in ("a", "b")}
    a, b = hosts["a"], hosts["b"]
    try:
        for name, host in hosts.items():
            first = _host(host, "search", data[10])
            assert first["ids"][0] == ids[10] and first["generation"] == 1 and first["folder"] == str(folders[name])
        from_a = _host(a, "add", clustered(3, rng))["ids"]
        from_b = _host(b, "add", clustered(3, rng))["ids"]
        with unit_of_work(vec_engine) as session:
            vec = {i: np.frombuffer(session.get(MomentEmbedding, i).embedding, dtype=np.float32)
                   for i in from_a + from_b}
        for i in from_a:
            assert _host(b, "search", vec[i])["ids"][0] == i  # committed by A: B's next query finds it
        for i in from_b:
            assert _host(a, "search", vec[i])["ids"][0] == i
        gone = [ids[10], ids[11], from_a[0], from_b[1]]  # in both generations, and in both tails
        assert _host(a, "delete", gone) == {}
        for q in [data[10], data[11], vec[from_a[0]], vec[from_b[1]]]:
            assert not set(_host(b, "search", q)["ids"]) & set(gone)
        assert _host(a, "fold")["generation"] == 2  # A's writer, A's folder
        assert not (folders["b"] / "vectors-2.faiss").exists()
        after = _host(a, "search", vec[from_b[0]])
        assert after["ids"][0] == from_b[0] and after["generation"] == 2
        gone_too = [ids[20], from_a[1]]
        assert _host(b, "delete", gone_too) == {}
        for q in [data[20], vec[from_a[1]]]:
            got = _host(a, "search", q)
            assert got["generation"] == 2 and not set(got["ids"]) & set(gone + gone_too)
        still = _host(b, "search", vec[from_a[2]])
        assert still["ids"][0] == from_a[2] and still["generation"] == 1
    finally:
        for host in hosts.values():
            host.kill()
            host.wait()


def _moment_from_the_sequence(session: Session, vector: np.ndarray) -> int:
    """A moment of a new video, its id taken from the sequence (as ingest does), flushed, not committed."""
    moment = make_moment(session, make_video(session))
    session.add(MomentEmbedding(moment_id=moment.id, embedding=vector.tobytes()))
    session.flush()
    return moment.id


def _late_commit(engine: Engine, late: np.ndarray, early: np.ndarray) -> tuple[int, int]:
    """``late`` takes its id from the sequence first and commits last; ``early`` is committed
    meanwhile with a higher id and read into this process's tail before ``late`` commits. Their ids."""
    with Session(engine) as slow:  # an ingest transaction: a part's moments written, not yet committed
        late_id = _moment_from_the_sequence(slow, late)
        with unit_of_work(engine) as quick:
            early_id = _moment_from_the_sequence(quick, early)
        assert early_id > late_id
        assert nearest(engine, early, 1) == [early_id]  # read into the tail: seen is past late_id
        slow.commit()
    index = vector_index(engine)
    assert index.seen == early_id and late_id not in index.tail_ids
    return late_id, early_id


def test_a_moment_committed_after_a_higher_id_was_read_is_found(vec_engine: Engine,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """PostgreSQL takes ids at insert and commits in any order (two ingest workers, two hosts): a
    moment whose id is below one a process has already read into its tail is committed later.
    Within ``LATE_WINDOW`` ids of the highest seen the next query finds it; further down, the next
    consistency check (``CHECK_EVERY_S``) does; either way before any fold, and once deleted it is
    never returned (fails without them: the tail reads only ids above the highest seen)."""
    if vec_engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: ids are committed in order")
    rng = np.random.default_rng(14)
    data = clustered(2_000, rng)
    add_rows(vec_engine, data)
    rebuild_index(vec_engine)
    vectors = clustered(4, rng)
    late_id, _ = _late_commit(vec_engine, vectors[0], vectors[1])
    assert nearest(vec_engine, vectors[0], 1) == [late_id]  # the next query
    index = vector_index(vec_engine)
    assert index.gen is not None and index.gen.number == 1 and late_id in index.tail_ids  # no fold: the tail
    monkeypatch.setattr(live, "LATE_WINDOW", 0)  # as if it were further down than the window
    far_id, _ = _late_commit(vec_engine, vectors[2], vectors[3])
    assert nearest(vec_engine, vectors[2], 1) != [far_id]  # not looked for by the query ...
    monkeypatch.setattr(live, "CHECK_EVERY_S", 0.0)
    assert nearest(vec_engine, vectors[2], 1) == [far_id]  # ... found by the check
    with unit_of_work(vec_engine) as session:
        session.execute(delete(Moment).where(Moment.id.in_([late_id, far_id])))
    for q in vectors[[0, 2]]:
        assert not {late_id, far_id} & set(nearest(vec_engine, q, 20))


KILLED_WRITER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from video_qa.db import make_engine
    from video_qa.search.index import build, generation, location

    def stall(path):  # the new files are written but not yet renamed: die here
        print("writing", flush=True)
        time.sleep(60)

    build._fsync_path = stall
    generation.BUILD_AT = 1_000  # as in this module's tests: a few thousand rows are worth an index
    engine = make_engine(sys.argv[1])
    location.use_index_dir(engine, Path(sys.argv[2]))
    build.fold_index(engine, location.index_folder(engine))
""")


def test_a_writer_killed_mid_update_leaves_the_old_generation_and_the_next_writer_cleans_up(
        vec_engine: Engine, tmp_path: Path) -> None:
    rng = np.random.default_rng(6)
    data = clustered(5_000, rng)
    add_rows(vec_engine, data)
    rebuild_index(vec_engine)
    more = clustered(100, rng)
    more_ids = add_rows(vec_engine, more)
    folder = index_folder(vec_engine)
    url = vec_engine.url.render_as_string(hide_password=False)
    writer = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, url, str(tmp_path / "index")],
                              stdout=subprocess.PIPE, text=True, env=_env(), cwd=ROOT)
    assert writer.stdout is not None and writer.stdout.readline().strip() == "writing"
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait()
    leftovers = [p.name for p in folder.iterdir() if ".tmp" in p.name]
    assert leftovers  # its half-finished generation
    gen = open_generation(folder)
    assert gen is not None and gen.number == 1 and gen.count == 5_000  # the old one, intact
    assert nearest(vec_engine, more[3], 1) == [more_ids[3]]  # answers: old generation + exact tail
    assert nearest(vec_engine, data[42], 1) == [42 + more_ids[0] - 5_000]
    assert fold_index(vec_engine, folder) == 2  # the lock died with it; the next writer cleans up
    assert not [p.name for p in folder.iterdir() if ".tmp" in p.name]
    assert open_generation(folder).count == 5_100  # type: ignore[union-attr]



REINDEX = textwrap.dedent("""
    import sys, time
    from video_qa.search.index import build, generation
    from videoqa_cli.main import main

    generation.BUILD_AT = 1_000  # as in this module's tests: a few thousand rows are worth an index
    build.BUILD_BATCH = 500
    trained, train, stream = [], build.train, build.stream_rows_apart
    build.train = lambda sample, rows: trained.append(1) or train(sample, rows)

    def stalling(*args, **kwargs):  # the build's stream, three batches in: wait here to be killed
        for n, page in enumerate(stream(*args, **kwargs)):
            if trained and n == 3:
                print("building", flush=True)
                time.sleep(120)
            yield page

    if sys.argv[1] == "stall":
        build.stream_rows_apart = stalling
    sys.exit(main(["reindex", "--json"]))
""")


def test_a_reindex_killed_mid_build_leaves_the_old_generation_serving_another_process(
        vec_engine: Engine, tmp_path: Path) -> None:
    """``videoqa reindex`` (its ``main``, with this module's small-archive settings) SIGKILLed
    while it streams the rows (trained, three batches added): it had written nothing to the
    folder; a searching process answers from the old generation (and its tail) during and after
    the kill, and the next ``videoqa reindex`` gets the lock and publishes, removing a temporary
    file left beside it."""
    rng = np.random.default_rng(12)
    data = clustered(5_000, rng)
    ids = add_rows(vec_engine, data)
    rebuild_index(vec_engine)
    more = clustered(100, rng)
    more_ids = add_rows(vec_engine, more)
    folder = index_folder(vec_engine)
    assert folder is not None and folder.parent == tmp_path / "index"
    before = {p.name: p.read_bytes() for p in folder.iterdir() if p.name != "lock"}
    url = vec_engine.url.render_as_string(hide_password=False)
    env = videoqa_env(database_url=url, data_dir=tmp_path)  # its index folder is this test's
    searcher = subprocess.Popen([sys.executable, "-c", CHILD, url, str(tmp_path / "index")], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True, env=_env(), cwd=ROOT)
    reindex = subprocess.Popen([sys.executable, "-c", REINDEX, "stall"], stdout=subprocess.PIPE, text=True, env=env,
                               cwd=ROOT)
    try:
        assert reindex.stdout is not None and reindex.stdout.readline().strip() == "building"
        assert _ask(searcher, data[42]) == {"id": ids[42], "generation": 1, "mapped": True}  # during the build
        os.kill(reindex.pid, signal.SIGKILL)
        reindex.wait()
        assert {p.name: p.read_bytes() for p in folder.iterdir() if p.name != "lock"} == before  # nothing written
        assert _ask(searcher, data[4_321]) == {"id": ids[4_321], "generation": 1, "mapped": True}
        assert _ask(searcher, more[3]) == {"id": more_ids[3], "generation": 1, "mapped": True}  # the exact tail
        (folder / "vectors-2.faiss.tmp999999").write_bytes(b"half")  # as a writer killed while publishing leaves
        done = subprocess.run([sys.executable, "-c", REINDEX, "finish"], env=env, cwd=ROOT, capture_output=True,
                              text=True, timeout=300)  # the lock died with the killed one
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout.strip().splitlines()[-1])["generation"] == 2
        assert not [p.name for p in folder.iterdir() if ".tmp" in p.name]
        gen = open_generation(folder)
        assert gen is not None and gen.number == 2 and gen.count == 5_100
        assert _ask(searcher, more[7]) == {"id": more_ids[7], "generation": 2, "mapped": True}
    finally:
        for child in (reindex, searcher):
            child.kill()
            child.wait()


def test_a_damaged_generation_is_searched_exactly_and_rebuilt_in_the_background(
        vec_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(7)
    data = clustered(5_000, rng)
    ids = add_rows(vec_engine, data)
    rebuild_index(vec_engine)
    folder = index_folder(vec_engine)
    assert folder is not None
    index_file = folder / "vectors-1.faiss"
    index_file.write_bytes(index_file.read_bytes()[: index_file.stat().st_size // 2])  # truncated
    threads, go = _writes(monkeypatch)
    release_vector_index(vec_engine)  # a process starting now
    assert nearest(vec_engine, data[99], 1) == [ids[99]]  # from the exact tail: every row
    index = vector_index(vec_engine)
    assert index.gen is None and len(index.tail_ids) == 5_000 and index.building
    assert nearest(vec_engine, data[98], 1) == [ids[98]]  # answered while the writer works
    assert open_generation(folder) is None and not threads[1:]  # the queries wrote nothing
    go.set()
    _settle(vec_engine)
    assert threads and threading.current_thread() not in threads
    gen = open_generation(folder)
    assert gen is not None and gen.number == 2 and gen.count == 5_000
    assert ids[5] in nearest(vec_engine, data[5], 10)  # the next query maps it (short codes: top 10)
    assert index.gen is not None and index.gen.number == 2 and len(index.tail_ids) == 0
    # a stale manifest naming files that are gone: the same
    manifest = json.loads((folder / "manifest.json").read_text())
    (folder / "manifest.json").write_text(json.dumps({**manifest, "index": "vectors-77.faiss"}))
    release_vector_index(vec_engine)
    assert nearest(vec_engine, data[7], 1) == [ids[7]]
    _settle(vec_engine)
    assert open_generation(folder).number == 3  # type: ignore[union-attr]


def test_without_a_generation_a_large_archive_is_scanned_exactly_while_the_writer_builds_one(
        vec_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """More rows than the tail may hold and no generation: nothing is read into memory, each query
    scans the database exactly (under filters too), the writer builds a generation in its own
    thread, and the next query maps it."""
    monkeypatch.setattr(live, "TAIL_MAX", 2_000)
    rng = np.random.default_rng(10)
    data = clustered(3_000, rng)
    ids = np.array(add_rows(vec_engine, data))
    threads, go = _writes(monkeypatch)
    q = clustered(1, rng)[0]
    assert nearest(vec_engine, q, 10) == ids[np.argsort(-(data @ q))[:10]].tolist()
    index = vector_index(vec_engine)
    assert index.scanning and index.gen is None and len(index.tail_ids) == 0 and index.building
    text = np.array([KINDS[i % 3] for i in range(len(ids))]) == "text"
    exact_text = ids[text][np.argsort(-(data[text] @ q))[:10]].tolist()
    assert nearest(vec_engine, q, 10, Filters(kinds=("text",))) == exact_text
    assert open_generation(index_folder(vec_engine)) is None  # type: ignore[arg-type]
    go.set()
    _settle(vec_engine)
    assert threads and threading.current_thread() not in threads
    assert ids[4] in nearest(vec_engine, data[4], 10)  # from the generation (short codes: top 10)
    assert not index.scanning and index.gen is not None and index.gen.count == 3_000


def test_the_consistency_check_on_open_drops_rows_deleted_while_no_process_ran(vec_engine: Engine) -> None:
    rng = np.random.default_rng(8)
    data = clustered(4_000, rng)
    ids = add_rows(vec_engine, data)
    rebuild_index(vec_engine)
    with unit_of_work(vec_engine) as session:  # deleted while nothing searched
        session.execute(delete(Moment).where(Moment.id.in_(ids[100:200])))
    release_vector_index(vec_engine)
    nearest(vec_engine, data[0])
    index = vector_index(vec_engine)
    assert sorted(index.dead.tolist()) == ids[100:200]
    assert len(index) == 3_900


def test_reindex_rebuilds(vec_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from video_qa.config import get_settings
    from videoqa_cli.commands.index import cmd_reindex

    if vec_engine.dialect.name != "sqlite":
        monkeypatch.setenv("VIDEOQA_DATABASE_URL", vec_engine.url.render_as_string(hide_password=False))
    else:
        monkeypatch.setenv("VIDEOQA_DATABASE_URL", f"sqlite:///{vec_engine.url.database}")
    monkeypatch.setenv("VIDEOQA_DATA_DIR", str(tmp_path))  # so settings.index_dir is tmp_path/index
    get_settings.cache_clear()
    rng = np.random.default_rng(9)
    data = clustered(3_000, rng)
    ids = add_rows(vec_engine, data)
    folder = index_folder(vec_engine)
    assert folder is not None and folder.parent == tmp_path / "index"
    assert cmd_reindex(get_settings(), argparse.Namespace(json=True)) == 0
    first = open_generation(folder)
    assert first is not None and first.count == 3_000 and first.watermark == ids[-1]
    add_rows(vec_engine, clustered(10, rng))
    assert cmd_reindex(get_settings(), argparse.Namespace(json=False)) == 0
    second = open_generation(folder)
    assert second is not None and second.number == first.number + 1 and second.count == 3_010
    assert nearest(vec_engine, data[12], 1) == [ids[12]]


def test_reindex_of_a_small_archive_keeps_no_index_and_says_so(vec_engine: Engine, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    """Fewer rows than a product quantizer trains on (a new user's first videos): no crash, no
    index file, an earlier generation retired, and the exact search still answers."""
    from video_qa.config import get_settings
    from videoqa_cli.commands.index import cmd_reindex

    url = (vec_engine.url.render_as_string(hide_password=False) if vec_engine.dialect.name != "sqlite"
           else f"sqlite:///{vec_engine.url.database}")
    monkeypatch.setenv("VIDEOQA_DATABASE_URL", url)
    monkeypatch.setenv("VIDEOQA_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    rng = np.random.default_rng(5)
    data = clustered(3_000, rng)
    ids = add_rows(vec_engine, data)
    folder = index_folder(vec_engine)
    assert cmd_reindex(get_settings(), argparse.Namespace(json=False)) == 0  # BUILD_AT is 1,000 here
    assert open_generation(folder) is not None
    monkeypatch.setattr(generation, "BUILD_AT", 50_000)  # the product's threshold: 3,000 rows are too few
    capsys.readouterr()
    assert cmd_reindex(get_settings(), argparse.Namespace(json=False)) == 0
    assert "too few for an index" in capsys.readouterr().out
    assert open_generation(folder) is None and read_manifest(folder) is None
    release_vector_index(vec_engine)
    assert nearest(vec_engine, data[7], 1) == [ids[7]]
