"""HTML for the Gradio app, built from database rows. Every piece of text that came from a user, a
file, a recogniser or a model (titles, captions, transcript lines, answers, errors) goes through
``esc`` and is rendered as text, never as markup. Clickable times are ``<button data-seek>``
elements; ``web/static/seek.js`` turns a click into a seek of the pane's ``<video>``."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from html import escape
from typing import Any

from video_qa.search import MARK_CLOSE, MARK_OPEN
from video_qa.timecode import format_time

LANES = (("event", "Events"), ("speech", "Speech"), ("text", "On-screen text"))
EXPORTS = (("transcript.vtt", "Transcript (WebVTT)"), ("transcript.srt", "Transcript (SRT)"),
           ("chapters.vtt", "Chapters (WebVTT)"), ("chapters.srt", "Chapters (SRT)"),
           ("moments.json", "All moments (JSON)"))
_MARKED = re.compile(re.escape(escape(MARK_OPEN)) + r"([^\[\]]*?)" + re.escape(escape(MARK_CLOSE)))


def esc(value: object) -> str:
    """Text as HTML text (quotes too, so it is safe inside attributes)."""
    return escape("" if value is None else str(value), quote=True)


def media_url(video_id: int) -> str:
    return f"/api/v1/videos/{int(video_id)}/media"


def clock(seconds: float) -> str:
    """``h:mm:ss`` for buttons (the tenth is in the tooltip)."""
    return format_time(max(0.0, seconds)).split(".")[0]


def seek_button(video_id: int, t: float, pane: str, label: str | None = None, tip: str | None = None,
                cls: str = "vqa-time", style: str = "", title: str | None = None) -> str:
    """A button that plays ``video_id`` from ``t`` seconds in the player of ``pane``."""
    attrs = {"type": "button", "class": cls, "data-seek": "1", "data-video": str(int(video_id)),
             "data-t": f"{max(0.0, float(t)):.3f}", "data-pane": pane, "title": tip or format_time(max(0.0, t))}
    if title is not None:
        attrs["data-title"] = title
    if style:
        attrs["style"] = style
    text = clock(t) if label is None else label
    return "<button " + " ".join(f'{k}="{esc(v)}"' for k, v in attrs.items()) + f">{esc(text)}</button>"


def player(video_id: int | None, title: str | None, pane: str, start: float | None = None) -> str:
    """The pane's HTML5 player (the file comes from the API, which serves only allowed folders)."""
    if video_id is None:
        return (f'<div class="vqa-player-box"><div class="vqa-player-title" data-pane="{esc(pane)}">No video selected'
                f'</div><video class="vqa-player" data-pane="{esc(pane)}" controls preload="none"></video></div>')
    start_attr = "" if start is None else f' data-start="{max(0.0, start):.3f}"'
    return (f'<div class="vqa-player-box"><div class="vqa-player-title" data-pane="{esc(pane)}">{esc(title)}</div>'
            f'<video class="vqa-player" data-pane="{esc(pane)}" data-video="{int(video_id)}"{start_attr} '
            f'src="{media_url(video_id)}" controls preload="metadata"></video></div>')


def progress(status: str, stage: str, fraction: float, error: str | None = None, title: str | None = None) -> str:
    """Ingest progress: a bar with the stage and percent (or the failure reason)."""
    percent = max(0.0, min(1.0, fraction)) * 100
    head = f'<div class="vqa-progress-title">{esc(title)}</div>' if title else ""
    if status == "failed":
        return (f'<div class="vqa-progress vqa-failed" data-status="failed">{head}'
                f'<div>Failed: <span class="vqa-error">{esc(error or "unknown reason")}</span></div></div>')
    label = "ready" if status == "ready" else f"{stage} · {percent:.0f} %"
    return (f'<div class="vqa-progress" data-status="{esc(status)}">{head}'
            f'<progress max="100" value="{percent:.1f}"></progress>'
            f'<span class="vqa-progress-label">{esc(label)}</span></div>')


def _marked(text: str) -> str:
    """Escaped text with the search's [marks] turned into <mark> (the only markup added)."""
    return _MARKED.sub(r"<mark>\1</mark>", esc(text))


def conversation(history: Sequence[dict[str, Any]], video_id: int | None, pane: str) -> str:
    """The chat: each question and its answer, the answer's moments as clickable times."""
    if not history:
        return '<div class="vqa-chat vqa-empty">Ask a question about the video.</div>'
    parts = ['<div class="vqa-chat">']
    for turn in history:
        parts.append(f'<div class="vqa-q"><b>You:</b> {esc(turn["question"])}</div>')
        answer = turn.get("answer")
        body = esc(answer) if answer else "<i>No written answer.</i>"
        parts.append(f'<div class="vqa-a"><b>VideoQA:</b> <span class="vqa-answer-text">{body}</span>')
        if turn.get("notes"):
            parts.append('<ul class="vqa-notes">' + "".join(f"<li>{esc(n)}</li>" for n in turn["notes"]) + "</ul>")
        moments = turn.get("moments") or []
        if moments and video_id is not None:
            parts.append('<ol class="vqa-moments">')
            for m in moments:
                tip = f'{format_time(m["start"])}–{format_time(m["end"])}'
                parts.append(f'<li>{seek_button(video_id, m["start"], pane, tip=tip)} '
                             f'<span class="vqa-kind">{esc(m.get("kind"))}</span> {esc(m.get("text"))}</li>')
            parts.append("</ol>")
        parts.append("</div>")
    parts.append("</div>")
    return "".join(parts)


