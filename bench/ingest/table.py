"""The ingest benchmark's tables for docs/benchmarks.md: one row per measured file (floor, wall,
ratio against its target, CPU, memory, model load, truth found) and the stage seconds per row;
and exact cut timing on against off, measured side by side in one run (``cuts_body``)."""

from __future__ import annotations

import statistics
from typing import Any

from bench._lib.report import run_line
from bench.ingest.measure import ROWS

TARGETS = {"talk": 2.5, "busy": 6.0}  # ingest wall over the decode floor


def found_cell(truth: dict[str, Any]) -> str:
    cells = []
    for kind in ("text", "speech"):
        t = truth[kind]
        if t["items"]:
            cells.append(f"{kind} {100 * t['found'] / t['items']:.0f} % ({t['found']}/{t['items']})")
    return ", ".join(cells)


def error_cell(truth: dict[str, Any]) -> str:
    return " / ".join(f"{statistics.median(truth[k]['errors']):.2f}" if truth[k]["errors"] else "–"
                      for k in ("text", "speech"))


def target_cell(r: dict[str, Any]) -> str:
    if r["tiny"]:
        return "informative"
    limit = TARGETS[r["video"]]
    return f"≤ {limit:g}: {'met' if r['ratio'] <= limit else 'not met'}"


def table(results: list[dict[str, Any]]) -> str:
    from video_qa.pipeline.clock import STAGES

    lines = ["| row | file | mode | decode floor s | ingest wall s | realtime | ratio to floor (target) | avg CPU % | "
             "peak RSS MB | model load s | truth found (±2 s) | median start error s text / speech | visual moments | "
             "measured |",
             "| --- | --- | --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | --- | ---: | ---: | --- |"]
    for r in results:
        mode = r["mode"] + (" + tiny vision twin" if r["tiny"] else "")
        load = f"{r['model_load']:.1f}" if r.get("model_load") is not None else "–"
        lines.append(f"| {r['row']} | {r['file']} ({r['duration'] / 60:.0f} min) | {mode} | {r['floor']:.1f} | "
                     f"{r['wall']:.1f} | x{r['realtime']:.2f} | {r['ratio']:.2f} ({target_cell(r)}) | "
                     f"{r['cpu_percent']:.0f} | {r['peak_rss_mb']:.0f} | {load} | {found_cell(r['truth'])} | "
                     f"{error_cell(r['truth'])} | {r.get('visual_moments', '–')} | {r['measured']}, {r['commit']} |")
    stages = sorted({s for r in results for s in r["stages"]},
                    key=lambda s: (STAGES.index(s) if s in STAGES else len(STAGES), s))
    lines += ["", "| row | work items | " + " | ".join(f"{s} s" for s in stages) + " |",
              "| --- | ---: |" + " ---: |" * len(stages)]
    for r in results:
        lines.append(f"| {r['row']} | {r['items']} | " + " | ".join(f"{r['stages'].get(s, 0.0):.1f}" for s in stages)
                     + " |")
    by = {r["row"]: r for r in results}
    if "talk10" in by and "talk120" in by:
        grow = by["talk120"]["peak_rss_mb"] / by["talk10"]["peak_rss_mb"] - 1
        lines += ["", f"Peak RSS, 2-hour talk against 10-minute talk: {grow * 100:+.1f} % (target within ±10 %)."]
    return "\n".join(lines)


def body(results: list[dict[str, Any]]) -> str:
    """The whole ingest block: how it was run, the targets, what the files and columns are, the tables."""
    return (
        f"{run_line('ingest')} (rows: `--rows {','.join(ROWS)}`; each row keeps the time and commit it was "
        "measured at).\n\n"
        "**Targets (issue 19):** ingest wall ≤ 2.5× the decode floor for a talk, ≤ 6× for busy video; average CPU "
        "≥ 180 % (both cores); peak RSS ≤ 1.5 GB and the 2-hour talk within 10 % of the 10-minute one; the tiny "
        "vision twin row is informative, not a target.\n\n"
        "Files: generated 1280x720 30 fps H.264 (x264 CRF 23, GOP 250, 3 B-frames) with AAC audio. *talk*: white "
        "slides whose big title changes every 31-60 s at known times, bullet lines, a 240x135 moving inset (gradients"
        " and a walking shape, no text), an espeak-ng sentence about every 70 s; the 1-h and 2-h files are the "
        "10-minute unit concatenated (`-c copy`). *busy*: full-frame motion (test patterns, cellular life, gradients,"
        " 7 hard cuts) with 12 boxed captions and 4 sentences at known times. Each row: the whole-file decode floor "
        "(`ffmpeg -i f -f null -`, wall) measured just before its ingest; `videoqa ingest --wait` with default "
        "settings (no vision-language model unless said; Whisper tiny.en, rapidocr, MiniLM; visual moments with their labels from EfficientNet-Lite0 and MTCNN unless the row says visual off: VIDEOQA_VISUAL_MODEL=off), a fresh data folder, "
        "model loading included. Server: a fresh PostgreSQL database and Redis db, one `videoqa worker -Q cpu` "
        "(prefork, concurrency 1) started and alive (heartbeat written) before the clock starts. Avg CPU % = CPU "
        "seconds of the whole process tree (the ingest process and its children; in server mode also the worker and "
        "its pool child) sampled with psutil every 0.5 s, over the wall time. Peak RSS: the largest RSS sampled of "
        "the ingest process (server: of the largest worker process). Model load s: imports plus the first call of "
        "each configured backend in a separate fresh process with the same settings (the pipeline loads models "
        "lazily, inside the wall time, and logs no end time). Truth found: slide titles / captions as `text` moments "
        "and sentences as `speech` moments (bench/moments.py's matching) starting within ±2 s of the known start. "
        "Stage seconds are summed "
        "over all parts from the work ledger (work done in parallel adds up).\n\n" + table(results)
    )


