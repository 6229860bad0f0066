"""Which maintained vector index: faiss-cpu (IVF-PQ, IVF-PQ fast scan, IVF-SQ8) against usearch
(HNSW with int8 / f16 scalars), measured on the numbers the search targets name.

    flock /tmp/bench.lock .venv/bin/python -m bench.vector_choice [--size 1000000] [--clustered 200000]

Two sets, both 384-dimensional and unit length:
- *bench-like*: every moment's vector is one of the search benchmark's pool sentences (a few
  thousand distinct MiniLM embeddings, ``bench/archive.py``), so many exact ties; queries are the
  benchmark's queries, embedded. Recall is tie-aware: a returned id counts when its exact
  similarity reaches the exact 10th-best similarity of the whole set.
- *clustered*: Gaussian clusters (hard: the clusters overlap); plain recall@10 against brute force.

For each variant: the index is built (train + add, seconds), written to a file, then searched from
a fresh child process that opens the file memory-mapped (faiss ``IO_FLAG_MMAP`` / usearch
``restore(view=True)``) and re-ranks the ``rerank`` best candidates exactly from a memory-mapped
float32 file (what the search does from the database). The child reports ms per query (p50 / p95,
one thread), recall@10 and its resident memory (VmRSS, and RssAnon, the private part, after the
queries, less what it held before opening the index). ``bytes/vec`` is the index file's size per
vector. The table goes to stdout (docs/search-index.md quotes it).
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing as mp
import os
import queue as queue_module
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench import archive
from bench._lib import CACHE, ROOT, cli
from bench._lib.monitor import smaps_mb
from bench._lib.report import machine_line

K = 10

WIDE = 8192  # collapsed variants: asked of the index before runs of equal scores collapse (video_qa.search.index.query.WIDE)

# (name, library, spec, search parameter, rerank depth); "collapse": as video_qa.search.index.query
# does, runs of equal approximate scores (the same code: a repeated sentence) count once among the
# candidates, and the best ones' repeats are re-ranked after
VARIANTS = [
    ("faiss IVF-PQ64", "faiss", "IVF{nlist},PQ64", 32, 256),
    ("faiss IVF-PQ64 collapse", "faiss", "IVF{nlist},PQ64", 32, 256),
    ("faiss IVF-PQ64 deep", "faiss", "IVF{nlist},PQ64", 32, 1024),
    ("faiss IVF-PQ96x4fs collapse", "faiss", "IVF{nlist},PQ96x4fs", 32, 256),
    ("faiss IVF-SQ8", "faiss", "IVF{nlist},SQ8", 32, 256),
    ("usearch HNSW i8", "usearch", "i8", 64, 256),
    ("usearch HNSW f16", "usearch", "f16", 64, 256),
]


def _status() -> dict[str, int]:
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "RssAnon", "RssFile"):
            out[key] = int(value.split()[0]) // 1024
    return out


def bench_like(size: int, with_vectors: bool = True) -> tuple[np.ndarray | None, np.ndarray, np.ndarray, np.ndarray]:
    """(vectors, queries, per query the exact 10th-best similarity, picks)."""
    pool = archive.sentence_pool(4000)
    pool_vecs, _ = archive.pool_vectors(pool)
    texts = archive.queries(pool, 200)
    key = hashlib.sha256("\n".join(texts).encode()).hexdigest()[:16]
    path = CACHE / f"vector-choice-queries-{key}.npy"
    if path.exists():
        qs = np.load(path)
    else:
        from video_qa.analyzers import get_embedder
        from video_qa.config import load_settings

        qs = np.asarray(get_embedder(load_settings(embed_model="bundled")).encode(texts), dtype=np.float32)
        np.save(path, qs)
    picks = np.random.default_rng(3).integers(0, len(pool), size=size)
    counts = np.bincount(picks, minlength=len(pool))
    kth = np.array([archive.exact_kth(pool_vecs @ q, counts, K) for q in qs])
    return (pool_vecs[picks] if with_vectors else None), qs, kth, picks


def clustered(size: int, dim: int = 384, clusters: int = 2000, seed: int = 5) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, dim)).astype(np.float32)

    def draw(n: int) -> np.ndarray:
        x = centres[rng.integers(0, clusters, n)] + 0.9 * rng.normal(size=(n, dim)).astype(np.float32)
        return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)

    return draw(size), draw(200)


def build(lib: str, spec: str, vectors: np.ndarray, path: Path) -> float:
    t0 = time.perf_counter()
    n, dim = vectors.shape
    if lib == "faiss":
        import faiss

        nlist = int(min(4096, max(64, round(np.sqrt(n)))))
        index = faiss.index_factory(dim, spec.format(nlist=nlist), faiss.METRIC_INNER_PRODUCT)
        ivf = faiss.downcast_index(faiss.extract_index_ivf(index))
        if hasattr(ivf, "do_polysemous_training"):
            ivf.do_polysemous_training = False  # minutes of training for a Hamming filter not used here
        sample = vectors[np.random.default_rng(0).choice(n, min(n, max(10_000, 40 * nlist)), replace=False)]
        index.train(sample)
        for a in range(0, n, 200_000):
            index.add_with_ids(vectors[a:a + 200_000], np.arange(a, min(n, a + 200_000), dtype=np.int64))
        faiss.write_index(index, str(path))
    else:
        from usearch.index import Index

        index = Index(ndim=dim, metric="ip", dtype=spec, connectivity=16, expansion_add=128)
        index.add(np.arange(n, dtype=np.int64), vectors, threads=os.cpu_count() or 1, log=False)
        index.save(str(path))
    return time.perf_counter() - t0


def search_child(lib: str, path: str, param: int, rerank: int, collapse: bool, vectors_path: str,
                 queries: np.ndarray, result: "mp.Queue[dict]") -> None:
    before = _status()
    header = np.load(vectors_path, mmap_mode="r")
    dim, offset = header.shape[1], header.offset
    del header
    fd = os.open(vectors_path, os.O_RDONLY)

    def exact(ids: np.ndarray, q: np.ndarray) -> np.ndarray:
        """Each id's exact score, the vector read with pread (as a database read: not mapped)."""
        raw = b"".join(os.pread(fd, 4 * dim, offset + 4 * dim * int(i)) for i in ids)
        return np.frombuffer(raw, dtype=np.float32).reshape(len(ids), dim) @ q

    t0 = time.perf_counter()
    if lib == "faiss":
        import faiss

        faiss.omp_set_num_threads(1)
        index = faiss.read_index(path, faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY)
        index.nprobe = param

        def candidates(q: np.ndarray) -> np.ndarray:
            if not collapse:
                return index.search(q[None, :], rerank)[1][0]
            d, ids = index.search(q[None, :], WIDE)
            d, ids = d[0][ids[0] >= 0], ids[0][ids[0] >= 0]
            starts = np.flatnonzero(np.r_[True, d[1:] != d[:-1]])[:rerank]
            ends = np.r_[starts[1:], len(ids)]
            reps = ids[starts]
            best = np.argsort(-exact(reps, q), kind="stable")[:K]
            return np.concatenate([reps] + [ids[starts[j]:ends[j]][:K] for j in best])
    else:
        from usearch.index import Index

        index = Index.restore(path, view=True)
        index.expansion_search = max(param, rerank)

        def candidates(q: np.ndarray) -> np.ndarray:
            return np.asarray(index.search(q, rerank, threads=1).keys, dtype=np.int64)
    load = time.perf_counter() - t0
    found, times = [], []
    for q in queries:
        t = time.perf_counter()
        ids = candidates(q)
        ids = np.unique(ids[ids >= 0])
        scores = exact(ids, q)  # the exact re-ranking (the search reads these rows from the database)
        found.append(ids[np.argsort(-scores, kind="stable")[:K]])
        times.append((time.perf_counter() - t) * 1000)
    after = _status()
    result.put({"found": [f.tolist() for f in found], "p50": float(np.percentile(times, 50)),
                "p95": float(np.percentile(times, 95)), "load": load,
                "rss": after["VmRSS"] - before["VmRSS"], "anon": after["RssAnon"] - before["RssAnon"]})


