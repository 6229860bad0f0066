"""The H.264 non-reference packet test agrees with libavcodec (that leaving those packets out
changes no returned frame is checked with the PyAV decoder, in decode/test_pyav.py)."""

from __future__ import annotations

from pathlib import Path

import av
import pytest

from tests.factories.media import ffmpeg, index_video
from video_qa.media.nal import disposable_h264, nal_length_size

AVCC = bytes([1, 0x64, 0x00, 0x1F, 0xFF, 0xE1, 0x00])  # avcC header, 4-byte NAL lengths


def prefixed(*nals: bytes, size: int = 4) -> bytes:
    return b"".join(len(nal).to_bytes(size, "big") + nal for nal in nals)


def annex_b(*nals: bytes) -> bytes:
    return b"".join(b"\x00\x00\x00\x01" + nal for nal in nals)


NONREF_SLICE = bytes([0x01, 0x9E, 0x12, 0x34])  # nal_ref_idc 0, type 1
REF_SLICE = bytes([0x41, 0x9A, 0x12, 0x34])  # nal_ref_idc 2, type 1
IDR_SLICE = bytes([0x65, 0x88, 0x80, 0x40])  # type 5
SEI = bytes([0x06, 0x05, 0x01, 0x80])
SPS = bytes([0x67, 0x64, 0x00, 0x1F])


def test_length_size_from_extradata() -> None:
    assert nal_length_size(AVCC) == 4
    assert nal_length_size(bytes([1, 0x64, 0, 0x1F, 0xFD, 0xE1, 0])) == 2
    assert nal_length_size(None) == 0
    assert nal_length_size(annex_b(SPS)) == 0


@pytest.mark.parametrize("wrap", [lambda *n: prefixed(*n), lambda *n: prefixed(*n, size=2), annex_b])
def test_disposable_by_nal_headers(wrap) -> None:  # type: ignore[no-untyped-def]
    size = 0 if wrap is annex_b else len(wrap(SEI)) - len(SEI)
    assert disposable_h264(wrap(NONREF_SLICE), size)
    assert disposable_h264(wrap(SEI, NONREF_SLICE, NONREF_SLICE), size)  # SEI and two slices of one picture
    assert not disposable_h264(wrap(REF_SLICE), size)
    assert not disposable_h264(wrap(NONREF_SLICE, REF_SLICE), size)
    assert not disposable_h264(wrap(IDR_SLICE), size)
    assert not disposable_h264(wrap(SPS, NONREF_SLICE), size)
    assert not disposable_h264(wrap(SEI), size)  # no picture in it: keep


def test_malformed_packets_are_kept() -> None:
    whole = prefixed(NONREF_SLICE)
    assert not disposable_h264(whole[:-1], 4)  # length runs past the end
    assert not disposable_h264(b"\x00\x00\x00\x00" + whole, 4)  # zero-length NAL
    assert not disposable_h264(prefixed(bytes([0x81, 0, 0])), 4)  # forbidden bit set
    assert not disposable_h264(b"", 4)
    assert not disposable_h264(b"\x12\x34", 0)  # no start code


def nonref_by_libavcodec(path: Path) -> tuple[set[int], set[int]]:
    """(pts of every frame, pts of frames libavcodec skips with skip_frame=NONREF)."""
    with av.open(str(path)) as container:
        every = {p.pts for p in container.demux(container.streams.video[0]) if p.pts is not None}
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.codec_context.skip_frame = "NONREF"
        kept = {frame.pts for frame in container.decode(stream)}
    return every, every - kept


def ours(path: Path) -> set[int]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        size = nal_length_size(stream.codec_context.extradata)
        return {
            p.pts for p in container.demux(stream)
            if p.pts is not None and disposable_h264(bytes(p), size)
        }


@pytest.mark.parametrize("container", ["mp4", "ts", "mkv"])
@pytest.mark.parametrize("bframes", [0, 1, 3])
def test_agrees_with_libavcodec_skip_nonref(media_dir: Path, container: str, bframes: int) -> None:
    source = index_video(media_dir / f"nal_bf{bframes}.mp4", seconds=6, gop=60, bframes=bframes)
    path = source if container == "mp4" else media_dir / f"nal_bf{bframes}.{container}"
    if not path.exists():
        ffmpeg("-i", str(source), "-c", "copy", str(path))
    every, skipped_by_ffmpeg = nonref_by_libavcodec(path)
    assert ours(path) == skipped_by_ffmpeg
    if bframes >= 1:  # x264 makes its (non-pyramid) B-frames non-reference
        assert len(skipped_by_ffmpeg) >= len(every) // (bframes + 2)
    else:
        assert skipped_by_ffmpeg == set()
