"""Synthetic search archives, built the fast way and kept between runs.

Moments draw their sentence from a pool of distinct template sentences (``sentence_pool``), each
embedded once with the bundled MiniLM; moments are spread over videos of ``PER_VIDEO`` with
increasing times, as in a real archive. Which pool sentence each moment got is kept as a count per
sentence (``counts``): the exact top-k similarity of any query over the whole archive follows from
the pool's similarities and those counts, with no scan of millions of vectors (``exact_kth``).

PostgreSQL: the migrated schema, then the secondary indexes and constraints of ``moments`` and
``moment_embeddings`` are dropped, the rows loaded with ``COPY ... (FORMAT BINARY)``, and the
indexes and constraints re-created from their own definitions (``pg_get_indexdef`` /
``pg_get_constraintdef``), then ``VACUUM (ANALYZE)``. SQLite: executemany in one transaction per
batch with the FTS5 triggers in place. An archive is kept under a name made of its size and seed
(PostgreSQL database ``videoqa_bench_<size>``, SQLite file ``bench/.cache/archive-<size>.db``) with a
``bench_archive`` row recording how long its build took, and reused by the next run.

With ``visual`` (``VisualSpec``; ``--visual``), every ``share``-th moment is a visual moment
(kind ``visual``) that also holds an image vector in ``visual_embeddings`` under the spec's model
name: vectors drawn from a pool of clustered unit vectors of the spec's dimension (``image_pool``),
so the visual space has its own index to build and search. Such an archive is kept under its own
name (``-visual`` / ``_visual``): the text side is the same as the archive without it.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass
from datetime import datetime, timezone

import numpy as np

from bench._lib import CACHE, PG_ADMIN, cli

PER_VIDEO = 1000
BATCH = 50_000

SUBJECTS = ["the crane operator", "a delivery van", "the speaker", "two engineers", "the harbour pilot", "a cyclist",
            "the finance team", "the night guard", "a red container", "the drone", "our teacher", "the chef",
            "a passenger ferry", "the goalkeeper", "the lab assistant", "a stray dog", "the mayor", "the weather map"]
VERBS = ["lifts", "approves", "explains", "inspects", "crosses", "unloads", "announces", "repairs", "records",
         "shows", "cancels", "measures", "points at", "opens", "closes", "delivers", "questions", "celebrates"]
OBJECTS = ["the quarterly budget", "a steel beam", "the safety rules", "the new schedule", "a broken valve",
           "the exit sign", "three pallets", "the final score", "a cargo manifest", "the storm warning",
           "the recipe", "a blue umbrella", "the train timetable", "the gate code", "a microscope slide"]
PLACES = ["near gate 4", "on the north pier", "in the main hall", "at the loading dock", "beside the river",
          "in the kitchen", "on stage", "at the station", "in the parking lot", "under the bridge", ""]
KINDS = ["speech", "speech", "speech", "text", "event"]
VISUAL = "visual"


@dataclass(frozen=True)
class VisualSpec:
    """The visual space of an archive: the image model's name its vectors are stored under, their
    dimension, every ``share``-th moment visual, vectors from a pool of ``pool``."""

    model: str
    dim: int
    share: int = 5
    pool: int = 2000


def image_pool(spec: VisualSpec, seed: int = 13) -> np.ndarray:
    """``spec.pool`` unit vectors in overlapping clusters (shots of the same scene look alike)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(max(1, spec.pool // 10), spec.dim))
    x = centres[rng.integers(0, len(centres), spec.pool)] + 0.6 * rng.normal(size=(spec.pool, spec.dim))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def is_visual(i: int, visual: VisualSpec | None) -> bool:
    """Moment ``i + 1`` is a visual one."""
    return visual is not None and i % visual.share == visual.share - 1


def sentence_pool(n: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    pool: set[str] = set()
    while len(pool) < n:
        s = f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)} {rng.choice(PLACES)}".strip()
        pool.add(s[0].upper() + s[1:] + rng.choice([".", "", "!"]))
    return sorted(pool)


def queries(pool: list[str], n: int, seed: int = 11) -> list[str]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        s = rng.choice(pool).rstrip(".!").lower().split()
        if i % 3 == 0:
            out.append(" ".join(s))  # a phrase as said
        elif i % 3 == 1:
            out.append(" ".join(rng.sample(s, min(3, len(s)))))  # a few of its words
        else:
            out.append(f"{rng.choice(['who', 'when does', 'where is'])} {rng.choice(OBJECTS).split()[-1]} "
                       f"{rng.choice(VERBS).split()[0]}")  # a question-like salad
    return out


def pool_vectors(pool: list[str]) -> tuple[np.ndarray, float]:
    """The pool's embeddings (cached in bench/.cache) and the embedding rate when computed now
    (0.0 when read from the cache)."""
    import hashlib

    key = hashlib.sha256("\n".join(pool).encode()).hexdigest()[:16]
    path = CACHE / f"pool-{key}.npy"
    if path.exists():
        return np.load(path), 0.0
    from video_qa.analyzers import get_embedder
    from video_qa.config import load_settings

    embedder = get_embedder(load_settings(embed_model="bundled"))
    t0 = time.perf_counter()
    vectors = np.asarray(embedder.encode(pool), dtype=np.float32)
    rate = len(pool) / (time.perf_counter() - t0)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors, rate


@dataclass
class Archive:
    url: str
    size: int
    counts: np.ndarray  # moments per pool sentence
    build_seconds: float
    built_now: bool


def choices(size: int, pool_size: int, seed: int) -> np.ndarray:
    """The pool sentence of every moment (reproducible)."""
    return np.random.default_rng(seed).integers(0, pool_size, size=size)


def exact_kth(similarities: np.ndarray, counts: np.ndarray, k: int = 10) -> float:
    """The k-th best similarity over the whole archive, from the pool's ``similarities`` to a query
    and how many moments hold each pool sentence."""
    order = np.argsort(-similarities, kind="stable")
    seen = np.cumsum(counts[order])
    at = int(np.searchsorted(seen, k))
    return float(similarities[order[min(at, len(order) - 1)]])


def _rows(size: int, picks: np.ndarray, pool: list[str], seed: int,  # type: ignore[no-untyped-def]
          visual: VisualSpec | None = None):
    kinds = np.random.default_rng(seed + 1).integers(0, len(KINDS), size=size)
    for i in range(size):
        start = (i % PER_VIDEO) * 3.6
        kind = VISUAL if is_visual(i, visual) else KINDS[kinds[i]]
        yield (i + 1, i // PER_VIDEO + 1, int(start // 60), kind, i, start, start + 3.0, pool[picks[i]])


def _image_rows(size: int, visual: VisualSpec | None, seed: int):  # type: ignore[no-untyped-def]
    """(moment id, model, dim, vector bytes) of the visual moments."""
    if visual is None:
        return
    blobs = [v.tobytes() for v in image_pool(visual)]
    picks = np.random.default_rng(seed + 2).integers(0, len(blobs), size=size)
    for i in range(visual.share - 1, size, visual.share):
        yield (i + 1, visual.model, visual.dim, blobs[picks[i]])


def _marker(url: str) -> dict | None:
    from sqlalchemy import create_engine, inspect, text

    engine = create_engine(url)
    try:
        if "bench_archive" not in inspect(engine).get_table_names():
            return None
        with engine.connect() as conn:
            row = conn.execute(text("SELECT info FROM bench_archive")).first()
        return json.loads(row[0]) if row else None
    finally:
        engine.dispose()


def _write_marker(url: str, info: dict) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS bench_archive (info TEXT)"))
        conn.execute(text("DELETE FROM bench_archive"))
        conn.execute(text("INSERT INTO bench_archive (info) VALUES (:i)"), {"i": json.dumps(info)})
    engine.dispose()


def _videos(n_videos: int) -> list[dict]:
    now = datetime.now(timezone.utc)
    return [{"title": f"archive video {v}", "path": f"/archive/{v}.mp4", "sha256": f"{v:064x}", "size": 1,
             "duration": 3600.0, "status": "ready", "created_at": now, "updated_at": now}
            for v in range(n_videos)]


def _load_sqlite(url: str, size: int, picks: np.ndarray, pool: list[str], vectors: np.ndarray, seed: int,
                 visual: VisualSpec | None = None) -> None:
    from sqlalchemy import create_engine, insert

    from video_qa.models import Video

    engine = create_engine(url)
    blobs = [v.tobytes() for v in vectors]
    with engine.begin() as conn:
        conn.execute(insert(Video), _videos(max(1, -(-size // PER_VIDEO))))
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        batch, emb = [], []
        for row in _rows(size, picks, pool, seed, visual):
            batch.append((*row[:2], None, *row[2:], None))
            emb.append((row[0], blobs[picks[row[0] - 1]]))
            if len(batch) == BATCH:
                cur.executemany('INSERT INTO moments (id, video_id, clip_id, clip_index, kind, seq, start, "end", '
                                "text, meta) VALUES (?,?,?,?,?,?,?,?,?,?)", batch)
                cur.executemany("INSERT INTO moment_embeddings (moment_id, embedding) VALUES (?,?)", emb)
                raw.commit()
                batch, emb = [], []
        if batch:
            cur.executemany('INSERT INTO moments (id, video_id, clip_id, clip_index, kind, seq, start, "end", '
                            "text, meta) VALUES (?,?,?,?,?,?,?,?,?,?)", batch)
            cur.executemany("INSERT INTO moment_embeddings (moment_id, embedding) VALUES (?,?)", emb)
            raw.commit()
        images = list(_image_rows(size, visual, seed))
        for a in range(0, len(images), BATCH):
            cur.executemany("INSERT INTO visual_embeddings (moment_id, model, dim, embedding) VALUES (?,?,?,?)",
                            images[a:a + BATCH])
            raw.commit()
        cur.execute("ANALYZE")
        raw.commit()
    finally:
        raw.close()
        engine.dispose()


def _load_postgres(url: str, size: int, picks: np.ndarray, pool: list[str], vectors: np.ndarray, seed: int,
                   visual: VisualSpec | None = None) -> None:
    from sqlalchemy import create_engine, insert

    from video_qa.models import Video

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(insert(Video), _videos(max(1, -(-size // PER_VIDEO))))
    blobs = [v.tobytes() for v in vectors]
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("SET maintenance_work_mem = '1GB'")
        cur.execute("SET synchronous_commit = off")
        tables = ("moments", "moment_embeddings", "visual_embeddings")
        cur.execute("SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
                    "WHERE conrelid::regclass::text = ANY(%s) AND contype IN ('u', 'f')", (list(tables),))
        constraints = cur.fetchall()
        for table, name, _ in constraints:
            cur.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        cur.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ANY(%s) "
                    "AND indexname NOT LIKE 'pk_%%'", (list(tables),))
        indexes = cur.fetchall()
        for name, _ in indexes:
            cur.execute(f'DROP INDEX "{name}"')
        raw.commit()
        with cur.copy('COPY moments (id, video_id, clip_index, kind, seq, start, "end", text) '
                      "FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(["int4", "int4", "int4", "varchar", "int4", "float8", "float8", "text"])
            for row in _rows(size, picks, pool, seed, visual):
                copy.write_row(row)
        raw.commit()
        with cur.copy("COPY moment_embeddings (moment_id, embedding) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(["int4", "bytea"])
            for i in range(size):
                copy.write_row((i + 1, blobs[picks[i]]))
        raw.commit()
        if visual is not None:
            with cur.copy("COPY visual_embeddings (moment_id, model, dim, embedding) FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(["int4", "varchar", "int4", "bytea"])
                for row in _image_rows(size, visual, seed):
                    copy.write_row(row)
            raw.commit()
        for _, definition in indexes:
            cur.execute(definition)
        for table, name, definition in constraints:
            cur.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        cur.execute("SELECT setval(pg_get_serial_sequence('moments', 'id'), %s)", (size,))
        raw.commit()
    finally:
        raw.close()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM (ANALYZE) videos, moments, moment_embeddings, visual_embeddings")
    engine.dispose()


def archive(backend: str, size: int, pool: list[str], vectors: np.ndarray, admin_url: str, seed: int = 3,
            fresh: bool = False, visual: VisualSpec | None = None) -> Archive:
    """The archive of ``size`` moments on ``backend`` ("sqlite" or "postgresql"), built now or
    reused (``fresh``: always rebuilt); ``visual``: with a visual space (module doc)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from video_qa import migrate

    picks = choices(size, len(pool), seed)
    counts = np.bincount(picks, minlength=len(pool))
    identity: dict[str, object] = {"size": size, "seed": seed, "pool": len(pool), "per_video": PER_VIDEO}
    if visual is not None:
        identity.update({"visual_model": visual.model, "visual_dim": visual.dim, "visual_share": visual.share,
                         "visual_pool": visual.pool})
    if backend == "sqlite":
        path = CACHE / f"archive-{size}{'-visual' if visual else ''}.db"
        url = f"sqlite:///{path}"
        exists = path.exists()
    else:
        name = f"videoqa_bench_{size}{'_visual' if visual else ''}"
        url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first() is not None
    marker = _marker(url) if exists else None
    if marker is not None and not fresh and all(marker.get(k) == v for k, v in identity.items()):
        return Archive(url, size, counts, float(marker["build_seconds"]), False)
    if backend == "sqlite":
        path.unlink(missing_ok=True)
        path.parent.mkdir(parents=True, exist_ok=True)
    else:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
    t0 = time.perf_counter()
    migrate.upgrade(url)
    load = _load_sqlite if backend == "sqlite" else _load_postgres
    load(url, size, picks, pool, vectors, seed, visual)
    seconds = time.perf_counter() - t0
    _write_marker(url, {**identity, "build_seconds": seconds, "built": datetime.now(timezone.utc).isoformat()})
    return Archive(url, size, counts, seconds, True)


def main() -> None:
    """Build (or find) one archive: ``python -m bench.archive postgresql 10000000``."""
    parser = cli("archive", __doc__)
    parser.add_argument("backend", choices=("sqlite", "postgresql"))
    parser.add_argument("size", type=int, help="moments")
    parser.add_argument("--fresh", action="store_true", help="build it again even when kept")
    parser.add_argument("--visual", metavar="MODEL:DIM", help="with a visual space: image vectors of DIM components "
                        "stored under the model name MODEL (bench/search.py --visual names its text tower's)")
    args = parser.parse_args()
    pool = sentence_pool(4000)
    vecs, _ = pool_vectors(pool)
    visual = None
    if args.visual:
        model, _, dim = args.visual.rpartition(":")
        visual = VisualSpec(model, int(dim))
    made = archive(args.backend, args.size, pool, vecs, PG_ADMIN, fresh=args.fresh, visual=visual)
    print(f"{args.backend} {made.size:,} moments: {made.url} built in {made.build_seconds:.1f} s"
          f"{' (now)' if made.built_now else ' (reused)'}")


if __name__ == "__main__":
    main()