def run_variant(lib: str, spec: str, param: int, rerank: int, collapse: bool, vectors: np.ndarray,
                queries: np.ndarray, folder: Path) -> dict:
    vectors_path = folder / "vectors.npy"
    if not vectors_path.exists() or np.load(vectors_path, mmap_mode="r").shape != vectors.shape:
        np.save(vectors_path, vectors)
    index_path = folder / f"index-{lib}-{spec.replace(',', '_').replace('{', '').replace('}', '')}"
    build_s = build(lib, spec, vectors, index_path)
    ctx = mp.get_context("spawn")
    queue: mp.Queue = ctx.Queue()
    child = ctx.Process(target=search_child, args=(lib, str(index_path), param, rerank, collapse, str(vectors_path),
                                                       queries, queue))
    child.start()
    while True:  # a child that dies must not leave this run waiting (and holding the bench lock)
        try:
            out = queue.get(timeout=10)
            break
        except queue_module.Empty:
            if not child.is_alive():
                raise RuntimeError(f"search child died (exit {child.exitcode})") from None
    child.join()
    out["build"] = build_s
    out["bytes"] = index_path.stat().st_size / len(vectors)
    index_path.unlink()
    return out


SEARCHER = """
import json, sys, time
t0 = time.perf_counter()
from pathlib import Path
import numpy as np
from video_qa.db import make_engine, unit_of_work
from video_qa.search import Filters
from video_qa.search.index.location import use_index_dir
from video_qa.search.index.registry import vector_candidates
engine = make_engine(sys.argv[1])
use_index_dir(engine, Path(sys.argv[2]))
qs, kth = np.load(sys.argv[3]), np.load(sys.argv[4])
with unit_of_work(engine) as session:
    vector_candidates(session, engine, qs[0], Filters())
    first = time.perf_counter() - t0
    times, hits = [], []
    for q, k in zip(qs, kth):
        t = time.perf_counter()
        got = vector_candidates(session, engine, q, Filters(), 10)
        times.append((time.perf_counter() - t) * 1000)
        hits.append(np.mean([score >= k - 1e-5 for _, score in got]) if got else 0.0)
print(json.dumps({"first_answer_s": round(first, 2), "p50_ms": round(float(np.percentile(times, 50)), 2),
                  "p95_ms": round(float(np.percentile(times, 95)), 2), "recall_bench": round(float(np.mean(hits)), 3)}),
      flush=True)
sys.stdin.readline()  # stay alive (mapped) until told
"""


