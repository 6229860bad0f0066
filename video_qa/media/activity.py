"""A cheap measure of how much each clip changes: compressed video bytes per second.

Encoders spend bits on change (motion, new content; a scene cut costs a keyframe) and almost none
on a still picture, so the bitrate of a span is a good, decode-free proxy for its scene activity.
One demux pass over the file (ffprobe, no decoding), a few percent of a decode.
"""

from __future__ import annotations

import bisect
import subprocess
from pathlib import Path

from video_qa.media.errors import MediaError
from video_qa.media.probe import Probe


def clip_activity(path: str | Path, probe: Probe, edges: list[tuple[float, float]]) -> list[float]:
    """Video bytes per second within each ``(start, end)`` span of ``edges``."""
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "packet=pts,size",
         "-of", "csv=p=0", str(path)],
        capture_output=True, text=True, check=False,
    )
    if result.returncode != 0:
        raise MediaError(path, f"cannot scan packets: {result.stderr.strip()[-200:]}")
    starts = [start for start, _ in edges]
    totals = [0] * len(edges)
    for line in result.stdout.splitlines():
        pts, _, size = line.partition(",")
        if not pts.lstrip("-").isdigit() or not size.strip().isdigit():
            continue
        t = probe.seconds(int(pts))
        i = min(max(bisect.bisect_right(starts, t) - 1, 0), len(edges) - 1)
        totals[i] += int(size)
    return [total / max(end - start, 1e-6) for total, (start, end) in zip(totals, edges)]
