from __future__ import annotations

import bisect
from dataclasses import dataclass
from pathlib import Path

from tests.factories.media import ffmpeg as _run_ffmpeg
from video_qa.media.plan import ClipPlan, frame_count, frame_size, tokens_for
from video_qa.media.probe import Probe


def sample_clip(p: Probe, start: float, end: float, fps: float, index: int = 0) -> ClipPlan:
    """A clip sampled at ``fps`` at a small size, as the planner would describe it."""
    frames = frame_count(end - start, fps, 768)
    width, height = frame_size(p.width, p.height, 128 * 28 * 28, 128 * 28 * 28, 768 * 28 * 28)
    return ClipPlan(index=index, start=start, end=end, fps=fps, frames=frames, width=width, height=height,
                    tokens=tokens_for(frames, width, height), budget=0, activity=1.0, why="test")


# ---- scenes with changes at known times (activity and plan tests, bench/plan.py)

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
SCENE_SIZE = "1280x720"
SCENE_RATE = 30
SCENE_X264 = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-g", "250", "-bf", "3", "-pix_fmt", "yuv420p"]


@dataclass(frozen=True)
class Scene:
    """A generated video and the times (seconds) at which its picture changes."""

    kind: str  # "slides", "inset", "busy", "surveillance", "still"
    path: Path
    seconds: float
    changes: tuple[float, ...]
    window: float  # a change counts as seen when a frame is sampled within this many seconds after it


def change_times(seconds: float, gaps: tuple[float, ...]) -> tuple[float, ...]:
    """Irregular change times: cumulative ``gaps`` repeated, strictly inside ``(0, seconds)``."""
    out, t, i = [], 0.0, 0
    while True:
        t += gaps[i % len(gaps)]
        i += 1
        if t >= seconds - 1:
            return tuple(out)
        out.append(t)


SLIDE_GAPS = (17.0, 35.0, 12.0, 37.0, 38.0, 21.0, 45.0, 23.0)
CUT_GAPS = (23.0, 28.0, 29.0, 17.0, 34.0, 19.0, 26.0, 27.0, 18.0)
EVENT_GAPS = (37.0, 61.0, 44.0, 59.0, 48.0)


def _slides_filter(seconds: float, changes: tuple[float, ...]) -> str:
    """A white slide deck: each slide its own title, bullet lines and a coloured block."""
    edges = (0.0, *changes, seconds)
    parts = [f"color=c=white:s={SCENE_SIZE}:r={SCENE_RATE}:d={seconds}"]
    colours = ("0x1f77b4", "0xff7f0e", "0x2ca02c", "0xd62728", "0x9467bd", "0x8c564b")
    for k, (a, b) in enumerate(zip(edges, edges[1:])):
        on = f"enable='gte(t,{a})*lt(t,{b})'"
        parts.append(f"drawbox=x={80 + 37 * k % 300}:y=40:w=1120:h=110:c={colours[k % len(colours)]}:t=fill:{on}")
        parts.append(f"drawtext=fontfile={FONT}:text='Slide {k + 1}\\: topic {k * 7 % 13}':x=110:y=70:fontsize=56:fontcolor=white:{on}")
        for line in range(4):
            words = " ".join(f"word{(k * 5 + line * 3 + w) % 17}" for w in range(4 + (k + line) % 4))
            parts.append(f"drawtext=fontfile={FONT}:text='- {words}':x=120:y={220 + 90 * line}:fontsize=40:fontcolor=black:{on}")
        parts.append(f"drawbox=x={900 - 40 * (k % 5)}:y={560 - 20 * (k % 3)}:w={160 + 30 * (k % 4)}:h=100:c={colours[(k + 2) % len(colours)]}:t=fill:{on}")
    return ",".join(parts)


def slides_video(path: Path, seconds: float = 240.0, gaps: tuple[float, ...] = SLIDE_GAPS) -> Scene:
    """A static slide talk: nothing moves between slide changes at known times."""
    changes = change_times(seconds, gaps)
    if not path.exists():
        _run_ffmpeg("-f", "lavfi", "-i", _slides_filter(seconds, changes), *SCENE_X264, str(path))
    return Scene("slides", path, seconds, changes, 2.0)


def inset_video(path: Path, seconds: float = 240.0, gaps: tuple[float, ...] = SLIDE_GAPS) -> Scene:
    """The slide talk with a small moving picture (a speaker's camera) in the bottom-right corner."""
    changes = change_times(seconds, gaps)
    if not path.exists():
        _run_ffmpeg(
            "-f", "lavfi", "-i", _slides_filter(seconds, changes),
            "-f", "lavfi", "-i", f"testsrc2=s=256x144:r={SCENE_RATE}:d={seconds}",
            "-filter_complex", "[0:v][1:v]overlay=x=W-w-24:y=H-h-24", *SCENE_X264, str(path),
        )
    return Scene("inset", path, seconds, changes, 2.0)


def _busy_source(k: int, d: float) -> str:
    kind = k % 4
    if kind == 0:
        return f"testsrc2=s={SCENE_SIZE}:r={SCENE_RATE}:d={d},hue=H=t*{2 + k}"
    if kind == 1:
        return (f"mandelbrot=s=320x180:r={SCENE_RATE}:start_scale={1.5 + 0.3 * k}:end_scale=0.05:"
                f"start_x={-0.743 + 0.01 * k}:start_y=0.131,trim=duration={d},scale={SCENE_SIZE.replace('x', ':')}")
    if kind == 2:
        return (f"life=s=640x360:r={SCENE_RATE}:mold=10:ratio={0.08 + 0.02 * k}:seed={k}:"
                f"life_color=#00ff80:death_color=#802020,trim=duration={d},scale={SCENE_SIZE.replace('x', ':')}:flags=neighbor")
    return f"testsrc2=s={SCENE_SIZE}:r={SCENE_RATE}:d={d},scroll=h={0.002 * (k % 3 + 1)}:v=0.001,hue=s=1+sin(t)"


