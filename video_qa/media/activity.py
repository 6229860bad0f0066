"""How much the picture changes, absolutely, from the compressed stream alone (no decoding).

One demux pass (ffprobe: every video packet's presentation time, size and keyframe flag), a few
percent of a decode. Two signals, both independent of the video's own average:

* **change** (per second, then per clip): the mean size of the predicted (non-key) frames of a
  second divided by the size of a keyframe of that scene. A predicted frame carries only what
  differs from the frames it refers to, a keyframe the whole picture, so the ratio is about the
  share of the picture that is new in each frame: ~0.001 for a still slide or a still camera view,
  ~0.03 for a slide talk with a small moving inset, 0.3-0.6 for a moving scene
  (measured scale in docs/media.md). A clip's ``change`` is the median of its seconds, so a few
  busy seconds do not make a still clip busy (they are found as changes instead).
* **changes** (moments): a keyframe off the encoder's regular keyframe cadence (scene-cut
  detection put it there) or of another size than the keyframe before with nothing found between
  them to explain it, or a quarter-second of predicted frames twice the bytes of the second before
  it and a noticeable share of a keyframe above it (a cut encoded without a keyframe, something
  entering a still view). Spikes closer than ``MERGE_SECONDS`` are one change, at its first frame's time.

A stream of keyframes only (intra-only codecs) has no predicted frames: ``change`` is ``None``
and the plan samples it at the base rate.
"""

from __future__ import annotations

import bisect
import logging
import statistics
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from video_qa.media.errors import MediaError
from video_qa.media.probe import Probe

log = logging.getLogger(__name__)

SPIKE_WINDOW = 0.25  # seconds of predicted frames summed (a whole B-frame group)
SPIKE_RATIO = 2.0  # a window this many times the median window of the second before it ...
SPIKE_KEY_SHARE = 0.005  # ... and this share of a keyframe above it is a change
AFTER_KEY = 1.0  # seconds after a keyframe where only a cut is believed (the frames there are larger)
SHARP_KEY_SHARE = 0.2  # a change whose largest frame is this share of a keyframe is a cut
MERGE_SECONDS = 1.0  # spikes closer than this are one change
CADENCE_TOLERANCE = 0.9  # a keyframe sooner than this share of the regular interval is a cut
KEY_RESIZE = 0.25  # a keyframe this much larger or smaller than the one before shows a new picture
KEY_WINDOW = 60.0  # keyframes within this many seconds of a clip give its keyframe size


@dataclass(frozen=True)
class Packet:
    time: float  # seconds from the stream start
    size: int  # bytes
    key: bool


@dataclass(frozen=True)
class ClipActivity:
    """What the demux pass says about one clip: its absolute change level and its change moments."""

    start: float
    end: float
    change: float | None  # median per-second (predicted bytes / keyframe bytes); None: intra-only
    peak: float | None  # the clip's busiest second on the same scale
    changes: tuple[float, ...] = field(default_factory=tuple)  # seconds from the stream start
    sharp: tuple[float, ...] = field(default_factory=tuple)  # those of ``changes`` that are cuts
    bytes_per_second: float = 0.0

    def to_dict(self) -> dict[str, object]:
        return {"change": self.change, "peak": self.peak, "changes": list(self.changes), "sharp": list(self.sharp),
                "bytes_per_second": round(self.bytes_per_second, 1)}


def scan_packets(path: str | Path, probe: Probe) -> list[Packet]:
    """Every video packet (time, size, keyframe), in presentation order; demux only."""
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "packet=pts,size,flags",
         "-of", "csv=p=0", str(path)],
        capture_output=True, text=True, check=False,
    )
    if result.returncode != 0:
        log.warning("packet scan of %s failed: %s", path, result.stderr.strip()[-500:])
        raise MediaError(path, f"cannot scan packets: {result.stderr.strip()[-200:]}")
    packets = []
    for line in result.stdout.splitlines():
        pts, _, rest = line.partition(",")
        size, _, flags = rest.partition(",")
        if not pts.lstrip("-").isdigit() or not size.strip().isdigit():
            continue
        packets.append(Packet(probe.seconds(int(pts)), int(size), flags.startswith("K")))
    packets.sort(key=lambda p: p.time)
    return packets


