"""Test media made with ffmpeg, with known ground truth.

``index_video`` paints every frame's own index as 16 binary blocks in the top half (white = 1),
so a decoded frame tells which frame it is (``frame_index``), after any resize.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np

ENCODERS = {
    "h264": ["-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-pix_fmt", "yuv420p"],
    "hevc": ["-c:v", "libx265", "-preset", "ultrafast", "-crf", "18", "-pix_fmt", "yuv420p", "-x265-params", "log-level=error"],
    "vp9": ["-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-crf", "20", "-b:v", "0", "-pix_fmt", "yuv420p"],
    "av1": ["-c:v", "libsvtav1", "-preset", "12", "-crf", "30", "-pix_fmt", "yuv420p", "-svtav1-params", "lp=2"],
    "mpeg4": ["-c:v", "mpeg4", "-q:v", "2"],
}
INDEX_FILTER = (
    "format=gray,geq=lum='if(lt(Y,H/2),255*mod(floor(N/pow(2,floor(X*16/W))),2),128)'"
)


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


def index_video(
    path: Path, *, rate: str = "30", seconds: float = 10, codec: str = "h264", size: str = "320x180",
    gop: int = 250, bframes: int = 3, extra: tuple[str, ...] = (),
) -> Path:
    if path.exists():
        return path
    args = ["-f", "lavfi", "-i", f"color=c=black:s={size}:r={rate}:d={seconds},{INDEX_FILTER}", *ENCODERS[codec], "-g", str(gop)]
    if codec in ("h264", "hevc"):
        args += ["-bf", str(bframes)]
    ffmpeg(*args, *extra, str(path))
    return path


def vfr_video(path: Path) -> Path:
    """Frames 0-29 at 30 fps (0..0.967 s), then 10 fps: frame n>=30 at 1 + (n - 30) / 10 s; 90 frames."""
    if path.exists():
        return path
    ffmpeg(
        "-f", "lavfi", "-i", f"color=c=black:s=320x180:r=30:d=3,{INDEX_FILTER},setpts='if(lt(N,30),N/30,1+(N-30)/10)/TB'",
        *ENCODERS["h264"], "-fps_mode", "vfr", "-video_track_timescale", "90000", str(path),
    )
    return path


def vfr_time(n: int) -> float:
    return n / 30 if n < 30 else 1 + (n - 30) / 10


def frame_index(image: np.ndarray) -> int:
    """The index painted by ``index_video`` (read at the centre of each block)."""
    h, w = image.shape[:2]
    band = image[h // 8 : 3 * h // 8].mean(axis=2)
    return sum(int(band[:, int((k + 0.5) * w / 16)].mean() > 128) << k for k in range(16))


def tone_video(path: Path, *, seconds: float = 6, tone_at: tuple[float, float] = (2.0, 3.0)) -> Path:
    """A video with silence and a 1 kHz tone from ``tone_at[0]`` to ``tone_at[1]``."""
    if path.exists():
        return path
    a, b = tone_at
    ffmpeg(
        "-f", "lavfi", "-i", f"testsrc2=s=320x180:r=25:d={seconds}",
        "-f", "lavfi", "-i", f"sine=f=1000:r=48000:d={seconds},volume='between(t,{a},{b})':eval=frame",
        *ENCODERS["h264"], "-c:a", "aac", "-shortest", str(path),
    )
    return path


FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"


def speech_and_caption_video(
    path: Path, *, seconds: float = 90, speech: tuple[float, str] = (42.0, "the quarterly budget is approved"),
    caption: tuple[float, float, str] = (65.0, 80.0, "EXIT 12"), audio: bool = True,
) -> Path:
    """A 640x360 video: espeak-ng says ``speech[1]`` starting at ``speech[0]`` s (silence elsewhere),
    and ``caption[2]`` is drawn large from ``caption[0]`` to ``caption[1]`` s."""
    if path.exists():
        return path
    a, b, text = caption
    video = (
        f"color=c=0x203040:s=640x360:r=25:d={seconds},"
        f"drawtext=fontfile={FONT}:text='{text}':fontsize=72:fontcolor=white:x=(w-tw)/2:y=(h-th)/2:"
        f"enable='between(t,{a},{b})'"
    )
    args = ["-f", "lavfi", "-i", video]
    if audio:
        at, words = speech
        wav = path.with_suffix(".speech.wav")
        subprocess.run(["espeak-ng", "-s", "140", "-w", str(wav), words], check=True, capture_output=True)
        args += ["-i", str(wav), "-filter_complex",
                 f"[1:a]adelay={int(at * 1000)}:all=1,apad,atrim=0:{seconds},aresample=48000[a]",
                 "-map", "0:v", "-map", "[a]", "-c:a", "aac"]
    ffmpeg(*args, *ENCODERS["h264"], "-g", "50", "-t", str(seconds), str(path))
    return path


def silent_video(path: Path, seconds: float = 10) -> Path:
    """A video with an audio stream that holds only silence."""
    if not path.exists():
        ffmpeg("-f", "lavfi", "-i", f"testsrc2=s=320x180:r=25:d={seconds}", "-f", "lavfi", "-i",
               f"anullsrc=r=48000:cl=mono:d={seconds}", *ENCODERS["h264"], "-c:a", "aac", "-shortest", str(path))
    return path


def sliver_video(path: Path) -> Path:
    """A valid 1x2-pixel FFV1 video: its headers pass an upload's check, its analysis fails on the
    absurd dimensions (a failure that happens in the worker, with a reason naming the file)."""
    if not path.exists():
        ffmpeg("-f", "lavfi", "-i", "color=c=red:s=2x2:r=5:d=2", "-vf", "scale=1:2", "-c:v", "ffv1", str(path))
    return path


def corrupt_middle(source: Path, target: Path, start: float = 0.45, end: float = 0.55, seed: int = 7) -> Path:
    """``source`` with the bytes from ``start`` to ``end`` (fractions of its size) replaced by noise."""
    data = bytearray(source.read_bytes())
    a, b = int(len(data) * start), int(len(data) * end)
    data[a:b] = np.random.default_rng(seed).integers(0, 256, b - a, dtype=np.uint8).tobytes()
    target.write_bytes(bytes(data))
    return target