def _median(values: list[float]) -> str:
    return f"{statistics.median(values):.2f}" if values else "–"


def cuts_table(pairs: list[tuple[dict[str, Any], dict[str, Any]]]) -> str:
    """Per (on, off) pair of one row measured both ways in one run: wall, CPU seconds, decode stage
    and their ratios, and the known cuts the stored ones cover with their median error and uncertainty."""
    lines = ["| row | file | exact cuts | load average before | decode floor s | ingest wall s | wall on / off | "
             "CPU s | CPU on / off | decode stage s | decode on / off | cuts stored | known cuts covered | "
             "median error s | median uncertainty s | measured |",
             "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | --- |"]
    for on, off in pairs:
        for r, state in ((on, "on"), (off, "off")):
            c = r["cuts"]
            wall = f"{on['wall'] / off['wall']:.2f}" if r is on else ""
            cpu = f"{on['cpu_seconds'] / off['cpu_seconds']:.2f}" if r is on and off["cpu_seconds"] else ""
            decode = (f"{on['stages'].get('decode', 0.0) / off['stages']['decode']:.2f}"
                      if r is on and off["stages"].get("decode") else "")
            covered = f"{c['covered']}/{c['items']}" if c["items"] else "–"
            lines.append(f"| {r['base']} | {r['file']} ({r['duration'] / 60:.0f} min) | {state} | "
                         f"{r['load_average']:.2f} | {r['floor']:.1f} | {r['wall']:.1f} | {wall} | "
                         f"{r['cpu_seconds']:.1f} | {cpu} | "
                         f"{r['stages'].get('decode', 0.0):.1f} | {decode} | {c['stored']} | {covered} | "
                         f"{_median([abs(e) for e in c['errors']])} | {_median(c['uncertainties'])} | "
                         f"{r['measured']}, {r['commit']} |")
    return "\n".join(lines)


def cuts_body(pairs: list[tuple[dict[str, Any], dict[str, Any]]]) -> str:
    """The ``ingest-cuts`` block: how it was run, what the file and columns are, the table."""
    rows = ",".join(dict.fromkeys(on["base"] for on, _ in pairs))
    return (
        f"{run_line('ingest', '--rows', rows, '--exact-cuts', 'both')}.\n\n"
        "Each row ingested twice in one run, one right after the other, each in a fresh data folder with default "
        "settings (visual moments on): exact cut timing on (`VIDEOQA_EXACT_CUTS=true`, the default: "
        "`analysis.cut_frames.exact_cuts` decodes the frames between the sample before each cut and the sample "
        "after it and gives the cut at its first frame), then off (a cut at the sample after it, uncertain back to "
        "the sample before). *cuts4*: 4 minutes, 1280x720 30 fps H.264 (x264 superfast, CRF 23, GOP 250, 3 "
        "B-frames), no audio, 68 hard cuts 2.2-5 s apart (shots of the busy unit's moving pictures between flat "
        "colours and still test cards; every cut on a frame, 8 of them on an even second, where a sample lies). Wall on / off and decode on / off "
        "are the ratios that matter (absolute seconds move with the shared machine's load; the load average is "
        "the 1-minute one just before each ingest); CPU on / off (CPU seconds of the ingest's process tree, "
        "bench._lib.monitor) moves least with others' work on the machine, wall the most. The decode stage is summed over all parts from the work "
        "ledger, exact cuts included. Known cuts covered: a stored cut `[t, u]` with `t - u < cut <= t`; error "
        "`t - cut` of the covering cut.\n\n" + cuts_table(pairs)
    )