def measure_archive(url: str, size: int, folder: Path, rebuild: bool) -> dict:
    """The real vector part (``video_qa.search.index``) on a benchmark archive (bench/archive.py):
    index build (``rebuild_index``; skipped when ``folder`` holds one and not ``rebuild``), then
    two fresh searching processes one after the other: the first's first answer (start, open,
    first query), p50 / p95 of ``vector_candidates`` and its tie-aware recall@10 over the
    benchmark's embedded queries, and each one's memory while both hold the index mapped."""
    import subprocess

    from video_qa.db import make_engine
    from video_qa.search.index import generation as index_store
    from video_qa.search.index.build import rebuild_index
    from video_qa.search.index.location import index_folder, use_index_dir

    _, qs, kth, _ = bench_like(size, with_vectors=False)
    engine = make_engine(url)
    use_index_dir(engine, folder)
    build_s = None
    if rebuild or index_store.open_generation(index_folder(engine)) is None:  # type: ignore[arg-type]
        t0 = time.perf_counter()
        rebuild_index(engine)
        build_s = round(time.perf_counter() - t0, 1)
    gen = index_store.open_generation(index_folder(engine))  # type: ignore[arg-type]
    engine.dispose()
    np.save(folder / "queries.npy", qs)
    np.save(folder / "kth.npy", kth)
    args = [sys.executable, "-c", SEARCHER, url, str(folder), str(folder / "queries.npy"), str(folder / "kth.npy")]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    children = []
    try:
        results = []
        for _ in range(2):
            child = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT, env=env)
            children.append(child)
            results.append(json.loads(child.stdout.readline()))  # type: ignore[union-attr]
        memory = [smaps_mb(c.pid) for c in children]
    finally:
        for child in children:
            child.kill()
            child.wait()
    return {"url": url.split("@")[-1], "rows": gen.count if gen else 0, "index": index_store.describe(gen.index) if gen else None,
            "index_mb": round(sum(p.stat().st_size for p in folder.rglob("*-*.*")) / 2**20, 1),
            "build_s": build_s, **results[0], "second_p50_ms": results[1]["p50_ms"],
            "rss_mb": [m["rss"] for m in memory], "pss_mb": [m["pss"] for m in memory],
            "private_mb": [m["anonymous"] for m in memory]}


