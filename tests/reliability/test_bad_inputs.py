"""A corpus of bad and unusual inputs through the API, beside a good video. Each is refused at the
upload with a reason naming it (422), or its job ends ready, or failed with a reason naming the
file; the workers keep running; the good video is unaffected (its moments equal the baseline)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.factories.media import ENCODERS, corrupt_middle, ffmpeg, vfr_video
from tests.factories.processes import wait_until
from tests.reliability.conftest import Stack, report, variant
from video_qa.db import unit_of_work
from video_qa.models import Video

REFUSED, READY, FAILED = "refused", "ready", "failed"
SRC = "testsrc2=s=320x180:r=25:d=3"


def _build(folder: Path, talk: Path) -> dict[str, tuple[Path | bytes, set[str]]]:
    """name -> (file or raw bytes, the outcomes allowed)."""
    f = folder
    f.mkdir(exist_ok=True)
    faststart = f / "faststart.mp4"
    ffmpeg("-i", str(talk), "-c", "copy", "-movflags", "+faststart", str(faststart))
    whole = talk.read_bytes()
    (f / "truncated.mp4").write_bytes(whole[: len(whole) // 2])  # index (moov) at the end: cut off
    (f / "truncated-faststart.mp4").write_bytes(faststart.read_bytes()[: faststart.stat().st_size * 6 // 10])
    corrupt_middle(faststart, f / "corrupt-middle.mp4", 0.45, 0.5)
    ffmpeg("-f", "lavfi", "-i", "sine=d=2", "-c:a", "aac", str(f / "tone.m4a"))
    ffmpeg("-f", "lavfi", "-i", SRC, "-frames:v", "1", *ENCODERS["h264"], str(f / "one-frame.mp4"))
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=7680x4320:r=2:d=1", "-frames:v", "2", *ENCODERS["h264"], str(f / "8k.mp4"))
    ffmpeg("-f", "lavfi", "-i", SRC, *ENCODERS["h264"], "-output_ts_offset", "180000", str(f / "huge-duration.mkv"))
    ffmpeg("-f", "lavfi", "-i", SRC, *ENCODERS["av1"], str(f / "av1.mkv"))
    ffmpeg("-f", "lavfi", "-i", SRC, *ENCODERS["hevc"], "-tag:v", "hvc1", str(f / "hevc.mp4"))
    ffmpeg("-f", "lavfi", "-i", SRC, *ENCODERS["vp9"], str(f / "vp9.webm"))
    ffmpeg("-f", "lavfi", "-i", SRC, *ENCODERS["h264"], str(f / "plain.mp4"))
    ffmpeg("-i", str(f / "plain.mp4"), "-c", "copy", "-metadata:s:v:0", "rotate=90", str(f / "rotated.mp4"))
    vfr_video(f / "vfr.mp4")
    unicode = f / "vidéo – 日本語 🎬.mp4"
    unicode.write_bytes(variant(talk, f, "unicode").read_bytes())
    return {
        "zero.mp4": (b"", {REFUSED}),
        "notes.mp4": (b"minutes of the meeting\n" * 200, {REFUSED}),
        "truncated.mp4": (f / "truncated.mp4", {REFUSED}),
        "truncated-faststart.mp4": (f / "truncated-faststart.mp4", {READY, FAILED}),
        "corrupt-middle.mp4": (f / "corrupt-middle.mp4", {READY, FAILED}),
        "tone.m4a": (f / "tone.m4a", {REFUSED}),
        "one-frame.mp4": (f / "one-frame.mp4", {READY}),
        "8k.mp4": (f / "8k.mp4", {READY}),
        "huge-duration.mkv": (f / "huge-duration.mkv", {READY, FAILED}),
        "av1.mkv": (f / "av1.mkv", {READY}),
        "hevc.mp4": (f / "hevc.mp4", {READY}),
        "vp9.webm": (f / "vp9.webm", {READY}),
        "rotated.mp4": (f / "rotated.mp4", {READY}),
        "vfr.mp4": (f / "vfr.mp4", {READY}),
        unicode.name: (unicode, {READY}),
    }


@pytest.fixture(scope="module")
def corpus(stack: Stack, talk: Path) -> dict[str, tuple[Path | bytes, set[str]]]:
    return _build(stack.root / "corpus", talk)


def test_each_bad_input_is_refused_or_ends_with_a_reason_and_nothing_else_suffers(
        stack: Stack, talk: Path, corpus: dict[str, tuple[Path | bytes, set[str]]], baseline: dict[str, Any]) -> None:
    outcomes: dict[str, dict[str, Any]] = {}
    with stack.worker("--name", "bad-a"), stack.worker("--name", "bad-b"):
        wait_until(lambda: stack.live_workers() >= 2, 90, 0.3, "two workers")
        status, good = stack.upload(variant(talk, stack.root, "beside-bad").read_bytes(), "good.mp4")
        assert status == 201, good
        jobs: dict[str, int] = {}
        for name, (content, _) in corpus.items():
            data = content if isinstance(content, bytes) else content.read_bytes()
            status, body = stack.upload(data, name)
            if status == 201:
                jobs[name] = body["id"]
            else:
                outcomes[name] = {"outcome": REFUSED, "status": status, "reason": body["detail"]}
                assert status == 422 and body["detail"].startswith(f"{name}: "), (name, status, body)
        for name, video_id in jobs.items():
            row = stack.wait_done(video_id, 300)
            outcomes[name] = {"outcome": row["status"], "reason": row["error"], "duration": row["duration"],
                              "size": [row["width"], row["height"]]}
        good_row = stack.wait_done(good["id"], 300)
        alive = stack.live_workers()
    report("bad_inputs", {"outcomes": outcomes, "workers_alive_at_end": alive})

    with unit_of_work(stack.engine) as session:
        paths = {v.id: Path(v.path).name for v in session.scalars(select(Video).where(Video.id.in_(list(jobs.values()))))}
    for name, (_, allowed) in corpus.items():
        got = outcomes[name]
        assert got["outcome"] in allowed, (name, got)
        if got["outcome"] == FAILED:
            assert got["reason"] and paths[jobs[name]] in got["reason"], (name, got)  # names the file
    assert outcomes["rotated.mp4"]["size"] == [180, 320]  # upright: the display size, not the coded one
    assert alive == 2  # the workers kept running
    assert good_row["status"] == "ready" and stack.moments(good["id"]) == baseline["moments"]


def test_the_corpus_is_what_it_claims(corpus: dict[str, tuple[Path | bytes, set[str]]]) -> None:
    """Codecs, sizes and rotation really are what the names say (ffprobe), so the test above covers them."""

    def stream(path: Path, entries: str) -> str:
        return subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", entries,
                               "-of", "default=nw=1:nk=1", str(path)], capture_output=True, text=True).stdout.split()

    assert stream(corpus["av1.mkv"][0], "stream=codec_name") == ["av1"]
    assert stream(corpus["hevc.mp4"][0], "stream=codec_name") == ["hevc"]
    assert stream(corpus["vp9.webm"][0], "stream=codec_name") == ["vp9"]
    assert stream(corpus["8k.mp4"][0], "stream=width,height") == ["7680", "4320"]
    assert stream(corpus["one-frame.mp4"][0], "stream=nb_frames") == ["1"]
    assert stream(corpus["rotated.mp4"][0], "stream_side_data=rotation") in (["90"], ["-90"])
