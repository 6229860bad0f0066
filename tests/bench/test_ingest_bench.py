"""The ingest benchmark's own parts (bench/ingest/): the ground truth of the generated files, the
process-tree monitor (bench/_lib/monitor.py) and the table it writes into docs/benchmarks.md."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench._lib import report
from bench._lib.monitor import TreeMonitor
from bench.ingest import table as ingest_table
from bench.ingest import truth


def test_talk_truth_has_unique_titles_every_31_to_60_seconds() -> None:
    lengths = {text: 3.0 for _, text in truth.TALK_SPEECH}
    items = truth.unit_truth("talk", lengths)
    titles = [t for t in items if t.kind == "text"]
    assert len({t.text for t in titles}) == len(titles) == 14
    starts = [t.start for t in titles]
    assert starts[0] == 0.0 and all(31 <= b - a <= 60 for a, b in zip(starts, starts[1:]))
    assert all(t.end <= truth.UNIT for t in items)
    speech = [t for t in items if t.kind == "speech"]
    assert [(t.start, t.end) for t in speech][:2] == [(14.0, 17.0), (83.0, 86.0)]


def test_busy_captions_lie_inside_the_unit() -> None:
    items = truth.unit_truth("busy", {text: 2.0 for _, text in truth.BUSY_SPEECH})
    text = [t for t in items if t.kind == "text"]
    assert len(text) == 12 and all(0 < t.start < t.end <= truth.UNIT for t in text)


def test_monitor_counts_the_cpu_of_a_child_process() -> None:
    parent = subprocess.Popen([sys.executable, "-c", (
        "import subprocess, sys; subprocess.run([sys.executable, '-c', "
        "'import time\\nt = time.process_time()\\nwhile time.process_time() - t < 1.0: pass'])")])
    monitor = TreeMonitor([parent.pid], rss_pids=[parent.pid], rss_trees=True)
    monitor.start()
    parent.wait()
    stats = monitor.stop()
    assert 0.6 <= stats["cpu_seconds"] <= 2.0  # the grandchild's busy second, nearly all of it seen
    assert stats["peak_rss_mb"] > 1


def result(row: str, wall: float, rss: float) -> dict[str, Any]:
    return {"row": row, "video": "talk", "mode": "embedded", "tiny": False, "file": f"{row}.mp4",
            "duration": 600.0, "floor": 20.0, "wall": wall, "realtime": 600.0 / wall, "ratio": wall / 20.0,
            "model_load": 4.25, "stages": {"decode": 10.0, "read": 30.0}, "items": 12,
            "truth": {"text": {"items": 14, "found": 13, "errors": [0.0, 1.0, 1.0], "moments": 20},
                      "speech": {"items": 8, "found": 8, "errors": [0.25], "moments": 9}},
            "cpu_percent": 187.4, "peak_rss_mb": rss, "measured": "2026-11-30 10:00 UTC", "commit": "abc123"}


def test_table_cells_and_the_memory_growth_line() -> None:
    text = ingest_table.table([result("talk10", 50.0, 1000.0), result("talk120", 60.0, 1050.0)])
    row = next(line for line in text.splitlines() if line.startswith("| talk10 |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[3:10] == ["20.0", "50.0", "x12.00", "2.50 (≤ 2.5: met)", "187", "1000", "4.2"]
    assert cells[10] == "text 93 % (13/14), speech 100 % (8/8)" and cells[11] == "1.00 / 0.25"
    assert cells[12] == "–"  # a result without the visual moments' count
    off = ingest_table.table([{**result("talk10", 50.0, 1000.0), "row": "talk10 (visual off)", "visual_moments": 0}])
    assert [c.strip() for c in off.splitlines()[2].strip("|").split("|")][0:13:12] == ["talk10 (visual off)", "0"]
    assert "not met" in text.split("| talk120 |")[1].splitlines()[0]
    assert "| talk10 | 12 | 10.0 | 30.0 |" in text
    assert "2-hour talk against 10-minute talk: +5.0 %" in text


def test_block_replaced_between_markers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    doc = tmp_path / "benchmarks.md"
    doc.write_text("# B\n\n## Ingest pipeline\n\n<!-- ingest:start -->\nold table\n<!-- ingest:end -->\n\n## Next\n")
    monkeypatch.setattr(report, "DOC", doc)
    report.write_block("ingest", "Ingest pipeline", ingest_table.body([result("talk10", 50.0, 1000.0)]))
    out = doc.read_text()
    assert "old table" not in out and out.count("<!-- ingest:start -->") == 1 and out.endswith("## Next\n")
    assert "**Targets (issue 19):**" in out and "| talk10 |" in out


def test_the_cut_heavy_file_cuts_every_2_to_5_seconds_on_a_frame_mostly_between_samples() -> None:
    cuts = [t.start for t in truth.cuts_truth(240.0)]
    assert len(cuts) == 68 and cuts[:3] == [2.6, 6.8, 10.2]
    assert all(2.2 - 1e-6 <= b - a <= 5.0 + 1e-6 for a, b in zip([0.0, *cuts], cuts))
    assert all(abs(t * 30 - round(t * 30)) < 1e-6 for t in cuts)  # on a frame at 30 fps
    assert len([t for t in cuts if abs(t / 2 - round(t / 2)) < 1e-6]) == 8  # on an even second (a sample)


def test_the_exact_cuts_table_gives_the_ratios_of_one_run() -> None:
    def cut_row(exact: bool, wall: float, decode: float) -> dict[str, Any]:
        return {**result("cuts4" if exact else "cuts4 (exact cuts off)", wall, 900.0), "base": "cuts4",
                "exact_cuts": exact, "load_average": 1.5, "duration": 240.0,
                "stages": {"decode": decode, "read": 30.0}, "cpu_seconds": 50.0,
                "cuts": {"items": 68, "stored": 60, "covered": 60, "errors": [0.0, 0.0, 0.0 if exact else 1.2],
                         "uncertainties": [0.033, 0.033, 0.033] if exact else [2.0, 2.0, 2.0]}}

    text = ingest_table.cuts_table([(cut_row(True, 30.0, 12.0), {**cut_row(False, 24.0, 8.0), "cpu_seconds": 40.0})])
    on, off = (line for line in text.splitlines() if line.startswith("| cuts4 |"))
    assert on.split(" | ")[2:13] == ["on", "1.50", "20.0", "30.0", "1.25", "50.0", "1.25", "12.0", "1.50", "60",
                                     "60/68"]
    assert on.split(" | ")[13:15] == ["0.00", "0.03"] and off.split(" | ")[6:9] == ["", "40.0", ""]
    assert off.split(" | ")[13:15] == ["0.00", "2.00"]
