"""``python -m bench.ingest``: make the files of the asked rows, measure each row, keep the
results in bench/.cache/ingest/results.json and write the table (bench/ingest/__init__.py says
what is measured)."""

from __future__ import annotations

import json
import time
from typing import Any

from bench._lib import cli
from bench._lib.report import write_block
from bench.ingest import __doc__ as DOC
from bench.ingest.files import CACHE, make_video
from bench.ingest.measure import EXACT_OFF, ROWS, VISUAL_OFF, measure_row
from bench.ingest.table import body, cuts_body, error_cell, found_cell

RESULTS = CACHE / "results.json"


def main() -> None:
    parser = cli("ingest", DOC)
    parser.add_argument("--rows", default=",".join(ROWS), help=f"comma-separated rows (default all: {','.join(ROWS)})")
    parser.add_argument("--generate-only", action="store_true", help="only make the files of these rows")
    parser.add_argument("--no-doc", action="store_true", help="print the table, do not write docs/benchmarks.md")
    parser.add_argument("--keep", action="store_true", help="keep each run's data folder and logs")
    parser.add_argument("--visual", choices=("on", "off", "both"), default="on",
                        help="visual moments as the default settings make them (on), turned off "
                             f"(VIDEOQA_VISUAL_MODEL=off: rows named 'ROW{VISUAL_OFF}'), or each row both ways, "
                             "on then off (default on)")
    parser.add_argument("--exact-cuts", choices=("on", "off", "both"), default="on",
                        help="scene cuts put on their frames as the default settings do (on), left at their "
                             f"samples (VIDEOQA_EXACT_CUTS=false: rows named 'ROW{EXACT_OFF}'), or each row both "
                             "ways, on then off, into the table 'ingest-cuts' (default on)")
    args = parser.parse_args()
    names = [n.strip() for n in args.rows.split(",") if n.strip()]
    unknown = [n for n in names if n not in ROWS]
    if unknown:
        parser.error(f"unknown rows {unknown}; choose from {','.join(ROWS)}")
    if args.generate_only:
        for spec in dict.fromkeys((ROWS[n].video, ROWS[n].minutes) for n in names):
            began = time.perf_counter()
            path, truth = make_video(*spec)
            print(f"{path.name}: ready ({len(truth)} truth items, {time.perf_counter() - began:.0f} s)", flush=True)
        return
    for name in names:  # every file first, so that generation never runs inside a measurement
        make_video(ROWS[name].video, ROWS[name].minutes)
    stored = {r["row"]: r for r in json.loads(RESULTS.read_text())} if RESULTS.exists() else {}
    states = {"on": [True], "off": [False], "both": [True, False]}
    pairs: list[tuple[dict[str, Any], dict[str, Any]]] = []
    ran: list[dict[str, Any]] = []
    for name, visual in ((n, v) for n in names for v in states[args.visual]):
        measured = [measure_row(ROWS[name], args.keep, visual, exact) for exact in states[args.exact_cuts]]
        if len(measured) == 2:
            pairs.append((measured[0], measured[1]))
        for result in measured:
            report(result, stored)
            ran.append(result)
    if pairs:
        text = cuts_body(pairs)
        print(text)
        if not args.no_doc:
            write_block("ingest-cuts", "Ingest: exact cut timing on and off", text)
    if not [r for r in ran if r["video"] != "cuts" and r.get("exact_cuts", True)]:
        return  # the cut-heavy row and rows with exact cuts off have no place in the main table
    ordered = [stored[n] for base in ROWS for n in (base, base + VISUAL_OFF)
               if n in stored and ROWS[base].video != "cuts"]
    text = body(ordered)
    print(text)
    if not args.no_doc:
        write_block("ingest", "Ingest pipeline", text)


def report(result: dict[str, Any], stored: dict[str, dict[str, Any]]) -> None:
    """Print one measured row and keep it in the results file."""
    t, c = result["truth"], result["cuts"]
    nan = float("nan")
    print(f"{result['row']}: wall {result['wall']:.1f} s, x{result['realtime']:.2f} realtime, "
          f"{result['ratio']:.2f}x floor, CPU {result['cpu_percent']:.0f} % "
          f"(rusage {result.get('rusage_cpu_percent', nan):.0f} %), peak RSS {result['peak_rss_mb']:.0f} MB "
          f"(rusage max {result.get('rusage_maxrss_mb', nan):.0f}), {found_cell(t)}, "
          f"median start error {error_cell(t)}, visual moments {result.get('visual_moments')}, "
          f"cuts stored {c['stored']}, known cuts covered {c['covered']}/{c['items']}", flush=True)
    stored[result["row"]] = result
    RESULTS.write_text(json.dumps(list(stored.values()), indent=1))


if __name__ == "__main__":
    main()
