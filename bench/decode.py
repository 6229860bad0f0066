"""Decode benchmark: our sampled reader against the whole-file decode floor, side by side.

    .venv/bin/python -m bench.decode            # 10- and 60-minute files
    .venv/bin/python -m bench.decode --quick    # 1- and 3-minute files, for a smoke run

Makes (once, cached in bench/.cache) a 1280x720 30 fps H.264 file, GOP 250, 3 B-frames, whose
every frame carries its own index in a band of 20 binary blocks; the long file is the short one
concatenated (stream copy). Each variant runs in its own process; peak RSS is that process's
(``wait4``). Ratio to floor = floor time / variant time (1.0 = as fast as decoding every frame
with ffmpeg). Writes its table into docs/benchmarks.md between the decode markers.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bench._lib import CACHE, ROOT, cli
from bench._lib.media import concat_copies, duration, ffmpeg, floor_command, h264
from bench._lib.monitor import run_child, self_rss_mb
from bench._lib.report import run_line, write_block

BITS = 20
FPS = 30


def make_source(seconds: int) -> Path:
    path = CACHE / f"decode_{seconds}s.mp4"
    if path.exists():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    band = (
        f"color=c=black:s={BITS}x1:r={FPS}:d={seconds},format=gray,"
        "geq=lum='255*mod(floor(N/pow(2,X)),2)',scale=1280:64:flags=neighbor"
    )
    ffmpeg("-f", "lavfi", "-i", f"testsrc2=s=1280x720:r={FPS}:d={seconds}", "-f", "lavfi", "-i", band,
           "-filter_complex", "[0:v][1:v]overlay=0:0,format=yuv420p", *h264("veryfast"), str(path))
    return path


def make_long(short: Path, copies: int) -> Path:
    path = CACHE / f"{short.stem}_x{copies}.mp4"
    return path if path.exists() else concat_copies(short, copies, path)


def band_index(image) -> int:  # type: ignore[no-untyped-def]
    h, w = image.shape[:2]
    row = image[max(1, int(h * 32 / 720)), :, :].mean(axis=1)
    return sum(int(row[int((k + 0.5) * w / BITS)] > 128) << k for k in range(BITS))


# ---- variants (run in a child process)

def _clips(path: str, fps: float):  # type: ignore[no-untyped-def]
    from video_qa.config import load_settings
    from video_qa.media import plan, probe

    p = probe(path)
    return p, plan(p, load_settings(base_fps=fps, adaptive_fps=False, max_frames_per_clip=768))


def run_ours(path: str, fps: float, prefer: str, period: int, skip_nonref: bool = True) -> dict:
    from video_qa.media import FrameReader

    p, clips = _clips(path, fps)
    wrong = frames = clip_bytes = 0
    readers: set[str] = set()
    start_mb = self_rss_mb()
    with FrameReader(path, probe=p, prefer=prefer, skip_nonref=skip_nonref) as reader:
        for clip in clips:
            result = reader.read(clip)
            readers.add(result.reader)
            clip_bytes = max(clip_bytes, result.array.nbytes if result.array is not None else 0)
            for image, t in zip(result.frames, result.times):
                frames += 1
                wrong += band_index(image) != round(t * FPS) % period
            del result, image  # as a worker does: one clip's frames alive at a time
        skipped = reader.skipped
    return {"frames": frames, "wrong": wrong, "reader": ",".join(sorted(readers)), "start_mb": start_mb,
            "clip_mb": clip_bytes / 2**20, "skipped": skipped, "total": p.frame_count}


def run_stream(path: str, fps: float, period: int) -> dict:
    """The default reader, one frame at a time (``FrameReader.stream``): the reader's own memory."""
    from video_qa.media import FrameReader

    p, clips = _clips(path, fps)
    wrong = frames = 0
    start_mb = self_rss_mb()
    with FrameReader(path, probe=p) as reader:
        for clip in clips:
            stream = reader.stream(clip)
            for sample in stream:
                frames += 1
                wrong += band_index(sample.image) != round(sample.time * FPS) % period
            del sample
            reader_name = stream.reader
        skipped = reader.skipped
    return {"frames": frames, "wrong": wrong, "reader": reader_name, "start_mb": start_mb, "clip_mb": 0.0,
            "skipped": skipped, "total": p.frame_count}


def run_decord_alone(path: str, fps: float, period: int) -> dict:
    """The usual decord recipe: index = round(t * nominal fps), get_batch per clip."""
    import decord

    p, clips = _clips(path, fps)
    vr = decord.VideoReader(path, ctx=decord.cpu(0), num_threads=0)
    wrong = frames = 0
    for clip in clips:
        indices = [min(round(t * vr.get_avg_fps()), len(vr) - 1) for t in clip.sample_times]
        batch = vr.get_batch(indices).asnumpy()
        for image, i in zip(batch, indices):
            frames += 1
            wrong += band_index(image) != i % period
    return {"frames": frames, "wrong": wrong, "reader": "decord"}