def _cadence(keys: list[float], frame_seconds: float) -> float | None:
    """The encoder's regular keyframe interval: the longest interval seen at least twice (within a
    frame); None when no interval repeats."""
    intervals = [b - a for a, b in zip(keys, keys[1:])]
    best = None
    for gap in intervals:
        if sum(abs(g - gap) <= frame_seconds * 1.01 for g in intervals) >= 2 and (best is None or gap > best):
            best = gap
    return best


def cut_keyframes(packets: list[Packet], explained: list[float] = ()) -> list[float]:  # type: ignore[assignment]
    """Keyframes that start a new picture: off the encoder's regular cadence (placed by its
    scene-cut detection), or of a size more than ``KEY_RESIZE`` away from the keyframe before
    with no change found between the two (``explained``) to account for it."""
    keys = [p for p in packets if p.key]
    if len(keys) < 2:
        return []
    frame_seconds = (packets[-1].time - packets[0].time) / max(1, len(packets) - 1)
    regular = _cadence([k.time for k in keys], frame_seconds)
    found = sorted(explained)
    cuts = []
    for n, (prev, cur) in enumerate(zip(keys, keys[1:])):
        off_cadence = regular is not None and cur.time - prev.time < regular * CADENCE_TOLERANCE
        between = bisect.bisect_right(found, prev.time) < bisect.bisect_left(found, cur.time)
        resized = abs(cur.size - prev.size) > KEY_RESIZE * max(cur.size, prev.size)
        if off_cadence or (resized and not between and n > 0):  # the first keyframe precedes rate control
            cuts.append(cur.time)
    return cuts


def key_size_at(keys: list[Packet], t: float) -> float | None:
    """The median keyframe size within ``KEY_WINDOW`` seconds of ``t`` (the nearest keyframe when none)."""
    if not keys:
        return None
    times = [k.time for k in keys]
    lo, hi = bisect.bisect_left(times, t - KEY_WINDOW), bisect.bisect_right(times, t + KEY_WINDOW)
    near = keys[lo:hi] or [min(keys, key=lambda k: abs(k.time - t))]
    return float(statistics.median(k.size for k in near))


def spikes(packets: list[Packet], keys: list[Packet]) -> list[tuple[float, bool]]:
    """Moments where the predicted frames' bytes jump: a window of ``SPIKE_WINDOW`` seconds of
    predicted frames (a whole B-frame group, so the P/B size pattern cancels out) holding more
    than ``SPIKE_RATIO`` times the median window of the second before it, and more than
    ``SPIKE_KEY_SHARE`` of a keyframe above it. The moment is the largest frame of the first such
    window (the cut itself, or the frame where the new thing shows most), with whether it is sharp:
    that frame re-sends ``SHARP_KEY_SHARE`` of a keyframe (a cut: its time is exact to a frame or
    two; an onset that grows out of the picture is found up to ~0.8 s late). An onset (not
    sharp) is not believed in a window that holds a keyframe or starts within ``AFTER_KEY`` after
    one."""
    frames = [p for p in packets if not p.key]
    if len(frames) < 8:
        return []
    frame_seconds = (frames[-1].time - frames[0].time) / max(1, len(frames) - 1)
    w = max(4, round(SPIKE_WINDOW / max(frame_seconds, 1e-3)))
    span = max(2 * w, round(1.0 / max(frame_seconds, 1e-3)))
    sums = [0] * len(frames)
    running = sum(f.size for f in frames[:w])
    for i in range(len(frames)):
        sums[i] = running
        running += (frames[i + w].size if i + w < len(frames) else 0) - frames[i].size
    key_times = [k.time for k in keys]
    found = []
    for i in range(span, len(frames) - w + 1):
        baseline = statistics.median(sums[i - span: i - w + 1])
        if sums[i] > SPIKE_RATIO * max(baseline, 1) and sums[i] - baseline > SPIKE_KEY_SHARE * (key_size_at(keys, frames[i].time) or 0.0):
            top = max(frames[i: i + w], key=lambda f: f.size)
            sharp = top.size >= SHARP_KEY_SHARE * (key_size_at(keys, top.time) or 0.0)
            # the frames after a keyframe are larger (in a noisy picture for about a second): an
            # onset is only believed in windows clear of that
            near = bisect.bisect_right(key_times, frames[i + w - 1].time) > bisect.bisect_right(key_times, frames[i].time - AFTER_KEY)
            if sharp or not near:
                found.append((top.time, sharp))
    return found


