"""Exports of a video's moments: chapters and transcript as WebVTT and SRT, everything as JSON.

Cue times are the stored seconds written as ``hh:mm:ss.mmm`` (WebVTT) or ``hh:mm:ss,mmm`` (SRT),
rounded to the millisecond; a cue shorter than a millisecond is given one.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from video_qa.models import Moment, MomentKind, Video

FORMATS = {
    "chapters.vtt": (MomentKind.chapter.value, "vtt"),
    "chapters.srt": (MomentKind.chapter.value, "srt"),
    "transcript.vtt": (MomentKind.speech.value, "vtt"),
    "transcript.srt": (MomentKind.speech.value, "srt"),
    "moments.json": (None, "json"),
}
MEDIA_TYPES = {"vtt": "text/vtt; charset=utf-8", "srt": "application/x-subrip; charset=utf-8",
               "json": "application/json"}


def cue_time(seconds: float, separator: str = ".") -> str:
    ms = int(round(max(0.0, seconds) * 1000))
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{separator}{ms:03d}"


def _cue_text(text: str) -> str:
    # a blank line or "-->" would end or break a cue
    return " ".join(text.replace("-->", "->").split())


def to_vtt(moments: list[tuple[float, float, str]]) -> str:
    out = ["WEBVTT", ""]
    for i, (start, end, text) in enumerate(moments, 1):
        out += [str(i), f"{cue_time(start)} --> {cue_time(max(end, start + 0.001))}", _cue_text(text), ""]
    return "\n".join(out)


def to_srt(moments: list[tuple[float, float, str]]) -> str:
    out = []
    for i, (start, end, text) in enumerate(moments, 1):
        out += [str(i), f"{cue_time(start, ',')} --> {cue_time(max(end, start + 0.001), ',')}", _cue_text(text), ""]
    return "\n".join(out)


def moment_dict(m: Moment) -> dict[str, Any]:
    return {"id": m.id, "kind": m.kind, "clip_index": m.clip_index, "seq": m.seq, "start": m.start, "end": m.end,
            "text": m.text, "meta": m.meta}


def export(session: Session, video_id: int, name: str) -> tuple[str, str]:
    """(content, media type) of export ``name`` (a key of ``FORMATS``)."""
    if name not in FORMATS:
        raise ValueError(f"unknown export {name!r}; choose from {', '.join(FORMATS)}")
    video = session.get(Video, video_id)
    if video is None:
        raise LookupError(f"no video {video_id}")
    kind, fmt = FORMATS[name]
    stmt = select(Moment).where(Moment.video_id == video_id).order_by(Moment.start, Moment.kind, Moment.seq)
    if kind is not None:
        stmt = stmt.where(Moment.kind == kind)
    rows = session.scalars(stmt).all()
    if fmt == "json":
        body = {"video": {"id": video.id, "title": video.title, "duration": video.duration, "summary": video.summary},
                "moments": [moment_dict(m) for m in rows]}
        return json.dumps(body, ensure_ascii=False, indent=2), MEDIA_TYPES[fmt]
    triples = [(m.start, m.end, m.text) for m in rows]
    return (to_vtt(triples) if fmt == "vtt" else to_srt(triples)), MEDIA_TYPES[fmt]
