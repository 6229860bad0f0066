"""Which H.264 packets no other frame needs.

A picture whose slices all carry ``nal_ref_idc == 0`` is never used to predict another picture
(H.264 7.4.1), so a reader that does not want that picture can leave its packet out of the decoder
without changing any other frame: it is what ``skip_frame=nonref`` does inside libavcodec, decided
here per packet so that the non-reference frames we *do* sample are still decoded. With x264's
defaults (3 B-frames, pyramid) about a third of the frames of a file are such pictures, and sampling
2 of 30 frames a second leaves almost all of them undecoded.

Only H.264 is handled: in HEVC a "non-reference" picture may still be referenced from a higher
temporal sub-layer, and VP9/AV1 packets carry no such flag in a header this cheap to read.
"""

from __future__ import annotations

NAL_SLICE = 1  # coded slice of a non-IDR picture
# NAL types that make a packet indispensable whatever their nal_ref_idc: partitioned slices (2-4),
# IDR slices (5), parameter sets (7, 8, 13, 15), SVC/MVC extensions (14, 20, 21).
NAL_KEEP = frozenset({2, 3, 4, 5, 7, 8, 13, 14, 15, 20, 21})


def nal_length_size(extradata: bytes | None) -> int:
    """Bytes of the length prefix before each NAL (``avcC`` extradata, as in MP4 and Matroska),
    or 0 for Annex B streams (start codes, as in MPEG-TS and raw ``.h264``)."""
    if extradata and len(extradata) >= 7 and extradata[0] == 1:
        return (extradata[4] & 0x03) + 1
    return 0


def _headers_length_prefixed(data: bytes, size: int) -> list[int] | None:
    headers: list[int] = []
    pos = 0
    while pos < len(data):
        if pos + size >= len(data):
            return None
        length = int.from_bytes(data[pos : pos + size], "big")
        if length == 0 or pos + size + length > len(data):
            return None
        headers.append(data[pos + size])
        pos += size + length
    return headers


def _headers_annex_b(data: bytes) -> list[int] | None:
    headers: list[int] = []
    pos = data.find(b"\x00\x00\x01")
    while pos >= 0:
        if pos + 3 < len(data):
            headers.append(data[pos + 3])
        pos = data.find(b"\x00\x00\x01", pos + 3)
    return headers or None


def disposable_h264(data: bytes, length_size: int) -> bool:
    """True when the packet holds only non-reference slices (plus SEI, delimiters, filler): no
    other picture is predicted from it. False when unsure (malformed data keeps its packet)."""
    headers = _headers_length_prefixed(data, length_size) if length_size else _headers_annex_b(data)
    if not headers:
        return False
    slices = 0
    for header in headers:
        if header & 0x80:  # forbidden_zero_bit: not a NAL header we understand
            return False
        kind, ref_idc = header & 0x1F, (header >> 5) & 0x03
        if kind in NAL_KEEP:
            return False
        if kind == NAL_SLICE:
            if ref_idc:
                return False
            slices += 1
    return slices > 0
