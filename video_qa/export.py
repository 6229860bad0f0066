"""Exports of a video's moments: chapters and transcript as WebVTT and SRT, everything as JSON.

Cue times are the stored seconds written by ``video_qa.timecode.cue_time`` as ``hh:mm:ss.mmm``
(WebVTT) or ``hh:mm:ss,mmm`` (SRT), rounded to the millisecond; a cue shorter than a millisecond is
given one. In ``moments.json`` the same precision: each moment's ``start`` and ``end`` and the
video's ``duration`` are seconds rounded to the millisecond (``59.63``, not the stored float's
``59.629999999999995``), as its uncertainties already are.
"""

from __future__ import annotations

import json

from sqlalchemy.orm import Session

from video_qa.models import MomentKind, Video
from video_qa.services.videos import moment_dict, moment_rows
from video_qa.timecode import cue_time

FORMATS = {
    "chapters.vtt": (MomentKind.chapter.value, "vtt"),
    "chapters.srt": (MomentKind.chapter.value, "srt"),
    "transcript.vtt": (MomentKind.speech.value, "vtt"),
    "transcript.srt": (MomentKind.speech.value, "srt"),
    "moments.json": (None, "json"),
}
MILLISECOND_DIGITS = 3  # times in moments.json: seconds to the millisecond, like every cue
MEDIA_TYPES = {"vtt": "text/vtt; charset=utf-8", "srt": "application/x-subrip; charset=utf-8",
               "json": "application/json"}


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


def export(session: Session, video_id: int, name: str) -> tuple[str, str]:
    """(content, media type) of export ``name`` (a key of ``FORMATS``)."""
    if name not in FORMATS:
        raise ValueError(f"unknown export {name!r}; choose from {', '.join(FORMATS)}")
    video = session.get(Video, video_id)
    if video is None:
        raise LookupError(f"no video {video_id}")
    kind, fmt = FORMATS[name]
    rows = moment_rows(session, video_id, kind)
    if fmt == "json":
        duration = None if video.duration is None else round(video.duration, MILLISECOND_DIGITS)
        body = {"video": {"id": video.id, "title": video.title, "duration": duration, "summary": video.summary},
                "moments": [{**moment_dict(m), "start": round(m.start, MILLISECOND_DIGITS),
                             "end": round(m.end, MILLISECOND_DIGITS)} for m in rows]}
        return json.dumps(body, ensure_ascii=False, indent=2), MEDIA_TYPES[fmt]
    triples = [(m.start, m.end, m.text) for m in rows]
    return (to_vtt(triples) if fmt == "vtt" else to_srt(triples)), MEDIA_TYPES[fmt]
