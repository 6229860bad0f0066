from __future__ import annotations

import importlib
from pathlib import Path

import pytest

probe_module = importlib.import_module("video_qa.media.probe")

from tests.factories.media import ffmpeg, index_video, tone_video
from video_qa.media import MediaError, probe


def test_probe_values(media_dir: Path) -> None:
    p = probe(index_video(media_dir / "index_30000_1001.mp4", rate="30000/1001", seconds=24))
    assert (p.width, p.height, p.rotation) == (320, 180, 0)
    assert p.video_codec == "h264" and "mp4" in p.container
    assert p.nominal_fps == pytest.approx(29.97, abs=1e-3)
    assert not p.variable_fps
    assert p.frame_count == 720
    assert p.duration == pytest.approx(720 * 1001 / 30000, abs=1e-6)
    assert p.has_audio is False


def test_probe_audio(media_dir: Path) -> None:
    p = probe(tone_video(media_dir / "tone.mp4"))
    assert p.has_audio and p.audio_codec == "aac"
    assert p.duration == pytest.approx(6.0, abs=1e-6)


def test_seconds_is_exact_from_the_stream_start(media_dir: Path) -> None:
    source = index_video(media_dir / "index_30.mp4", rate="30", seconds=24)
    path = media_dir / "offset.mkv"
    if not path.exists():
        ffmpeg("-i", str(source), "-c", "copy", "-output_ts_offset", "5", str(path))
    p = probe(path)
    assert p.start_time == 5.0
    assert p.seconds(p.start_pts) == 0.0
    assert p.seconds(p.start_pts + 1500) == 1.5  # time base 1/1000
    assert p.duration == pytest.approx(24.0, abs=1e-3)


def test_bad_inputs_name_file_and_reason(tmp_path: Path, media_dir: Path) -> None:
    cases = {}
    cases["missing.mp4"] = ("no such file", None)
    cases["empty.mp4"] = ("empty file", b"")
    cases["notes.mp4"] = ("not a media file", b"just some text, renamed\n" * 50)
    for name, (reason, content) in cases.items():
        path = tmp_path / name
        if content is not None:
            path.write_bytes(content)
        with pytest.raises(MediaError, match=reason) as info:
            probe(path)
        assert str(path) in str(info.value)
        assert info.value.path == str(path)


def test_audio_only_has_no_video_stream(tmp_path: Path) -> None:
    path = tmp_path / "song.m4a"
    ffmpeg("-f", "lavfi", "-i", "sine=f=440:d=2", "-c:a", "aac", str(path))
    with pytest.raises(MediaError, match=r"no video stream \(audio only\)"):
        probe(path)


def test_absurd_dimensions(media_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(probe_module, "MAX_SIDE", 200)
    with pytest.raises(MediaError, match="absurd dimensions 320x180"):
        probe(index_video(media_dir / "index_30.mp4", rate="30", seconds=24))


def test_huge_duration_claim_in_tiny_file(tmp_path: Path, media_dir: Path) -> None:
    """A header claiming hours does not make the video hours long: the packets decide."""
    source = index_video(media_dir / "index_30.mp4", rate="30", seconds=24)
    path = tmp_path / "liar.mkv"
    ffmpeg("-i", str(source), "-c", "copy", "-metadata", "DURATION=99:00:00.000", str(path))
    assert probe(path).duration == pytest.approx(24.0, abs=0.05)
