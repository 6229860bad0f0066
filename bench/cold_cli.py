"""Cold command-line start: a new ``videoqa videos`` process against a new ``videoqa search``
process on the same archive (issue 20's target: search <= 2.5x videos).

    flock /tmp/bench.lock .venv/bin/python -m bench.cold_cli DATA_DIR [--runs 5] [--build]

``DATA_DIR`` is a VideoQA data folder (``VIDEOQA_DATA_DIR``: its SQLite database, and the query
embedder's exported graph under ``models/``). ``--build`` first makes a small archive there when it
holds no database: the eight evaluation videos of ``tests/factories/moments.py`` (about a hundred
moments) embedded with the bundled MiniLM, then ``videoqa models --export-query`` (skip that with
``--no-export`` to measure the fallback: then the first search exports).

Each run starts the installed ``videoqa`` console script as a new process; the two commands
alternate, after one unmeasured run of each (so both meet the same page cache). Printed: a
markdown table of wall times (median, min, max) and the ratio of the medians, and whether the
search process imported any heavy package (a separate, unmeasured run that lists ``sys.modules``).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench._lib import ROOT, child_env, cli
from bench._lib.report import run_line, write_block

PYTHON = Path(sys.executable)
VIDEOQA = PYTHON.parent / "videoqa"
QUERY = "when was the marketing budget approved"
HEAVY = ("torch", "transformers", "sentence_transformers", "gradio", "celery", "faster_whisper", "rapidocr", "av")
# lists the modules a search loaded, as the console script runs it (main(), then exit)
SNIPPET = ("import sys; from videoqa_cli.main import main; rc = main(sys.argv[1:]); "
           "print('MODULES ' + ' '.join(sorted(m for m in sys.modules if '.' not in m))); sys.exit(rc)")


DATABASE_URL: str | None = None  # --database-url: an archive kept outside the data folder (bench/archive.py)


def environment(data_dir: Path) -> dict[str, str]:
    settings: dict[str, object] = {"data_dir": data_dir, "log_level": "WARNING"}
    if DATABASE_URL:
        settings["database_url"] = DATABASE_URL
    return child_env(**settings)


def build(data_dir: Path, export: bool) -> None:
    """The evaluation videos' moments in a new SQLite archive at ``data_dir`` (kept if present)."""
    if (data_dir / "videoqa.db").exists():
        print(f"archive {data_dir} exists; kept", file=sys.stderr)
        return
    started = time.perf_counter()
    script = """
from tests.factories.moments import EVAL_VIDEOS, write_moments
from tests.factories.rows import make_video
from model.embeddings.heavy import SentenceTransformerEmbedder
from video_qa.analyzers import embed_source
from video_qa.config import get_settings
from video_qa.db import engine_for, unit_of_work
from video_qa.migrate import upgrade
settings = get_settings()
upgrade(settings.resolved_database_url)
embedder = SentenceTransformerEmbedder(embed_source(settings).location)
with unit_of_work(engine_for(settings.resolved_database_url)) as session:
    for name, specs in EVAL_VIDEOS.items():
        write_moments(session, make_video(session, title=name, status="ready", duration=600.0), specs, embedder)
"""
    data_dir.mkdir(parents=True, exist_ok=True)
    subprocess.run([str(PYTHON), "-c", script], env=environment(data_dir), check=True, cwd=ROOT)
    if export:
        subprocess.run([str(VIDEOQA), "models", "--export-query"], env=environment(data_dir), check=True, cwd=ROOT,
                       stdout=subprocess.DEVNULL)
    print(f"archive built in {time.perf_counter() - started:.1f} s", file=sys.stderr)


def timed(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {done.returncode}: {done.stderr[-2000:]}")
    return elapsed


def heavy_modules(env: dict[str, str], query: str) -> list[str]:
    done = subprocess.run([str(PYTHON), "-c", SNIPPET, "search", query, "--json"], env=env, cwd=ROOT,
                          capture_output=True, text=True, check=True)
    line = next(x for x in done.stdout.splitlines() if x.startswith("MODULES "))
    loaded = set(line.split()[1:])
    return [m for m in HEAVY if m in loaded]


def measure(data_dir: Path, runs: int, query: str) -> dict[str, list[float]]:
    env = environment(data_dir)
    commands = {"videoqa videos": [str(VIDEOQA), "videos"], f'videoqa search "{query}"': [str(VIDEOQA), "search", query]}
    for argv in commands.values():  # unmeasured: the page cache, and a first search's export if any
        timed(argv, env)
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, argv in commands.items():
            times[name].append(timed(argv, env))
    return times


def table(times: dict[str, list[float]], heavy: list[str], data_dir: Path) -> str:
    (videos_name, videos), (search_name, search) = times.items()
    ratio = statistics.median(search) / statistics.median(videos)
    lines = [
        f"{run_line('cold_cli', 'DATA_DIR', '[--database-url URL]', '--doc')}. Cold CLI start, {len(videos)} runs "
        f"each, new process per run, archive {data_dir.name}.",
        "",
        "| command | median s | min s | max s |",
        "|---|---:|---:|---:|",
    ]
    for name, values in times.items():
        lines.append(f"| `{name}` | {statistics.median(values):.2f} | {min(values):.2f} | {max(values):.2f} |")
    lines += ["", f"search / videos (medians): **{ratio:.2f}x** (target <= 2.5x)",
              f"heavy packages imported by the search process: {', '.join(heavy) if heavy else 'none'}"]
    return "\n".join(lines)


def main() -> None:
    parser = cli("cold_cli", __doc__)
    parser.add_argument("data_dir", type=Path, help="a VideoQA data folder (VIDEOQA_DATA_DIR)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--query", default=QUERY)
    parser.add_argument("--build", action="store_true", help="make a small archive there first if it has none")
    parser.add_argument("--no-export", action="store_true", help="with --build: do not export the query graph")
    parser.add_argument("--json", action="store_true", help="also print the raw times as JSON")
    parser.add_argument("--database-url", help="the archive's database when it is not the data folder's SQLite file")
    parser.add_argument("--doc", action="store_true", help="write the table into docs/benchmarks.md (cold-cli block)")
    args = parser.parse_args()
    global DATABASE_URL
    DATABASE_URL = args.database_url
    data_dir = args.data_dir.expanduser().resolve()
    if args.build:
        build(data_dir, export=not args.no_export)
    times = measure(data_dir, args.runs, args.query)
    heavy = heavy_modules(environment(data_dir), args.query)
    body = table(times, heavy, data_dir)
    print(body)
    if args.doc:
        write_block("cold-cli", "Cold command-line start (`bench/cold_cli.py`)", body)
    if args.json:
        print(json.dumps(times))


if __name__ == "__main__":
    main()
