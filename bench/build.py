"""Index build benchmark: how a PostgreSQL archive's indexes are built, side by side in one run.

    .venv/bin/python -m bench.build [--moments 1000000] [--rounds 2] [--no-doc]

On the archive of ``bench/archive.py`` (reused when it is there), alternately per round:

- **vector, faiss on every core**: ``build.rebuild_index`` as ``videoqa reindex`` runs it (faiss's
  OpenMP threads: one per core);
- **vector, faiss on one thread**: the same with ``faiss.omp_set_num_threads(1)`` (how the build
  scales with threads);
- **words**: ``words.sync.catch_up`` into an empty folder (tantivy, one indexing thread).

Each into a fresh folder, seconds per build and the ratio of each vector build to the product's
(the ratio is what carries over to another machine and load). Writes its table into
docs/benchmarks.md.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from bench._lib import PG_ADMIN, cli
from bench._lib.report import run_line, write_block
from bench.archive import archive, pool_vectors, sentence_pool

POOL = 4000


def _vector_build(engine, folder: Path, threads: int | None) -> float:  # type: ignore[no-untyped-def]
    import faiss

    from video_qa.search.index import build

    before = faiss.omp_get_max_threads()
    if threads is not None:
        faiss.omp_set_num_threads(threads)
    try:
        t0 = time.perf_counter()
        build.rebuild_index(engine, folder)
        return time.perf_counter() - t0
    finally:
        faiss.omp_set_num_threads(before)


def _words_build(engine, folder: Path) -> float:  # type: ignore[no-untyped-def]
    from video_qa.search.words import sync

    t0 = time.perf_counter()
    assert sync.catch_up(engine, folder) is not None
    return time.perf_counter() - t0


def main() -> None:
    parser = cli("build", __doc__)
    parser.add_argument("--moments", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--no-doc", action="store_true", help="print the table only")
    args = parser.parse_args()
    from video_qa.db import make_engine

    pool = sentence_pool(POOL)
    vectors, _ = pool_vectors(pool)
    made = archive("postgresql", args.moments, pool, vectors, PG_ADMIN)
    engine = make_engine(made.url)
    times: dict[str, list[float]] = {"cores": [], "one": [], "words": []}
    loads = []
    with tempfile.TemporaryDirectory(prefix="bench-build-") as tmp:
        for r in range(args.rounds):
            order = ["cores", "one"] if r % 2 == 0 else ["one", "cores"]
            for kind in [*order, "words"]:
                folder = Path(tmp) / f"{kind}-{r}"
                loads.append(os.getloadavg()[0])
                seconds = (_words_build(engine, folder) if kind == "words"
                           else _vector_build(engine, folder, 1 if kind == "one" else None))
                times[kind].append(seconds)
                print(f"round {r} {kind}: {seconds:.1f} s", flush=True)
                shutil.rmtree(folder, ignore_errors=True)
    med = {k: float(np.median(v)) for k, v in times.items()}
    lines = ["| build | seconds (median of rounds) | each round | vs the product's |",
             "| --- | ---: | --- | ---: |"]
    cores = os.cpu_count() or 1
    names = {"cores": f"vector, faiss on {cores} threads (the product)", "one": "vector, faiss on one thread",
             "words": "words (tantivy, one thread)"}
    for k in ("cores", "one", "words"):
        ratio = f"x{med[k] / med['cores']:.2f}" if k != "words" else "-"
        lines.append(f"| {names[k]} | {med[k]:.1f} | {', '.join(f'{t:.1f}' for t in times[k])} | {ratio} |")
    body = (f"{run_line('build', '--moments', str(args.moments), '--rounds', str(args.rounds))}. PostgreSQL archive "
            f"of {args.moments:,} moments (`bench/archive.py`), each build into a fresh folder, the two vector builds "
            f"alternating first; load average before each build {min(loads):.1f}-{max(loads):.1f}.\n\n"
            + "\n".join(lines))
    print(body)
    if not args.no_doc:
        write_block("build", "Index builds", body)


if __name__ == "__main__":
    main()