def busy_video(path: Path, seconds: float = 240.0, gaps: tuple[float, ...] = CUT_GAPS) -> Scene:
    """A busy moving scene (test patterns, fractal zooms, cellular life) with hard cuts at known times."""
    changes = change_times(seconds, gaps)
    if not path.exists():
        edges = (0.0, *changes, seconds)
        inputs, labels = [], []
        for k, (a, b) in enumerate(zip(edges, edges[1:])):
            inputs += ["-f", "lavfi", "-i", f"{_busy_source(k, b - a)},setsar=1,format=yuv420p"]
            labels.append(f"[{k}:v]")
        graph = "".join(labels) + f"concat=n={len(labels)}:v=1[v]"
        _run_ffmpeg(*inputs, "-filter_complex", graph, "-map", "[v]", *SCENE_X264, str(path))
    return Scene("busy", path, seconds, changes, 1.0)


def surveillance_video(path: Path, seconds: float = 240.0, gaps: tuple[float, ...] = EVENT_GAPS) -> Scene:
    """A still camera (a fixed textured scene with light sensor noise) where a box walks in for 3 s
    at known times."""
    changes = change_times(seconds, gaps)
    if not path.exists():
        scene = (f"color=c=0x506070:s={SCENE_SIZE}:r={SCENE_RATE}:d={seconds},"
                 "drawgrid=w=160:h=90:t=2:c=0x8090a0,drawbox=x=0:y=500:w=1280:h=220:c=0x404040:t=fill,"
                 "drawbox=x=880:y=120:w=260:h=300:c=0x806040:t=fill,noise=alls=24:allf=u,format=yuv420p")
        inputs = ["-f", "lavfi", "-i", scene]
        graph, last = [], "0:v"
        for i, t in enumerate(changes):
            inputs += ["-f", "lavfi", "-i", f"color=c=0xd03020:s=110x200:r={SCENE_RATE}:d={seconds}"]
            x = f"-110+(t-{t})*{200 + 40 * (i % 3)}"
            graph.append(f"[{last}][{i + 1}:v]overlay=x='{x}':y={420 + 40 * (i % 3)}:eval=frame:"
                         f"enable='gte(t,{t})*lt(t,{t + 3})'[o{i}]")
            last = f"o{i}"
        graph.append(f"[{last}]noise=alls=4:allf=t,format=yuv420p[v]")
        _run_ffmpeg(*inputs, "-filter_complex", ";".join(graph), "-map", "[v]", *SCENE_X264, str(path))
    return Scene("surveillance", path, seconds, changes, 1.0)


def still_video(path: Path, seconds: float = 120.0) -> Scene:
    """One picture for the whole file, nothing changes."""
    if not path.exists():
        _run_ffmpeg("-f", "lavfi", "-i", _slides_filter(seconds, ()), *SCENE_X264, str(path))
    return Scene("still", path, seconds, (), 2.0)


SCENES = {"slides": slides_video, "inset": inset_video, "busy": busy_video, "surveillance": surveillance_video}


def coverage(changes: tuple[float, ...], sampled: list[float], window: float) -> float:
    """The share of ``changes`` with a sampled time in ``[change, change + window]``."""
    if not changes:
        return 1.0
    times = sorted(sampled)
    seen = 0
    for c in changes:
        i = bisect.bisect_left(times, c - 1e-6)
        seen += i < len(times) and times[i] <= c + window + 1e-6
    return seen / len(changes)


def moving_video(path: Path, seconds: float = 10.0) -> Scene:
    """A small, fast-moving test pattern (everything changes every frame), no cut."""
    if not path.exists():
        _run_ffmpeg("-f", "lavfi", "-i", f"testsrc2=s=640x360:r={SCENE_RATE}:d={seconds},hue=H=t*3,scroll=h=0.004",
                    *SCENE_X264, str(path))
    return Scene("moving", path, seconds, (), 1.0)


def looped_video(path: Path, segment: Scene, copies: int) -> Scene:
    """``segment`` played ``copies`` times (stream copy: every copy has the same packets); its
    changes repeat, and each restart is a change when the segment ends on another picture."""
    if not path.exists():
        listing = path.with_suffix(".txt")
        listing.write_text("".join(f"file '{segment.path.resolve()}'\n" for _ in range(copies)))
        _run_ffmpeg("-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy", str(path))
    s = segment.seconds
    changes = [c + i * s for i in range(copies) for c in segment.changes]
    changes += [i * s for i in range(1, copies)]
    return Scene(segment.kind, path, s * copies, tuple(sorted(changes)), segment.window)


def intra_video(path: Path, seconds: float = 4.0) -> Scene:
    """Keyframes only (MJPEG; ``path`` ending in .avi): no predicted frame to measure change with."""
    if not path.exists():
        _run_ffmpeg("-f", "lavfi", "-i", f"testsrc2=s=320x180:r={SCENE_RATE}:d={seconds}", "-c:v", "mjpeg",
                    "-q:v", "5", str(path))
    return Scene("intra", path, seconds, (), 1.0)
