from __future__ import annotations

import importlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

probe_module = importlib.import_module("video_qa.media.probe")

from tests.factories.media import ffmpeg, frame_index, index_video, tone_video
from video_qa.media import MediaError, probe
from video_qa.media.errors import DamagedMedia, MediaToolError


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
    source = index_video(media_dir / "index_30.mp4", rate="30", seconds=24)
    whole = source.read_bytes()
    cases: dict[str, tuple[str, bytes | None]] = {
        "missing.mp4": ("no such file", None),
        "empty.mp4": ("empty file (0 bytes)", b""),
        "notes.mp4": ("not a media file (Invalid data found when processing input)", b"just some text, renamed\n" * 50),
        # the index (moov) is at the end: half the file has the signature and no index
        "truncated.mp4": ("not a complete video file (the end is missing); re-upload or re-download it",
                          whole[: len(whole) // 2]),
        # every box whole, the index's name overwritten: damaged, not cut
        "no-index.mp4": ("not a readable video file (its data is damaged); re-upload or re-download it",
                         whole.replace(b"moov", b"xxxx", 1)),
    }
    for name, (reason, content) in cases.items():
        path = tmp_path / name
        if content is not None:
            path.write_bytes(content)
        with pytest.raises(MediaError) as info:
            probe(path)
        assert info.value.reason == reason, name
        assert info.value.path == str(path) and str(info.value) == f"{path}: {reason}"
        assert info.value.permanent is True
        if name in ("truncated.mp4", "no-index.mp4"):  # a media file, damaged: ffprobe's words kept apart
            assert isinstance(info.value, DamagedMedia) and info.value.cut is (name == "truncated.mp4")
            assert info.value.detail == "moov atom not found; Invalid data found when processing input"


def test_a_directory_is_not_a_video(tmp_path: Path) -> None:
    folder = tmp_path / "clips.mp4"
    folder.mkdir()
    with pytest.raises(MediaError) as info:
        probe(folder)
    assert info.value.reason == "not a regular file (a directory)"


def test_an_unreadable_file_says_so(tmp_path: Path, media_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests run as root, where chmod 000 still reads: ffprobe and Python's open are refused as the
    kernel would refuse them for another account."""
    path = tmp_path / "secret.mp4"
    path.write_bytes(index_video(media_dir / "index_30.mp4", rate="30", seconds=24).read_bytes())
    fake_ffprobe(tmp_path / "bin", monkeypatch, "secret.mp4", 'echo "$last: Permission denied" >&2; exit 1')
    real_open = Path.open

    def refuse(self: Path, *args, **kwargs):  # type: ignore[no-untyped-def]
        if self == path:
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", refuse)
    with pytest.raises(MediaError) as info:
        probe(path)
    assert info.value.reason == "cannot read the file (permission denied)"


def test_ffprobe_missing_from_path(tmp_path: Path, media_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = index_video(media_dir / "index_30.mp4", rate="30", seconds=24)
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    with pytest.raises(MediaToolError) as info:
        probe(source)
    assert info.value.reason == "ffprobe is not installed (not found on PATH)"
    assert info.value.permanent is False  # the server's problem, not the file's


def fake_ffprobe(folder: Path, monkeypatch: pytest.MonkeyPatch, when: str, then: str) -> None:
    """An ``ffprobe`` first on PATH that runs ``then`` (shell) when its arguments contain ``when``,
    else the real ffprobe."""
    real = shutil.which("ffprobe")
    assert real
    folder.mkdir()
    script = folder / "ffprobe"
    script.write_text(f'#!/bin/sh\nfor last; do :; done\ncase "$*" in *{when}*) {then} ;; esac\nexec {real} "$@"\n')
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}:{os.environ['PATH']}")


@pytest.mark.parametrize(
    ("when", "then", "error", "reason"),
    [
        # ffprobe itself refused the file (the server's ffprobe runs under another account, say)
        ("-show_streams", 'echo "$last: Permission denied" >&2; exit 1', MediaError,
         "cannot read the file (permission denied)"),
        # the packet scan is stopped: a partial scan would give a wrong duration
        ("packet=pts,duration", "kill -9 $$", MediaToolError, "ffprobe was stopped by signal 9"),
        # the loader cannot start it: not the file's fault, whatever "No such file" it says
        ("-show_streams", 'echo "ffprobe: error while loading shared libraries: libavdevice.so.59: cannot open '
         'shared object file: No such file or directory" >&2; exit 127', MediaToolError,
         "ffprobe cannot be run (exit status 127: ffprobe: error while loading shared libraries: libavdevice.so.59: "
         "cannot open shared object file: No such file or directory)"),
        # a failure that says nothing about the data is not called damage
        ("packet=pts,duration", 'echo "Cannot allocate memory" >&2; exit 1', MediaError,
         "ffprobe failed with exit status 1 (Cannot allocate memory)"),
    ],
)
def test_ffprobe_exit_status_and_stderr_decide_the_reason(
        tmp_path: Path, media_dir: Path, monkeypatch: pytest.MonkeyPatch,
        when: str, then: str, error: type[MediaError], reason: str) -> None:
    source = index_video(media_dir / "index_30.mp4", rate="30", seconds=24)
    fake_ffprobe(tmp_path / "bin", monkeypatch, when, then)
    with pytest.raises(MediaError) as info:
        probe(source)
    assert type(info.value) is error
    assert info.value.reason == reason


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


def cut_in_half(source: Path, target: Path) -> Path:
    """The first half of ``source``'s bytes, as a download that stopped half way leaves it."""
    size = source.stat().st_size
    with target.open("wb") as out:
        subprocess.run(["head", "-c", str(size // 2), str(source)], stdout=out, check=True)
    return target


def last_decodable_frame(path: Path) -> int:
    """The painted index of the last frame PyAV decodes (independently of ffprobe)."""
    import av

    last = -1
    with av.open(str(path)) as container:
        try:
            for frame in container.decode(video=0):
                last = frame_index(frame.to_ndarray(format="rgb24"))
        except av.error.FFmpegError:
            pass  # the cut: what was decoded before it is what there is
    return last


@pytest.mark.parametrize("container", ["mp4", "mkv"])
def test_a_half_downloaded_file_says_how_much_of_its_length_is_readable(
        tmp_path: Path, media_dir: Path, container: str) -> None:
    """An MP4 with its index first (or a Matroska file) cut in half keeps its header's 20 s claim;
    the probe's duration is what can be read, and the claim is kept beside it as the sign."""
    flags = ("-movflags", "+faststart") if container == "mp4" else ()
    whole = index_video(media_dir / f"whole_20s.{container}", rate="25", seconds=20, gop=25, extra=flags)
    cut = cut_in_half(whole, tmp_path / f"half.{container}")
    p = probe(cut)
    readable = (last_decodable_frame(cut) + 1) / 25  # the frames really there, by their painted index
    assert 4.0 < readable < 16.0
    # within 5 frames: the last packet may be partial, and the B-frames before it in decode order
    # (3 here) lean on it
    assert p.duration == pytest.approx(readable, abs=0.2)
    assert p.truncated and p.claimed_duration == pytest.approx(20.0, abs=0.05)
    assert not probe(whole).truncated and probe(whole).claimed_duration is None
    assert probe(whole).duration == pytest.approx(20.0, abs=1e-6)


def test_a_claim_that_counts_from_a_late_start_is_not_truncation(tmp_path: Path, media_dir: Path) -> None:
    """Timestamps that start at 50 hours (the container's duration then counts from zero): whole."""
    path = tmp_path / "late.mkv"
    ffmpeg("-i", str(index_video(media_dir / "index_30.mp4", rate="30", seconds=24)), "-c", "copy",
           "-output_ts_offset", "180000", str(path))
    p = probe(path)
    assert p.duration == pytest.approx(24.0, abs=0.05) and not p.truncated and p.claimed_duration is None