def main() -> None:
    parser = cli("vector_choice", __doc__)
    parser.add_argument("--archive", action="append", default=[],
                        help="measure video_qa.search.index on this benchmark archive URL instead (repeatable)")
    parser.add_argument("--rebuild", action="store_true", help="--archive: build the index even when kept")
    parser.add_argument("--size", type=int, default=1_000_000, help="bench-like vectors")
    parser.add_argument("--clustered", type=int, default=200_000, help="clustered vectors")
    parser.add_argument("--only", default="", help="comma-separated variant names (default all)")
    args = parser.parse_args()
    if args.archive:
        for url in args.archive:
            folder = CACHE / f"index-{hashlib.sha256(url.encode()).hexdigest()[:8]}"
            print(json.dumps(measure_archive(url, args.size, folder, args.rebuild)), flush=True)
        return
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    variants = [v for v in VARIANTS if not only or v[0] in only]
    like, like_q, kth, _ = bench_like(args.size)
    assert like is not None
    hard, hard_q = clustered(args.clustered)
    hard_truth = [set(np.argsort(-(hard @ q))[:K].tolist()) for q in hard_q]
    exact = like @ like_q.T  # (n, queries): exact similarity of every id
    rows = []
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        folder = Path(tmp)
        for name, lib, spec, param, rerank in variants:
            (folder / "like").mkdir(exist_ok=True)
            (folder / "hard").mkdir(exist_ok=True)
            collapse = "collapse" in name
            a = run_variant(lib, spec, param, rerank, collapse, like, like_q, folder / "like")
            rec_like = np.mean([np.mean(exact[f, i] >= kth[i] - 1e-6) if f else 0.0
                                for i, f in enumerate(a["found"])])
            b = run_variant(lib, spec, param, rerank, collapse, hard, hard_q, folder / "hard")
            rec_hard = np.mean([len(set(f) & t) / K for f, t in zip(b["found"], hard_truth)])
            row = {"variant": name, "param": param, "rerank": rerank, "bytes/vec": round(a["bytes"], 1),
                   "build_s": round(a["build"], 1), "load_s": round(a["load"], 3), "p50_ms": round(a["p50"], 2),
                   "p95_ms": round(a["p95"], 2), "recall_bench": round(float(rec_like), 3),
                   "recall_clustered": round(float(rec_hard), 3), "rss_mb": a["rss"], "anon_mb": a["anon"]}
            print(json.dumps(row), flush=True)
            rows.append(row)
    print(f"\n{args.size:,} bench-like vectors (tie-aware recall@10), {args.clustered:,} clustered (recall@10); "
          f"{machine_line()}; one thread per query")
    print("| variant | nprobe / ef | re-ranked | bytes/vec | build s | open s | p50 ms | p95 ms | recall bench | "
          "recall clustered | RSS MB (private) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r['variant']} | {r['param']} | {r['rerank']} | {r['bytes/vec']} | {r['build_s']} | {r['load_s']} | "
              f"{r['p50_ms']} | {r['p95_ms']} | {r['recall_bench']} | {r['recall_clustered']} | "
              f"{r['rss_mb']} ({r['anon_mb']}) |")


if __name__ == "__main__":
    main()
