"""Test media made with ffmpeg and espeak-ng, with known ground truth; the benchmarks
(bench/_lib/media.py) build their files from the same parts.

``index_video`` paints every frame's own index as 16 binary blocks in the top half (white = 1),
so a decoded frame tells which frame it is (``frame_index``), after any resize. ``say`` and
``speech_mix`` put sentences at known times into an audio track; ``escape_text`` makes a string
safe inside a ``drawtext`` filter.
"""

from __future__ import annotations

import subprocess
import wave
from pathlib import Path

import numpy as np
from PIL import Image

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
    """Run ffmpeg quietly, overwriting its output; raises when it fails."""
    subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


def say(wav: Path, words: str, *, speed: int = 140) -> float:
    """espeak-ng says ``words`` at ``speed`` words a minute into ``wav``; its length in seconds."""
    subprocess.run(["espeak-ng", "-s", str(speed), "-w", str(wav), words], check=True, capture_output=True)
    return wav_seconds(wav)


def wav_seconds(wav: Path) -> float:
    """The length of a WAV file in seconds."""
    with wave.open(str(wav)) as w:
        return w.getnframes() / w.getframerate()


def speech_mix(starts: tuple[float, ...], seconds: float, first_input: int) -> str:
    """A filter graph that delays audio input ``first_input + k`` to ``starts[k]`` seconds, mixes
    them at 48 kHz and pads or cuts the mix to ``seconds``, labelled ``[a]``."""
    parts = [f"[{first_input + k}:a]adelay={int(at * 1000)}:all=1,aresample=48000[s{k}]" for k, at in enumerate(starts)]
    labels = "".join(f"[s{k}]" for k in range(len(starts)))
    return ";".join(parts + [f"{labels}amix=inputs={len(starts)}:normalize=0,apad,atrim=0:{seconds}[a]"])


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
        say(wav, words)
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


def escape_text(text: str) -> str:
    """``text`` as a ``drawtext`` filter's ``text='...'`` value (a quote becomes a typographic one)."""
    return text.replace("\\", "\\\\").replace(":", "\\:").replace("'", "\u2019").replace("%", "\\%")


def text_video(
    path: Path, *, seconds: float = 60, size: str = "640x360", rate: str = "25",
    items: tuple[tuple[float, float, str, str, str, int], ...] = (),
    counter: bool = False, background: str = "color=c=0x203040", speech: tuple[tuple[float, str], ...] = (),
    cuts: tuple[float, ...] = (), vfr: bool = False, clock: bool = False,
) -> Path:
    """A video with known on-screen text, speech and cuts.

    ``items``: (start, end, text, x, y, fontsize) drawn while ``start <= t < end`` (x, y are
    ffmpeg expressions); ``counter``: a running frame counter in the top-right corner (changes
    every frame); ``clock``: the running time (h:mm:ss.mmm) bottom-left; ``background``: a
    lavfi source (``testsrc2`` and ``mandelbrot`` move); ``speech``: espeak-ng says each text starting at its time; ``cuts``: the background's
    colour changes hard at these times; ``vfr``: frames are dropped in a changing pattern so
    the file has a variable frame rate (times stay those of the source)."""
    if path.exists():
        return path
    w, h = size.split("x")
    chain = [f"{background}{':' if '=' in background else '='}s={size}:r={rate}:d={seconds}"]
    colours = ["0x203040", "0x604020", "0x205030", "0x502050", "0x303060"]
    for k, t in enumerate(cuts):
        c = colours[(k + 1) % len(colours)]
        end = cuts[k + 1] if k + 1 < len(cuts) else seconds + 1
        chain.append(f"drawbox=x=0:y=0:w={w}:h={h}:color={c}@0.75:t=fill:enable='gte(t,{t})*lt(t,{end})'")
    for a, b, text, x, y, fs in items:
        chain.append(f"drawtext=fontfile={FONT}:text='{escape_text(text)}':fontsize={fs}:fontcolor=white:"
                     f"box=1:boxcolor=black@0.4:x={x}:y={y}:enable='gte(t,{a})*lt(t,{b})'")
    if counter:
        chain.append(f"drawtext=fontfile={FONT}:text='%{{frame_num}}':fontsize=22:fontcolor=yellow:x=w-tw-12:y=10")
    if clock:
        chain.append(f"drawtext=fontfile={FONT}:text='%{{pts\\:hms}}':fontsize=20:fontcolor=white:x=10:y=h-th-10")
    if vfr:
        chain.append("select='not(between(mod(n,50),10,24))*not(eq(mod(n,7),3))'")
    args = ["-f", "lavfi", "-i", ",".join(chain)]
    extra: list[str] = ["-fps_mode", "vfr", "-video_track_timescale", "90000"] if vfr else []
    if speech:
        for k, (_, words) in enumerate(speech):
            wav = path.with_suffix(f".speech{k}.wav")
            say(wav, words)
            args += ["-i", str(wav)]
        mix = speech_mix(tuple(at for at, _ in speech), seconds, first_input=1)
        args += ["-filter_complex", mix, "-map", "0:v", "-map", "[a]", "-c:a", "aac"]
    ffmpeg(*args, *ENCODERS["h264"], "-g", "50", *extra, "-t", str(seconds), str(path))
    return path


def slide_deck(path: Path, *, seconds: float = 90, counter: bool = True,
               caption: tuple[float, float, str] | None = (41.0, 49.0, "INVOICE 2041 APPROVED"),
               slides: tuple[tuple[float, float, str], ...] = (
                   (0.0, 30.0, "QUARTERLY PLAN"), (30.0, 62.0, "HIRING ROADMAP"), (62.0, 90.0, "OPEN QUESTIONS")),
               speech: tuple[tuple[float, str], ...] = ()) -> Path:
    """Slides: each title large at the top with a bullet line under it, a caption lower down,
    and (``counter``) a running frame counter in a corner."""
    items = []
    for a, b, title in slides:
        items.append((a, b, title, "(w-tw)/2", "40", 44))
        items.append((a, b, f"Notes for {title.lower()}", "60", "140", 26))
    if caption:
        items.append((caption[0], caption[1], caption[2], "(w-tw)/2", "280", 30))
    return text_video(path, seconds=seconds, items=tuple(items), counter=counter, speech=speech)


def two_shots(path: Path, first: str, second: str) -> Path:
    """8 s: ``first`` 0-4 s, ``second`` 4-8 s, a hard cut at 4 s."""
    ffmpeg("-f", "lavfi", "-t", "4", "-i", f"{first}=size=320x240:rate=25",
           "-f", "lavfi", "-t", "4", "-i", f"{second}=size=320x240:rate=25",
           "-filter_complex", "[0:v]format=yuv420p,setsar=1[a];[1:v]format=yuv420p,setsar=1[b];[a][b]concat=n=2:v=1[v]",
           "-map", "[v]", *ENCODERS["h264"], str(path))
    return path


def frame_at(video: Path, t: float) -> np.ndarray:
    """The frame of ``video`` at ``t`` seconds (RGB), decoded by ffmpeg through a PNG beside it."""
    png = video.with_name(f"{video.stem}-{t:g}.png")
    ffmpeg("-ss", f"{t}", "-i", str(video), "-frames:v", "1", str(png))
    return np.asarray(Image.open(png).convert("RGB"))
