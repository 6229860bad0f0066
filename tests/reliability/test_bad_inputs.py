"""A corpus of bad and unusual inputs through the API, beside a good video. Each input has the one
outcome the product promises, asserted by value: what is no video at all is refused at the upload
(422) with the reason, naming the file by its uploaded name; a broken video is a failed video at
once (201, nothing queued) with one reason in the user's words and what to do; or ready, keeping
what can be read (a truncated file is as long as the data that is really there, and says so). The
workers keep running; the good video is unaffected (its moments equal the baseline)."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import pytest

from tests.factories.media import ENCODERS, corrupt_middle, ffmpeg, vfr_video
from tests.factories.processes import wait_until
from tests.reliability.conftest import Stack, report, variant

REFUSED, FAILED, READY = "refused", "failed", "ready"
SRC = "testsrc2=s=320x180:r=25:d=3"  # 3.00 s, 75 frames
TALK_SECONDS, TALK_SIZE = 12.0, (640, 360)  # the reliability suite's talk


@dataclass(frozen=True)
class Expect:
    outcome: str
    reason: str = ""  # refused: the whole 422 detail; failed: the video's error
    duration: float = 0.0  # ready: seconds, from the stream's own packets
    size: tuple[int, int] | None = None  # ready: upright width and height
    claimed: float | None = None  # ready but truncated: the length its container claims


def refused(reason: str) -> Expect:
    return Expect(REFUSED, reason=reason)


def failed(reason: str) -> Expect:
    return Expect(FAILED, reason=reason)


def ready(duration: float, size: tuple[int, int] = (320, 180), claimed: float | None = None) -> Expect:
    return Expect(READY, duration=duration, size=size, claimed=claimed)


def readable_seconds(path: Path) -> float:
    """How much video a damaged file really holds: the end of its last video packet that has data,
    from its first (demuxed with PyAV, independently of the product's ffprobe scan)."""
    starts, ends = [], []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        try:
            for packet in container.demux(stream):
                if packet.pts is not None and packet.size:
                    starts.append(packet.pts)
                    ends.append(packet.pts + (packet.duration or 0))
        except av.error.FFmpegError:
            pass  # the cut: what was read before it is what there is
        assert stream.time_base is not None and ends
        return float((max(ends) - min(starts)) * stream.time_base)


def _build(folder: Path, talk: Path) -> dict[str, tuple[Path | bytes, Expect]]:
    """name -> (file or raw bytes, the one outcome expected)."""
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
        "zero.mp4": (b"", refused("zero.mp4: the file is empty")),
        "notes.mp4": (b"minutes of the meeting\n" * 200,
                      refused("notes.mp4: not a media file (Invalid data found when processing input)")),
        "truncated.mp4": (f / "truncated.mp4", failed(
            "truncated.mp4: not a complete video file (the end is missing); re-upload or re-download it")),
        "tone.m4a": (f / "tone.m4a", refused("tone.m4a: no video stream (audio only)")),
        # the index is first, so the analysis keeps the frames that are there: as long as they are,
        # and the video says it is truncated
        "truncated-faststart.mp4": (f / "truncated-faststart.mp4",
                                    ready(readable_seconds(f / "truncated-faststart.mp4"), TALK_SIZE, TALK_SECONDS)),
        # noise in the middle loses frames there, not the length
        "corrupt-middle.mp4": (f / "corrupt-middle.mp4", ready(TALK_SECONDS, TALK_SIZE)),
        "one-frame.mp4": (f / "one-frame.mp4", ready(0.04)),
        "8k.mp4": (f / "8k.mp4", ready(1.0, (7680, 4320))),
        # timestamps start at 50 hours: the length comes from the packets, not the claim
        "huge-duration.mkv": (f / "huge-duration.mkv", ready(3.0)),
        "av1.mkv": (f / "av1.mkv", ready(3.0)),
        "hevc.mp4": (f / "hevc.mp4", ready(3.0)),
        "vp9.webm": (f / "vp9.webm", ready(3.0)),
        "rotated.mp4": (f / "rotated.mp4", ready(3.0, (180, 320))),  # upright: the display size, not the coded one
        "vfr.mp4": (f / "vfr.mp4", ready(6.9 + 1 / 30)),  # last frame at 6.9 s; its packet lasts 1/30 s
        unicode.name: (unicode, ready(TALK_SECONDS, TALK_SIZE)),
    }


@pytest.fixture(scope="module")
def corpus(stack: Stack, talk: Path) -> dict[str, tuple[Path | bytes, Expect]]:
    return _build(stack.root / "corpus", talk)


def test_each_bad_input_has_its_one_outcome_and_nothing_else_suffers(
        stack: Stack, talk: Path, corpus: dict[str, tuple[Path | bytes, Expect]], baseline: dict[str, Any]) -> None:
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
        for name, video_id in jobs.items():
            row = stack.wait_done(video_id, 300)
            outcomes[name] = {"outcome": row["status"], "reason": row["error"], "duration": row["duration"],
                              "size": (row["width"], row["height"]), "claimed": row.get("claimed_duration"),
                              "notice": row.get("notice")}
        good_row = stack.wait_done(good["id"], 300)
        alive = stack.live_workers()
    report("bad_inputs", {"outcomes": outcomes, "workers_alive_at_end": alive})

    assert sorted(outcomes) == sorted(corpus)
    for name, (_, expect) in corpus.items():
        got = outcomes[name]
        assert got["outcome"] == expect.outcome, (name, got)
        if expect.outcome == REFUSED:
            assert (got["status"], got["reason"]) == (422, expect.reason), (name, got)
        elif expect.outcome == FAILED:
            assert got["reason"] == expect.reason, (name, got)
        else:
            assert got["reason"] is None and got["size"] == expect.size, (name, got)
            assert got["duration"] == pytest.approx(expect.duration, abs=0.01), (name, got)
            if expect.claimed is None:
                assert (got["claimed"], got["notice"]) == (None, None), (name, got)
            else:
                assert got["claimed"] == pytest.approx(expect.claimed, abs=0.05), (name, got)
                assert got["notice"] == f"truncated: {round(got['duration'], 1):g} s of {expect.claimed:g} s readable"
    cut = corpus["truncated-faststart.mp4"][1].duration
    assert 1.0 < cut < TALK_SECONDS - 1.0, cut  # the corpus really is cut: more than nothing, less than the whole
    assert alive == 2  # the workers kept running
    assert good_row["status"] == "ready" and stack.moments(good["id"]) == baseline["moments"]


def test_the_corpus_is_what_it_claims(corpus: dict[str, tuple[Path | bytes, Expect]]) -> None:
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
