"""What a media file is: streams, size, rotation, frame rate, duration (ffprobe, its exit status checked).

The time origin of everything downstream is the video stream's start (``start_pts`` in
``time_base`` units); ``Probe.seconds(pts)`` is the one conversion from stream ticks to seconds.

The duration is what the video stream's packets really cover. A file whose container claims more
(a download that stopped half way, its index still whole) is truncated: ``claimed_duration`` keeps
the claim (``video_qa.media.truncation``), and ``truncation_notice`` says it in the user's words.
"""

from __future__ import annotations

import json
import logging
import math
import re
import subprocess
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from video_qa.media.errors import DamagedMedia, MediaError, MediaToolError
from video_qa.media.truncation import claimed_length, mp4_bytes_missing, truncated_claim, truncation_notice

log = logging.getLogger(__name__)

MAX_SIDE = 8192
MIN_SIDE = 2
MAX_DURATION = 48 * 3600.0
MIN_BYTES_PER_SECOND = 16  # a file claiming more seconds than this allows is lying
VFR_TOLERANCE = 0.02


@dataclass(frozen=True)
class Probe:
    path: str
    size: int
    container: str
    duration: float
    video_codec: str
    coded_width: int
    coded_height: int
    rotation: int  # degrees, counter-clockwise, that turn the stored picture upright (0/90/180/270)
    width: int  # upright
    height: int  # upright
    nominal_fps: float
    avg_fps: float
    variable_fps: bool
    frame_count: int | None
    time_base: Fraction
    start_pts: int
    has_audio: bool
    audio_codec: str | None
    bit_rate: int | None
    # what the container claims, when its packets end earlier (a truncated file); None otherwise
    claimed_duration: float | None = None

    @property
    def truncated(self) -> bool:
        return self.claimed_duration is not None

    @property
    def start_time(self) -> float:
        return float(self.start_pts * self.time_base)

    def seconds(self, pts: int) -> float:
        """Stream ticks to seconds from the stream's start, exactly (one rounding, at the end)."""
        return float((pts - self.start_pts) * self.time_base)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["time_base"] = str(self.time_base)
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Probe":
        """The inverse of ``to_dict`` (a probe stored with the video is not run again per clip)."""
        return cls(**{**data, "time_base": Fraction(data["time_base"])})


def _rate(text: str | None) -> float:
    if not text or text in ("0/0", "0"):
        return 0.0
    value = Fraction(text)
    return float(value)


def _rotation(stream: dict[str, Any]) -> int:
    """Counter-clockwise degrees (display matrix convention) normalised to 0/90/180/270."""
    degrees = 0.0
    for side in stream.get("side_data_list", []) or []:
        if "rotation" in side:
            degrees = float(side["rotation"])
    if not degrees and "rotate" in (stream.get("tags") or {}):
        degrees = -float(stream["tags"]["rotate"])  # legacy tag is clockwise
    return int(round(degrees / 90.0)) % 4 * 90


