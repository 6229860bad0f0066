"""Search benchmark: archives of 10k to 10M moments on SQLite and PostgreSQL, searched by fresh
processes through the persisted vector index, side by side in one run.

    .venv/bin/python -m bench.search [--archives sqlite:10000,postgresql:10000,...] [--queries 200]

Archives come from ``bench/archive.py`` (template sentences embedded once with the bundled MiniLM,
bulk-loaded, kept between runs with their build time). Per archive:

- **index build**: ``videoqa reindex``'s function on a fresh index folder (seconds);
- **first answer**: a new Python process (interpreter, imports, opening the index, the query
  embedder) until its first search returns, measured from before the process was spawned;
- **latency**: the same process then runs the queries (pool phrases, word subsets, question-like
  salads); one hybrid ``search()`` each (query embedding, full text, vectors, fusion, row fetch);
- **recall@10 of the vector part**, tie-aware: the archive repeats a few thousand sentences, so the
  exact 10th-best similarity (from the pool's similarities and each sentence's count,
  ``archive.exact_kth``) decides whether a returned moment belongs to the exact top 10;
- **memory**: the first process's RSS and PSS after its queries, and both processes' while a
  second process searches the same index (they share the index file through the page cache).

``--visual [MODEL]`` measures the search with both spaces: the archive gets a visual space
(``archive.VisualSpec``: every fifth moment visual, with an image vector of MODEL's dimension; its
own archive, data folder and indexes, built by ``videoqa reindex``), and the searching process runs
each query twice, alternately without and with the visual query (``search(visual=...)``: MODEL's
text tower, then the visual space's index and floor), so the two latencies and their ratio come
from one process in one run. MODEL defaults to ``random:ViT-B-32`` (open_clip's ViT-B/32 with
random weights: the real text tower's cost; its vectors mean nothing, so few visual candidates
pass the floor).

Writes its table into docs/benchmarks.md (the visual run into its own block).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np

from bench._lib import CACHE, PG_ADMIN, ROOT, child_env, cli
from bench._lib.report import run_line, write_block
from bench.archive import VisualSpec, archive, exact_kth, pool_vectors, queries, sentence_pool

POOL = 4000
DEFAULT = "sqlite:10000,postgresql:10000,sqlite:100000,postgresql:100000,sqlite:1000000,postgresql:1000000," \
          "postgresql:10000000"


def data_dir(backend: str, size: int, visual: bool = False) -> Path:
    return CACHE / f"data-{backend}-{size}{'-visual' if visual else ''}"


def settings_env(url: str, folder: Path) -> dict[str, str]:
    return {**child_env(database_url=url, data_dir=folder, embed_model="bundled"), "PYTHONPATH": str(ROOT)}


# ---- inside a searching process

def searcher(args: argparse.Namespace) -> None:
    """One searching process: first answer, latency, recall; then waits for ``--hold`` to appear
    and reports its memory once more (while another process searches the same index)."""
    import psutil

    from video_qa.config import load_settings
    from video_qa.db import engine_for, unit_of_work
    from video_qa.analyzers import get_embedder
    from video_qa.search import Filters, VisualQuery, search
    from video_qa.search.index.registry import vector_candidates

    settings = load_settings()
    engine = engine_for(settings.resolved_database_url)
    embedder = get_embedder(settings)
    visual = None
    if args.visual_model:
        from model.vision.clip import ImageTextEmbedder

        tower = ImageTextEmbedder(args.visual_model, settings.models_dir)
        visual = VisualQuery(tower.name, tower)
    qs = json.loads(Path(args.queries_file).read_text())
    with unit_of_work(engine) as session:
        search(session, engine, qs[0], embedder, visual=visual)
    first = time.time() - args.spawned
    times, both = [], []
    for n, q in enumerate(qs):
        modes = [(times, None)] if visual is None else [(times, None), (both, visual)][::1 if n % 2 else -1]
        for into, mode in modes:  # alternately first: neither mode always finds the caches warm
            with unit_of_work(engine) as session:
                t = time.perf_counter()
                search(session, engine, q, embedder, visual=mode)
                into.append((time.perf_counter() - t) * 1000)
    recall = None
    if args.pool_file:
        pool_vecs = np.load(args.pool_file)
        counts = np.load(args.counts_file)
        got = total = 0
        for q in qs:
            v = embedder.encode_query(q)
            kth = exact_kth(pool_vecs @ v, counts, 10)
            with unit_of_work(engine) as session:
                found = vector_candidates(session, engine, v, Filters(), 10)
            got += sum(1 for _, s in found if s >= kth - 1e-4)
            total += 10
        recall = got / total
    me = psutil.Process()

    def memory() -> dict[str, float]:
        info = me.memory_full_info()
        return {"rss_mb": info.rss / 2**20, "pss_mb": getattr(info, "pss", 0) / 2**20}

    out = {"first_s": first, "p50": float(np.percentile(times, 50)), "p95": float(np.percentile(times, 95)),
           "recall": recall, "alone": memory()}
    if both:
        out.update({"p50_visual": float(np.percentile(both, 50)), "p95_visual": float(np.percentile(both, 95))})
    if args.hold:
        Path(args.out).write_text(json.dumps(out))
        hold = Path(args.hold)
        while not hold.exists():
            time.sleep(0.1)
        out["shared"] = memory()
    Path(args.out).write_text(json.dumps(out))


# ---- the run

def run_searcher(url: str, folder: Path, files: dict[str, Path], out: Path, hold: Path | None,
                 recall: bool, visual_model: str | None = None, words: bool = True) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "bench.search", "--searcher", "--spawned", repr(time.time()), "--out", str(out),
           "--queries-file", str(files["queries"])]
    if visual_model:
        cmd += ["--visual-model", visual_model]
    if recall:
        cmd += ["--pool-file", str(files["pool"]), "--counts-file", str(files["counts"])]
    if hold is not None:
        cmd += ["--hold", str(hold)]
    env = settings_env(url, folder)
    env["VIDEOQA_WORDS_INDEX"] = "true" if words else "false"
    return subprocess.Popen(cmd, env=env, cwd=ROOT)


def wait_file(path: Path, proc: subprocess.Popen) -> dict:
    while not path.exists():
        if proc.poll() is not None and not path.exists():
            raise RuntimeError(f"searcher exited with {proc.returncode}")
        time.sleep(0.2)
    time.sleep(0.2)
    return json.loads(path.read_text())


def visual_spec(visual_model: str, folder: Path) -> VisualSpec:
    """The archive's visual space for ``visual_model``: its name and dimension, read from its export
    (made here once, into the data folder's models, where the searching processes find it)."""
    from model.vision.clip import ImageTextEmbedder

    tower = ImageTextEmbedder(visual_model, folder / "models")
    return VisualSpec(tower.name, tower.dimension)


def measure(backend: str, size: int, pool: list[str], vectors: np.ndarray, qs: list[str], reuse: bool,
            visual_model: str | None = None) -> dict:
    folder = data_dir(backend, size, visual=bool(visual_model))
    folder.mkdir(parents=True, exist_ok=True)
    spec = visual_spec(visual_model, folder) if visual_model else None
    made = archive(backend, size, pool, vectors, PG_ADMIN, visual=spec)
    tmp = folder / "run"
    tmp.mkdir(exist_ok=True)
    files = {"queries": tmp / "queries.json", "pool": tmp / "pool.npy", "counts": tmp / "counts.npy"}
    files["queries"].write_text(json.dumps(qs))
    np.save(files["pool"], vectors)
    np.save(files["counts"], made.counts)
    env = settings_env(made.url, folder)
    marker = folder / "reindex.json"  # how long this archive's index took to build, kept with it
    if reuse and marker.exists() and any((folder / "index").glob("*/manifest.json")):
        index_s = float(json.loads(marker.read_text())["seconds"])
        # the words index (PostgreSQL) brought up to the archive: nothing to add when it is there
        words = json.loads(subprocess.run([str(Path(sys.executable).parent / "videoqa"), "reindex", "--words-only",
                                           "--json"], env=env, check=True, capture_output=True, text=True).stdout
                           .strip().splitlines()[-1])["words"]
    else:
        t0 = time.perf_counter()
        out = subprocess.run([str(Path(sys.executable).parent / "videoqa"), "reindex", "--json"], env=env, check=True,
                             capture_output=True, text=True).stdout
        index_s = time.perf_counter() - t0
        words = json.loads(out.strip().splitlines()[-1])["words"]
        marker.write_text(json.dumps({"seconds": index_s, "date": str(date.today())}))
    words_s = words["seconds"] if words else None
    # the query embedder's ONNX export, made once per data folder as `serve` does (not timed)
    subprocess.run([str(Path(sys.executable).parent / "videoqa"), "models", "--export-query"], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    for f in tmp.glob("out-*.json"):
        f.unlink()
    hold = tmp / "hold"
    hold.unlink(missing_ok=True)
    first = run_searcher(made.url, folder, files, tmp / "out-a.json", hold, recall=True, visual_model=visual_model)
    a = wait_file(tmp / "out-a.json", first)
    second = run_searcher(made.url, folder, files, tmp / "out-b.json", None, recall=False)
    second.wait()
    b = json.loads((tmp / "out-b.json").read_text())
    hold.touch()
    first.wait()
    a = json.loads((tmp / "out-a.json").read_text())
    hold.unlink(missing_ok=True)
    gin = None
    if backend == "postgresql" and not visual_model:  # the same queries, full text by the database's GIN index
        third = run_searcher(made.url, folder, files, tmp / "out-c.json", None, recall=False, words=False)
        third.wait()
        gin = json.loads((tmp / "out-c.json").read_text())
    index_mb = sum(p.stat().st_size for p in (folder / "index").rglob("*") if p.is_file()) / 2**20
    return {"size": size, "backend": backend, "build": made.build_seconds, "index": index_s, "index_mb": index_mb,
            "first": a["first_s"], "p50": a["p50"], "p95": a["p95"], "recall": a["recall"],
            "rss": a["alone"]["rss_mb"], "rss_two": max(a["shared"]["rss_mb"], b["alone"]["rss_mb"]),
            "pss_two": a["shared"]["pss_mb"] + b["alone"]["pss_mb"], "p95_second": b["p95"], "words_s": words_s,
            "p95_gin": gin["p95"] if gin else None, "p50_gin": gin["p50"] if gin else None,
            "p50_visual": a.get("p50_visual"), "p95_visual": a.get("p95_visual"), "visual": spec}


def main() -> None:
    parser = cli("search", __doc__)
    parser.add_argument("--archives", default=DEFAULT, help="comma-separated BACKEND:MOMENTS archives")
    parser.add_argument("--queries", type=int, default=200, help="searches per archive")
    parser.add_argument("--visual", nargs="?", const="random:ViT-B-32", metavar="MODEL",
                        help="with the visual space: each query also searched with MODEL's text tower "
                             "(default random:ViT-B-32); see above")
    parser.add_argument("--no-doc", action="store_true", help="print the table only (docs/benchmarks.md unchanged)")
    parser.add_argument("--reuse-index", action="store_true",
                        help="keep an archive's index from an earlier run (its build time is the one recorded then)")
    hidden = argparse.SUPPRESS  # the searching child process's own options
    parser.add_argument("--searcher", action="store_true", help=hidden)
    parser.add_argument("--spawned", type=float, default=0.0, help=hidden)
    parser.add_argument("--out", help=hidden)
    parser.add_argument("--queries-file", help=hidden)
    parser.add_argument("--pool-file", help=hidden)
    parser.add_argument("--counts-file", help=hidden)
    parser.add_argument("--hold", help=hidden)
    parser.add_argument("--visual-model", help=hidden)
    args = parser.parse_args()
    if args.searcher:
        searcher(args)
        return
    pool = sentence_pool(POOL)
    vectors, _ = pool_vectors(pool)
    qs = queries(pool, args.queries)
    rows = []
    for entry in args.archives.split(","):
        backend, size = entry.split(":")
        row = measure(backend, int(size), pool, vectors, qs, args.reuse_index, args.visual)
        print(row, flush=True)
        rows.append(row)
    if args.visual:
        report_visual(rows, len(qs), write=not args.no_doc)
        return
    smallest = {}
    for r in rows:
        smallest.setdefault(r["backend"], r)
    lines = ["| moments | database | archive build s | index build s (words) | index on disk MB | first answer s | "
             "p50 ms | p95 ms | p95 vs smallest | GIN instead: p50 / p95 ms | recall@10 | RSS MB | "
             "two processes: max RSS MB / PSS sum MB |",
             "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for r in rows:
        words = f" ({r['words_s']:.1f})" if r.get("words_s") is not None else ""
        gin = f"{r['p50_gin']:.1f} / {r['p95_gin']:.1f}" if r.get("p95_gin") is not None else "-"
        lines.append(
            f"| {r['size']:,} | {r['backend']} | {r['build']:.0f} | {r['index']:.1f}{words} | {r['index_mb']:.0f} | "
            f"{r['first']:.1f} | {r['p50']:.1f} | {r['p95']:.1f} | x{r['p95'] / smallest[r['backend']]['p95']:.2f} | "
            f"{gin} | {r['recall']:.3f} | {r['rss']:.0f} | {r['rss_two']:.0f} / {r['pss_two']:.0f} |")
    body = (
        f"{run_line('search', *sys.argv[1:])}. Per archive, a fresh searching process answers {len(qs)} hybrid searches "
        "(query embedding + full text + vectors + fusion + row fetch) through the persisted index; "
        f"{POOL} distinct template sentences embedded with the bundled MiniLM, moments in videos of 1000. "
        "Archive build = bulk load with the text index (kept between runs; `bench/archive.py`); index build = "
        "`videoqa reindex` (in brackets: of it, the words index, PostgreSQL's full text in a tantivy folder: its "
        "build, or with `--reuse-index` the catch-up and check of the kept folder); "
        "GIN instead = a third process with `VIDEOQA_WORDS_INDEX=false`, the same queries ranked by the "
        "database's GIN index as before the words index; first answer = from spawning the process to its first result; recall@10 of the vector "
        "part against exact search, tie-aware; memory after the queries, then while a second process searches "
        "the same index. Targets: p95 <= 25 ms at 1M (SQLite and PostgreSQL), <= 50 ms at 10M (PostgreSQL); "
        "recall >= 0.95; RSS <= 1.5 GB at 10M; first answer <= 5 s at 1M, <= 15 s at 10M.\n\n" + "\n".join(lines))
    print(body)
    if not args.no_doc:
        write_block("search", "Search", body)


def report_visual(rows: list[dict], queries_run: int, write: bool = True) -> None:
    """The visual run's table: each archive's p50 / p95 without and with the visual space."""
    lines = ["| moments | database | visual moments | image model (dim) | p50 ms text | p50 ms both | "
             "p95 ms text | p95 ms both | p95 both / text |", "| ---: | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        spec = r["visual"]
        lines.append(f"| {r['size']:,} | {r['backend']} | {r['size'] // spec.share:,} | {spec.model} ({spec.dim}) | "
                     f"{r['p50']:.1f} | {r['p50_visual']:.1f} | {r['p95']:.1f} | {r['p95_visual']:.1f} | "
                     f"x{r['p95_visual'] / r['p95']:.2f} |")
    body = (f"{run_line('search')}. `python -m bench.search --visual`: per archive one fresh searching process "
            f"runs {queries_run} queries, each twice, alternately without and with the visual query (the image "
            "model's text tower, the visual space's persisted index, its floor, fusion). Every fifth moment is "
            "visual, its image vector from a pool of 2,000 clustered vectors (`bench/archive.py` `VisualSpec`). "
            "Target: p95 with both spaces at most 1.2 x the text-only p95 at 1M moments.\n\n" + "\n".join(lines))
    print(body)
    if write:
        write_block("search-visual", "Search with the visual space", body)


if __name__ == "__main__":
    main()