def search_results(hits: Sequence[dict[str, Any]], pane: str, query: str) -> str:
    """Search hits: thumbnail at the moment, title, time, matched text; a click opens that video there."""
    if not query.strip():
        return '<div class="vqa-results vqa-empty">Type words to search every video.</div>'
    if not hits:
        return f'<div class="vqa-results vqa-empty">Nothing found for “{esc(query)}”.</div>'
    rows = ['<div class="vqa-results">']
    for h in hits:
        thumb = f"/api/v1/videos/{int(h['video_id'])}/thumbnail?t={h['start']:.3f}"
        rows.append(
            f'<div class="vqa-hit" data-video="{int(h["video_id"])}">'
            f'<img class="vqa-thumb" loading="lazy" alt="" src="{esc(thumb)}">'
            f'<div class="vqa-hit-body"><div class="vqa-hit-title">{esc(h["title"])}</div>'
            f'<div>{seek_button(h["video_id"], h["start"], pane, tip=format_time(h["start"]) + "–" + format_time(h["end"]), title=h["title"])}'
            f' <span class="vqa-kind">{esc(h["kind"])}</span></div>'
            f'<div class="vqa-hit-text">{_marked(h["marked"])}</div></div></div>')
    rows.append("</div>")
    return "".join(rows)


def library_table(videos: Iterable[dict[str, Any]]) -> str:
    rows = []
    for v in videos:
        summary = (v.get("summary") or "")[:300]
        status = v["status"] if v["status"] != "failed" else f'failed: {v.get("error") or ""}'
        rows.append(f'<tr data-video="{int(v["id"])}"><td>{int(v["id"])}</td><td>{esc(v["title"])}</td>'
                    f'<td>{esc(status)}</td><td>{esc(format_time(v.get("duration")))}</td><td>{esc(summary)}</td></tr>')
    if not rows:
        return '<div class="vqa-empty">No videos yet: upload one in “Upload & Ask”.</div>'
    return ('<table class="vqa-library"><thead><tr><th>#</th><th>Title</th><th>Status</th><th>Duration</th>'
            '<th>Summary</th></tr></thead><tbody>' + "".join(rows) + "</tbody></table>")


def timeline(video_id: int, duration: float, moments: Sequence[dict[str, Any]], pane: str) -> str:
    """One lane per kind; each moment a bar placed by its start and end; a click seeks the player."""
    if not duration or duration <= 0:
        return ""
    lanes = []
    for kind, label in LANES:
        bars = []
        for m in (m for m in moments if m["kind"] == kind):
            left = max(0.0, min(100.0, m["start"] / duration * 100))
            width = max(0.6, min(100.0 - left, (m["end"] - m["start"]) / duration * 100))
            tip = f'{format_time(m["start"])}–{format_time(m["end"])}  {m["text"]}'
            bars.append(seek_button(video_id, m["start"], pane, label="", tip=tip, cls=f"vqa-bar vqa-{kind}",
                                    style=f"left:{left:.3f}%;width:{width:.3f}%"))
        lanes.append(f'<div class="vqa-lane" data-kind="{kind}"><span class="vqa-lane-label">{label}</span>'
                     f'<div class="vqa-lane-track">{"".join(bars)}</div></div>')
    ticks = "".join(f'<span style="left:{p}%">{esc(clock(duration * p / 100))}</span>' for p in (0, 25, 50, 75))
    return f'<div class="vqa-timeline">{"".join(lanes)}<div class="vqa-ticks">{ticks}</div></div>'


def video_detail(video: dict[str, Any], moments: Sequence[dict[str, Any]], pane: str) -> str:
    """Library detail: status, summary, chapters, timeline, downloads, moments list."""
    vid = int(video["id"])
    parts = [f'<div class="vqa-detail" data-video="{vid}">',
             f'<h3 class="vqa-detail-title">{esc(video["title"])}</h3>',
             f'<div class="vqa-meta">{esc(video["status"])} · {esc(format_time(video.get("duration")))}'
             f'{" · " + esc(str(video["width"]) + "×" + str(video["height"])) if video.get("width") else ""}</div>']
    if video["status"] == "failed":
        parts.append(f'<div class="vqa-failed">Failed: <span class="vqa-error">{esc(video.get("error") or "unknown reason")}</span></div>')
    if video.get("summary"):
        parts.append(f'<div class="vqa-summary"><b>Summary.</b> {esc(video["summary"])}</div>')
    chapters = [m for m in moments if m["kind"] == "chapter"]
    if chapters:
        parts.append('<div class="vqa-chapters"><b>Chapters</b><ol>' + "".join(
            f'<li>{seek_button(vid, c["start"], pane)} {esc(c["text"])}</li>' for c in chapters) + "</ol></div>")
    parts.append(timeline(vid, float(video.get("duration") or 0.0), moments, pane))
    if video["status"] == "ready":
        parts.append('<div class="vqa-downloads"><b>Download</b> ' + " · ".join(
            f'<a href="/api/v1/videos/{vid}/export/{name}" download>{esc(label)}</a>' for name, label in EXPORTS)
            + "</div>")
    listed = [m for m in moments if m["kind"] != "chapter"]
    if listed:
        parts.append('<details class="vqa-moment-list"><summary>All moments ({})</summary><ol>'.format(len(listed)) + "".join(
            f'<li>{seek_button(vid, m["start"], pane)} <span class="vqa-kind">{esc(m["kind"])}</span> {esc(m["text"])}</li>'
            for m in listed) + "</ol></details>")
    parts.append("</div>")
    return "".join(parts)