_SIGNATURES = (
    (4, (b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip")),  # MP4 / MOV boxes
    (0, (b"\x1aE\xdf\xa3", b"RIFF", b"OggS", b"FLV", b"\x00\x00\x01\xba", b"\x00\x00\x01\xb3", b"\x30\x26\xb2\x75")),
)

FFPROBE = "ffprobe"  # found on PATH
# ffprobe's words for data it cannot parse (libavformat's invalid-data and end-of-file errors and the
# demuxers' own): with a known container signature that is damage, without one a file of another kind
_DATA_ERRORS = ("invalid data found", "end of file", "moov atom not found", "error reading header",
                "could not find codec parameters")
_NO_FILE = "no such file or directory"
_DENIED = ("permission denied", "operation not permitted")
_DIRECTORY = "is a directory"
_TAG = re.compile(r"^\[[^\]]* @ 0x[0-9a-fA-F]+\]\s*")  # "[mov,mp4,... @ 0x55e1...] "


def _has_media_signature(path: Path) -> bool:
    """Does the file start like a known container (then a failure means damage, not a wrong file)?
    A file that cannot be opened for reading is a ``MediaError`` saying why."""
    try:
        with path.open("rb") as f:
            head = f.read(12)
    except OSError as error:
        raise MediaError(path, f"cannot read the file ({(error.strerror or str(error)).lower()})") from error
    return any(head[offset:].startswith(magic) for offset, magics in _SIGNATURES for magic in magics)


def _messages(stderr: str, path: Path) -> list[str]:
    """ffprobe's error lines without the demuxer's tag and the file's path, each once, in order."""
    out: list[str] = []
    for line in stderr.splitlines():
        line = _TAG.sub("", line.strip())
        if line.startswith(str(path)):
            line = line[len(str(path)):].lstrip(": ")
        if line and line not in out:
            out.append(line)
    return out


def _damaged(path: Path, detail: str) -> DamagedMedia:
    """A media file whose data cannot be read; cut when an MP4's boxes run past the end of the file."""
    try:
        cut = mp4_bytes_missing(path, path.stat().st_size) > 0
    except OSError as error:
        raise MediaError(path, f"cannot read the file ({(error.strerror or str(error)).lower()})") from error
    return DamagedMedia(path, cut, detail)


def _failure(path: Path, status: int, messages: list[str], signature: bool) -> MediaError:
    """The reason for a failed ffprobe run, from its exit status and what it wrote to stderr."""
    detail = "; ".join(messages[-3:])
    said = " ".join(messages).lower()
    if status < 0:
        return MediaToolError(path, f"ffprobe was stopped by signal {-status}" + (f" ({detail})" if detail else ""))
    if status in (126, 127):  # the loader's or shell's "cannot execute" (a missing library, say)
        return MediaToolError(path, f"ffprobe cannot be run (exit status {status}: {detail or 'no message'})")
    if _NO_FILE in said:
        return MediaError(path, "no such file")
    if any(word in said for word in _DENIED):
        return MediaError(path, "cannot read the file (permission denied)")
    if _DIRECTORY in said:
        return MediaError(path, "not a regular file (a directory)")
    if any(word in said for word in _DATA_ERRORS):
        if signature:
            return _damaged(path, detail)
        return MediaError(path, f"not a media file ({messages[-1]})")
    return MediaError(path, f"ffprobe failed with exit status {status} ({detail or 'no message'})")


def _run_ffprobe(path: Path, args: list[str], signature: bool) -> str:
    """The output of ``ffprobe -v error ARGS PATH``; a non-zero exit status, a missing ffprobe or one
    stopped by a signal is a ``MediaError`` with the reason (``MediaToolError`` when not the file's)."""
    cmd = [FFPROBE, "-v", "error", *args, str(path)]
    try:
        result = subprocess.run(cmd, capture_output=True, text=True, errors="replace", check=False)
    except FileNotFoundError as error:
        raise MediaToolError(path, "ffprobe is not installed (not found on PATH)") from error
    except PermissionError as error:
        raise MediaToolError(path, f"ffprobe cannot be run ({error})") from error
    if result.returncode != 0:
        error = _failure(path, result.returncode, _messages(result.stderr, path), signature)
        log.warning("ffprobe %s failed (exit status %s): %s", path, result.returncode, result.stderr.strip()[-500:])
        raise error
    return result.stdout


def _ffprobe(path: Path, signature: bool) -> dict[str, Any]:
    out = _run_ffprobe(path, ["-show_format", "-show_streams", "-of", "json"], signature)
    try:
        info = json.loads(out)
    except ValueError as error:
        raise MediaError(path, "ffprobe's report is unreadable (not JSON)") from error
    return info if isinstance(info, dict) else {}


def _packets(path: Path, read_interval: str | None) -> list[tuple[int, int]]:
    """(pts, duration) ticks of video packets in ``read_interval`` (demux only, no decode). Damage
    inside the file still ends with exit status 0 (the packets before it are kept); a failed or
    stopped scan raises, since a partial list would give a wrong duration."""
    args = ["-select_streams", "v:0"]
    if read_interval:
        args += ["-read_intervals", read_interval]
    args += ["-show_entries", "packet=pts,duration", "-of", "csv=p=0"]
    out = _run_ffprobe(path, args, signature=True)  # only after the headers were read: a media file
    rows = []
    for line in out.split():
        pts, _, duration = line.partition(",")
        if pts.lstrip("-").isdigit():
            rows.append((int(pts), int(duration) if duration.isdigit() else 0))
    return sorted(rows)


def _stream_end(path: Path, claimed_end: float) -> tuple[int, int] | None:
    """(last pts, its duration) from the packets near the claimed end; the whole file when the
    claim is wrong (truncated files, lying headers)."""
    tail = _packets(path, f"{max(0.0, claimed_end - 30):.3f}%") if claimed_end > 0 else []
    rows = tail or _packets(path, None)
    if not rows:
        return None
    return max(rows, key=lambda r: r[0] + r[1])


def _looks_variable(ticks: list[int], nominal_fps: float, avg_fps: float) -> bool:
    if nominal_fps and avg_fps and abs(avg_fps - nominal_fps) / nominal_fps > VFR_TOLERANCE:
        return True
    deltas = [b - a for a, b in zip(ticks, ticks[1:]) if b > a]
    if len(deltas) < 3:
        return False
    deltas.sort()
    median = deltas[len(deltas) // 2]
    return any(abs(d - median) > VFR_TOLERANCE * median + 1 for d in deltas)


def _check_decoder(path: Path, codec: str) -> None:
    try:
        av.codec.Codec(codec, "r")
    except (av.codec.codec.UnknownCodecError, ValueError) as error:
        raise MediaError(path, f"unsupported video codec {codec!r}: no decoder available") from error


def _video_streams(info: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in info.get("streams", [])
            if s.get("codec_type") == "video" and not (s.get("disposition") or {}).get("attached_pic")]


def read_headers(path: str | Path) -> dict[str, Any]:
    """The container's headers (ffprobe; no packet scan, so cheap for any size): a regular, non-empty,
    readable media file with a video stream, or ``MediaError``. Uploads are checked with this at the door."""
    path = Path(path)
    if not path.exists():
        raise MediaError(path, "no such file")
    if path.is_dir():
        raise MediaError(path, "not a regular file (a directory)")
    if not path.is_file():
        raise MediaError(path, "not a regular file")
    if path.stat().st_size == 0:
        raise MediaError(path, "empty file (0 bytes)")
    info = _ffprobe(path, _has_media_signature(path))
    if not _video_streams(info):
        kind = "audio only" if any(s.get("codec_type") == "audio" for s in info.get("streams", [])) else "no streams"
        raise MediaError(path, f"no video stream ({kind})")
    return info


def probe(path: str | Path) -> Probe:
    """Probe ``path``; raise ``MediaError`` naming the file and the reason when it is unusable."""
    path = Path(path)
    info = read_headers(path)
    size = path.stat().st_size
    streams = info.get("streams", [])
    videos = _video_streams(info)
    audios = [s for s in streams if s.get("codec_type") == "audio"]
    fmt = info.get("format", {})
    v = videos[0]
    codec = v.get("codec_name") or "unknown"
    _check_decoder(path, codec)

    coded_w, coded_h = int(v.get("width") or 0), int(v.get("height") or 0)
    if not (MIN_SIDE <= coded_w <= MAX_SIDE and MIN_SIDE <= coded_h <= MAX_SIDE):
        raise MediaError(path, f"absurd dimensions {coded_w}x{coded_h} (allowed {MIN_SIDE}..{MAX_SIDE} a side)")
    rotation = _rotation(v)
    width, height = (coded_h, coded_w) if rotation in (90, 270) else (coded_w, coded_h)

    time_base = Fraction(v.get("time_base") or "1/1000")
    start_pts = int(v.get("start_pts") or 0)
    nominal, avg = _rate(v.get("r_frame_rate")), _rate(v.get("avg_frame_rate"))
    head = _packets(path, "%+20")
    if not head:
        raise _damaged(path, "no video packets")
    start_pts = min(start_pts, head[0][0])
    # Duration from the stream's own last packet, not the header's claim.
    claimed = v.get("duration") or fmt.get("duration")
    claimed_end = float(claimed) + float(time_base * start_pts) if claimed not in (None, "N/A") else 0.0
    last_pts, last_duration = _stream_end(path, claimed_end) or head[-1]
    if last_duration <= 0:
        last_duration = round(1.0 / (avg or nominal or 25.0) / time_base)
    duration = float((last_pts + last_duration - start_pts) * time_base)
    if not math.isfinite(duration) or duration > MAX_DURATION:
        raise MediaError(path, f"absurd duration {duration:.0f} s (more than {MAX_DURATION / 3600:.0f} h)")
    if duration > 60 and size / duration < MIN_BYTES_PER_SECOND:
        raise MediaError(path, f"claims a duration of {duration:.0f} s but holds only {size} bytes")

    frame = 1.0 / (avg or nominal or 25.0)
    cut_claim = truncated_claim(path, size, claimed_length(v, fmt, float(time_base * start_pts)), duration, frame)
    if cut_claim is not None:
        log.warning("%s: %s (the container claims more than its packets hold)", path,
                    truncation_notice(duration, cut_claim))

    frames_text = v.get("nb_frames")
    frame_count = int(frames_text) if frames_text and str(frames_text).isdigit() else None
    bit_rate = v.get("bit_rate") or fmt.get("bit_rate")
    return Probe(
        path=str(path),
        size=size,
        container=fmt.get("format_name", "unknown"),
        duration=duration,
        video_codec=codec,
        coded_width=coded_w,
        coded_height=coded_h,
        rotation=rotation,
        width=width,
        height=height,
        nominal_fps=nominal,
        avg_fps=avg,
        variable_fps=_looks_variable([pts for pts, _ in head], nominal, avg),
        frame_count=frame_count,
        time_base=time_base,
        start_pts=start_pts,
        has_audio=bool(audios),
        audio_codec=audios[0].get("codec_name") if audios else None,
        bit_rate=int(bit_rate) if bit_rate and str(bit_rate).isdigit() else None,
        claimed_duration=cut_claim,
    )
