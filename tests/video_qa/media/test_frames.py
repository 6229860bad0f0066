"""FrameReader end to end: every returned frame is the asked one, with its true presentation time, on\nboth readers, across frame rates, containers, rotation and damaged files."""

from __future__ import annotations

import subprocess
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from tests.factories.media import corrupt_middle, ffmpeg, frame_index, index_video, vfr_time, vfr_video
from tests.video_qa.media.frame_checks import READERS, assert_exact
from tests.video_qa.media.helpers import sample_clip
from video_qa.media import FrameReader, MediaError, probe, read_frames


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("sample_fps", [2.0, 1.0, 0.5, 0.25])
@pytest.mark.parametrize("rate", ["30", "30000/1001"])
def test_exact_frames_long_gop_bframes(media_dir: Path, reader: str, sample_fps: float, rate: str) -> None:
    path = index_video(media_dir / f"index_{rate.replace('/', '_')}.mp4", rate=rate, seconds=24, gop=250, bframes=3)
    p = probe(path)
    assert p.nominal_fps == pytest.approx(float(Fraction(rate)))
    last = p.frame_count - 1
    with FrameReader(path, prefer=reader) as fr:
        for clip in (sample_clip(p, 0.0, 12.0, sample_fps), sample_clip(p, 12.0, 24.0, sample_fps, index=1)):
            result = fr.read(clip)
            assert result.reader == reader
            assert result.frames[0].shape == (clip.height, clip.width, 3)
            assert result.frames[0].dtype == np.uint8
            assert_exact(result, Fraction(rate), last)


@pytest.mark.parametrize("reader", READERS)
def test_stream_gives_what_read_gives(media_dir: Path, reader: str) -> None:
    path = index_video(media_dir / "index_30.mp4", rate="30", seconds=24)
    p = probe(path)
    clips = [sample_clip(p, 0.0, 12.0, 2.0), sample_clip(p, 12.0, 24.0, 0.5, index=1)]
    with FrameReader(path, prefer=reader) as fr:
        read = [fr.read(clip) for clip in clips]
    with FrameReader(path, prefer=reader) as fr:
        for clip, whole in zip(clips, read):
            stream = fr.stream(clip)
            samples = list(stream)
            assert [s.asked for s in samples] == whole.asked == clip.sample_times
            assert [s.time for s in samples] == whole.times
            assert all(np.array_equal(s.image, image) for s, image in zip(samples, whole.frames))
            assert (stream.reader, stream.missing, stream.notes) == (whole.reader, whole.missing, whole.notes)


def test_stream_keeps_no_frame_it_has_handed_out(media_dir: Path) -> None:
    import weakref

    path = index_video(media_dir / "index_30.mp4", rate="30", seconds=24)
    p = probe(path)
    refs = []
    with FrameReader(path, prefer="pyav") as fr:
        for sample in fr.stream(sample_clip(p, 0.0, 24.0, 2.0)):
            assert all(ref() is None for ref in refs), "an earlier frame is still held by the reader"
            refs.append(weakref.ref(sample.image))
            assert frame_index(sample.image) == round(sample.time * 30)
    assert len(refs) == 48


@pytest.mark.parametrize("reader", READERS)
def test_variable_frame_rate_by_presentation_time(media_dir: Path, reader: str) -> None:
    path = vfr_video(media_dir / "vfr.mp4")
    p = probe(path)
    assert p.variable_fps
    result = read_frames(path, sample_clip(p, 0.0, p.duration, 2.0), prefer=reader)
    assert result.missing == []
    times = [vfr_time(n) for n in range(90)]
    for image, t, asked in zip(result.frames, result.times, result.asked):
        nearest = min(range(90), key=lambda n: (abs(times[n] - asked), n))
        assert frame_index(image) == nearest, f"asked {asked}"
        assert t == pytest.approx(times[nearest], abs=1e-6)
    # index / nominal fps would have said frame 45 for 1.5 s; the frame shown then is 35
    at = result.asked.index(1.5)
    assert frame_index(result.frames[at]) == 35