def run_pyav_alone(path: str, fps: float, period: int) -> dict:
    """Decode every frame in order with PyAV, convert the sampled ones."""
    import av

    step = round(FPS / fps)
    wrong = frames = 0
    with av.open(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for n, frame in enumerate(container.decode(stream)):
            if n % step == 0:
                image = frame.to_ndarray(format="rgb24")
                frames += 1
                wrong += band_index(image) != n % period
    return {"frames": frames, "wrong": wrong, "reader": "pyav"}


def child(args: argparse.Namespace) -> None:
    kind, path, fps, period = args.child, args.file, args.fps, args.period
    if kind == "decord":
        out = run_decord_alone(path, fps, period)
    elif kind == "pyav":
        out = run_pyav_alone(path, fps, period)
    elif kind == "ours-stream":
        out = run_stream(path, fps, period)
    else:
        prefer = "decord" if kind == "ours-decord" else "pyav"
        out = run_ours(path, fps, prefer, period, skip_nonref=kind != "ours-pyav-every")
    print(json.dumps(out))


# ---- parent

def main() -> None:
    parser = cli("decode", __doc__)
    parser.add_argument("--quick", action="store_true", help="1- and 3-minute files instead of 10 and 60 minutes")
    parser.add_argument("--child", help=argparse.SUPPRESS)  # the variant a child process measures
    parser.add_argument("--file", help=argparse.SUPPRESS)
    parser.add_argument("--fps", type=float, default=2.0, help=argparse.SUPPRESS)
    parser.add_argument("--period", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return

    short_s, copies = (60, 3) if args.quick else (600, 6)
    short = make_source(short_s)
    files = [(f"{short_s // 60} min", short), (f"{short_s * copies // 60} min", make_long(short, copies))]
    period = short_s * FPS
    me = [sys.executable, "-m", "bench.decode"]
    variants = [
        ("ffmpeg -i f -f null - (floor)", None, None),
        ("ours read_frames 2 fps (default: PyAV)", "ours", 2.0),
        ("ours FrameReader.stream 2 fps (default: PyAV, one frame at a time)", "ours-stream", 2.0),
        ("ours read_frames 0.5 fps (default: PyAV)", "ours", 0.5),
        ("ours read_frames 0.1 fps (default: PyAV)", "ours", 0.1),
        ("ours read_frames 2 fps (PyAV, every frame decoded)", "ours-pyav-every", 2.0),
        ("ours read_frames 2 fps (decord)", "ours-decord", 2.0),
        ("ours read_frames 0.5 fps (decord)", "ours-decord", 0.5),
        ("ours read_frames 0.1 fps (decord)", "ours-decord", 0.1),
        ("decord alone 2 fps (index = t x fps)", "decord", 2.0),
        ("PyAV alone 2 fps (decode all, convert sampled)", "pyav", 2.0),
    ]
    rows = []
    for label, path in files:
        length = duration(path)
        floor_s = None
        for name, kind, fps in variants:
            if kind is None:
                seconds, rss, _ = run_child(floor_command(path))
                floor_s, result = seconds, {"frames": "all", "wrong": 0, "reader": "ffmpeg"}
            else:
                seconds, rss, out = run_child(me + ["--child", kind, "--file", str(path), "--fps", str(fps),
                                                    "--period", str(period)], cwd=ROOT)
                result = json.loads(out.strip().splitlines()[-1])
            row = {
                "file": label, "variant": name, "seconds": seconds, "realtime": length / seconds,
                "vs_floor": (floor_s or seconds) / seconds, "rss_mb": rss, **result,
            }
            rows.append(row)
            print(f"{label:>7} {name:<48} {seconds:8.1f} s  x{row['realtime']:6.1f} realtime  "
                  f"{row['vs_floor']:5.2f} of floor  {rss:6.0f} MB  frames {result['frames']} wrong {result['wrong']}",
                  flush=True)
    write_doc(rows, args.quick)


def write_doc(rows: list[dict], quick: bool) -> None:
    lines = [
        f"{run_line('decode', *(['--quick'] if quick else []))}. "
        "1280x720 30 fps H.264, GOP 250, 3 B-frames. Ratio = floor time / variant time "
        "(higher is faster; 1.00 = decoding every frame with ffmpeg). Wrong = returned frames whose painted "
        "index is not the frame nearest the asked time (for ours) or the index asked (for the naive recipes). "
        "After imports = the child's resident memory before it read anything; one clip's frames = the largest "
        "clip's returned RGB block, which read_frames hands back whole (the peak includes it; the stream row "
        "hands out one frame at a time, so its peak RSS is the reader's, measured directly); reader's own = "
        "peak - after imports - one clip's frames (decoder, buffers, index). Frames not decoded = packets the "
        "PyAV path left out of the decoder (unsampled H.264 non-reference pictures) over all frames.",
        "",
        "| file | variant | seconds | x realtime | ratio to floor | peak RSS MB | after imports MB "
        "| one clip's frames MB | reader's own MB | frames not decoded | frames | wrong | reader |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in rows:
        start = f"{r['start_mb']:.0f}" if "start_mb" in r else ""
        clip = f"{r['clip_mb']:.0f}" if "clip_mb" in r else ""
        own = f"{r['rss_mb'] - r['start_mb'] - r['clip_mb']:.0f}" if "start_mb" in r else ""
        left = f"{100 * r['skipped'] / r['total']:.0f} %" if r.get("skipped") and r.get("total") else ""
        lines.append(
            f"| {r['file']} | {r['variant']} | {r['seconds']:.1f} | {r['realtime']:.1f} | {r['vs_floor']:.2f} | "
            f"{r['rss_mb']:.0f} | {start} | {clip} | {own} | {left} | {r['frames']} | {r['wrong']} | {r['reader']} |"
        )
    block = "\n".join(lines)
    write_block("decode", "Decode (`bench/decode.py`)", block)


if __name__ == "__main__":
    main()