def merge(times: list[float], gap: float = MERGE_SECONDS, sharp: set[float] | None = None) -> list[float]:
    """Moments closer than ``gap`` are one: the first of them, or the first sharp one (a cut's
    time is exact) when ``sharp`` names any."""
    groups: list[list[float]] = []
    for t in sorted(times):
        if groups and t - groups[-1][0] < gap:
            groups[-1].append(t)
        else:
            groups.append([t])
    return [next((t for t in g if sharp and t in sharp), g[0]) for g in groups]


def per_second_change(packets: list[Packet], keys: list[Packet], duration: float) -> list[float | None]:
    """For each whole second of the video: mean predicted-frame bytes / keyframe bytes."""
    n = max(1, int(duration + 0.999999))
    sums, counts = [0] * n, [0] * n
    for p in packets:
        if p.key:
            continue
        i = min(max(int(p.time), 0), n - 1)
        sums[i] += p.size
        counts[i] += 1
    out: list[float | None] = []
    for i in range(n):
        key = key_size_at(keys, i + 0.5)
        out.append(sums[i] / counts[i] / key if counts[i] and key else None)
    return out


def measure(packets: list[Packet], duration: float, edges: list[tuple[float, float]]) -> list[ClipActivity]:
    """``ClipActivity`` for each ``(start, end)`` of ``edges`` from the scanned packets."""
    keys = [p for p in packets if p.key]
    seconds = per_second_change(packets, keys, duration)
    found = spikes(packets, keys)
    cuts = cut_keyframes(packets, [t for t, _ in found])
    sharp = set(cuts) | {t for t, is_sharp in found if is_sharp}
    moments = merge(cuts + [t for t, _ in found], sharp=sharp)
    starts = [s for s, _ in edges]
    sizes = [0] * len(edges)
    for p in packets:
        i = min(max(bisect.bisect_right(starts, p.time) - 1, 0), len(edges) - 1)
        sizes[i] += p.size
    out = []
    for i, (start, end) in enumerate(edges):
        values = [v for j, v in enumerate(seconds) if v is not None and start <= j + 0.5 < end]
        if not values and seconds:  # a clip shorter than a second: its nearest second
            nearest = seconds[min(int(start), len(seconds) - 1)]
            values = [nearest] if nearest is not None else []
        inside = tuple(round(t, 6) for t in moments if start <= t < end)
        inside_sharp = tuple(round(t, 6) for t in moments if start <= t < end and t in sharp)
        out.append(ClipActivity(
            start=start, end=end,
            change=round(statistics.median(values), 5) if values else None,
            peak=round(max(values), 5) if values else None,
            changes=inside,
            sharp=inside_sharp,
            bytes_per_second=sizes[i] / max(end - start, 1e-6),
        ))
    return out


def clip_activity(path: str | Path, probe: Probe, edges: list[tuple[float, float]]) -> list[ClipActivity]:
    """The change level and change moments of each ``(start, end)`` span of ``edges``."""
    return measure(scan_packets(path, probe), probe.duration, edges)