def ffmpeg_upright_frame(path: Path, t: float) -> np.ndarray:
    """ffmpeg's own autorotated frame at ``t`` (the reference for display rotation)."""
    out = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-ss", str(t), "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        capture_output=True, check=True,
    ).stdout
    p = probe(path)
    return np.frombuffer(out, np.uint8).reshape(p.height, p.width, 3)


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("degrees", [90, 270])
def test_rotated_video_comes_out_upright(media_dir: Path, reader: str, degrees: int) -> None:
    source = media_dir / "rot_source.mp4"
    if not source.exists():  # an asymmetric picture: a white block in the top-left corner
        ffmpeg("-f", "lavfi", "-i", "color=c=black:s=320x180:r=30:d=2,drawbox=x=0:y=0:w=80:h=40:c=white:t=fill",
               "-c:v", "libx264", "-pix_fmt", "yuv420p", str(source))
    path = media_dir / f"rot{degrees}.mp4"
    if not path.exists():
        ffmpeg("-i", str(source), "-c", "copy", "-metadata:s:v:0", f"rotate={degrees}", str(path))
    p = probe(path)
    assert (p.width, p.height) == (180, 320)
    clip = sample_clip(p, 0.0, 2.0, 2.0)
    clip = type(clip)(**{**clip.to_dict(), "width": 180, "height": 320})
    result = read_frames(path, clip, prefer=reader)
    reference = ffmpeg_upright_frame(path, 0.5).astype(int)
    got = result.frames[1].astype(int)
    assert got.shape == reference.shape == (320, 180, 3)
    assert np.abs(got - reference).mean() < 8


@pytest.mark.parametrize("reader", READERS)
def test_one_frame_video(media_dir: Path, reader: str) -> None:
    path = index_video(media_dir / "one_frame.mp4", seconds=1, extra=("-frames:v", "1"))
    p = probe(path)
    assert p.duration == pytest.approx(1 / 30, abs=1e-6)
    result = read_frames(path, sample_clip(p, 0.0, p.duration, 2.0), prefer=reader)
    assert len(result.frames) == 4 and result.missing == []
    assert result.times == [0.0] * 4


@pytest.mark.parametrize("ext", ["mkv", "webm", "mov", "avi"])
def test_containers_and_unicode_names(media_dir: Path, ext: str) -> None:
    codec = "vp9" if ext == "webm" else ("mpeg4" if ext == "avi" else "h264")
    path = index_video(media_dir / f"vidéo avec espaces – 日本 .{ext}", codec=codec, seconds=4, gop=60)
    p = probe(path)
    result = read_frames(path, sample_clip(p, 0.0, p.duration, 1.0))
    assert_exact(result, Fraction(30), 119)


def test_corrupt_middle_loses_only_the_damaged_frames(media_dir: Path) -> None:
    source = index_video(media_dir / "long_for_corrupt.mkv", seconds=30, gop=30)
    path = media_dir / "corrupt_middle.mkv"
    corrupt_middle(source, path)
    p = probe(path)
    got: dict[float, int] = {}
    missing: list[float] = []
    notes: list[str] = []
    with FrameReader(path) as fr:
        for i, start in enumerate(range(0, 30, 10)):
            result = fr.read(sample_clip(p, float(start), float(start + 10), 1.0, index=i))
            got.update({a: frame_index(img) for a, img in zip(result.asked, result.frames)})
            # whatever was lost, each returned frame is the one its reported time says
            assert [frame_index(img) for img in result.frames] == [round(t * 30) for t in result.times]
            missing += result.missing
            notes += result.notes
    # frames well before and after the damage are exact
    for asked in (0.0, 1.0, 5.0, 10.0, 25.0, 29.0):
        assert got[asked] == round(asked * 30)
    assert len(got) >= 20
    assert missing or any("no frames for" in note for note in notes)  # the loss is reported, not hidden


def test_truncated_file(media_dir: Path) -> None:
    source = index_video(media_dir / "for_truncate.mkv", seconds=20, gop=30)
    path = media_dir / "truncated.mkv"
    path.write_bytes(source.read_bytes()[: source.stat().st_size // 2])
    p = probe(path)
    assert 5 < p.duration < 15  # the real end of the data, not the header's claim
    result = read_frames(path, sample_clip(p, 0.0, p.duration, 1.0))
    assert all(frame_index(img) == round(a * 30) for a, img in zip(result.asked, result.frames))


def test_truncated_mp4_is_a_media_error(media_dir: Path) -> None:
    source = index_video(media_dir / "for_truncate.mp4", seconds=10)
    path = media_dir / "truncated.mp4"
    path.write_bytes(source.read_bytes()[: source.stat().st_size // 2])
    with pytest.raises(MediaError, match="not a complete video file"):
        probe(path)
