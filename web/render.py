"""HTML for the Gradio app, built from database rows. Every piece of text that came from a user, a
file, a recogniser or a model (titles, captions, transcript lines, answers, errors) goes through
``esc`` and is rendered as text, never as markup. Anything that seeks (a time button, a result's
thumbnail or text, a moment's text, a timeline bar) carries ``data-seek data-video data-t
data-pane``; ``web/static/seek.js`` turns a click on it into a seek of the pane's ``<video>``.

Times are written by ``video_qa.timecode.clock_time`` / ``clock_span``: ``h:mm:ss``, tenths only
where the moment's uncertainty is under 0.25 s, `` ±N s`` where it is 1 s or more."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from typing import Any

from video_qa.timecode import clock_span, clock_time, format_time

LANES = (("event", "Events"), ("speech", "Speech"), ("text", "On-screen text"))
EXPORTS = (("transcript.vtt", "Transcript (WebVTT)"), ("transcript.srt", "Transcript (SRT)"),
           ("chapters.vtt", "Chapters (WebVTT)"), ("chapters.srt", "Chapters (SRT)"),
           ("moments.json", "All moments (JSON)"))
CHANGED = "changed on disk since it was analysed"
STAGE_WORDS = {"registered": "waiting for a worker", "queued": "waiting for a worker",
               "probing": "reading the file's streams and planning its clips",
               "analyzing": "hearing, reading and watching its clips (the percent moves as each part finishes)",
               "finalizing": "joining text tracks, making chapters and the summary"}
MERGE_FRACTION = 0.005  # bars closer than this share of the visible range are drawn as one cluster
MIN_BAR = 0.6  # percent of the lane: the narrowest bar (still clickable)
TIP_LINES = 12  # a cluster's tooltip lists at most this many moments
MOMENTS_PAGE = 50  # the moments list shows this many at a time


def esc(value: object) -> str:
    """Text as HTML text (quotes too, so it is safe inside attributes)."""
    return escape("" if value is None else str(value), quote=True)


def media_url(video_id: int) -> str:
    return f"/api/v1/videos/{int(video_id)}/media"


def thumb_url(video_id: int, t: float) -> str:
    return f"/api/v1/videos/{int(video_id)}/thumbnail?t={max(0.0, float(t)):.3f}"


def clock(seconds: float) -> str:
    """``h:mm:ss`` (the one format, whole seconds)."""
    return clock_time(max(0.0, seconds))


def span(m: Mapping[str, Any]) -> str:
    """A moment's ``start–end`` with its precision (``0:01:28–0:01:35``, ``0:04:02 ±1 s–0:04:10``)."""
    return clock_span(float(m["start"]), float(m["end"]), float(m.get("start_uncertainty") or 0.0),
                      float(m.get("end_uncertainty") or 0.0))


def _attrs(attrs: Mapping[str, str]) -> str:
    return " ".join(f'{k}="{esc(v)}"' for k, v in attrs.items())


def seek_attrs(video_id: int, t: float, pane: str, title: str | None = None) -> dict[str, str]:
    """The attributes that make any element seek ``pane``'s player to ``t`` in ``video_id``."""
    attrs = {"data-seek": "1", "data-video": str(int(video_id)), "data-t": f"{max(0.0, float(t)):.3f}",
             "data-pane": pane}
    if title is not None:
        attrs["data-title"] = title
    return attrs


def seek_button(video_id: int, t: float, pane: str, label: str | None = None, tip: str | None = None,
                cls: str = "vqa-time", style: str = "", title: str | None = None) -> str:
    """A button that plays ``video_id`` from ``t`` seconds in the player of ``pane``."""
    attrs = {"type": "button", "class": cls, **seek_attrs(video_id, t, pane, title),
             "title": tip or format_time(max(0.0, t))}
    if style:
        attrs["style"] = style
    text = clock(t) if label is None else label
    return f"<button {_attrs(attrs)}>{esc(text)}</button>"


def moment_button(video_id: int, m: Mapping[str, Any], pane: str, title: str | None = None) -> str:
    """The moment's ``start–end`` as a button that plays it from its own start."""
    tip = f'{format_time(m["start"])}–{format_time(m["end"])}'
    return seek_button(video_id, m["start"], pane, label=span(m), tip=tip, title=title)


def seek_text(video_id: int, m: Mapping[str, Any], pane: str, text: str, cls: str,
              title: str | None = None) -> str:
    """A moment's text that seeks too (a click on the words plays the moment)."""
    return f'<span class="{cls} vqa-seekable" {_attrs(seek_attrs(video_id, m["start"], pane, title))}>{esc(text)}</span>'


def player(video_id: int | None, title: str | None, pane: str, start: float | None = None,
           status: str | None = None, error: str | None = None) -> str:
    """The pane's HTML5 player (the file comes from the API, which serves only allowed folders). A
    video that failed gets no player (its file cannot be played), only the reason."""
    if video_id is None:
        return (f'<div class="vqa-player-box"><div class="vqa-player-title" data-pane="{esc(pane)}">No video selected'
                f'</div><video class="vqa-player" data-pane="{esc(pane)}" controls preload="none"></video></div>')
    head = f'<div class="vqa-player-title" data-pane="{esc(pane)}">{esc(title)}</div>'
    if status == "failed":
        return (f'<div class="vqa-player-box vqa-noplay" data-video="{int(video_id)}">{head}'
                f'<div class="vqa-failed" role="status">This video cannot be played: '
                f'<span class="vqa-error">{esc(error or "unknown reason")}</span></div></div>')
    start_attr = "" if start is None else f' data-start="{max(0.0, start):.3f}"'
    return (f'<div class="vqa-player-box">{head}'
            f'<video class="vqa-player" data-pane="{esc(pane)}" data-video="{int(video_id)}"{start_attr} '
            f'src="{media_url(video_id)}" controls preload="metadata"></video></div>')


def progress(status: str, stage: str, fraction: float, error: str | None = None, title: str | None = None,
             note: str | None = None) -> str:
    """Ingest progress: a bar with the stage, percent and what is happening (or the failure reason)."""
    percent = max(0.0, min(1.0, fraction)) * 100
    head = f'<div class="vqa-progress-title">{esc(title)}</div>' if title else ""
    if note:
        head += f'<div class="vqa-note" role="status">{esc(note)}</div>'
    if status == "failed":
        return (f'<div class="vqa-progress vqa-failed" data-status="failed">{head}'
                f'<div>Failed: <span class="vqa-error">{esc(error or "unknown reason")}</span></div></div>')
    label = "ready" if status == "ready" else f"{stage} · {percent:.0f} %"
    words = "" if status == "ready" else STAGE_WORDS.get(stage, "")
    doing = f'<div class="vqa-progress-doing">{esc(words)}</div>' if words else ""
    return (f'<div class="vqa-progress" data-status="{esc(status)}">{head}'
            f'<progress max="100" value="{percent:.1f}"></progress>'
            f'<span class="vqa-progress-label">{esc(label)}</span>{doing}</div>')


def highlighted(text: str, offsets: Iterable[Sequence[int]]) -> str:
    """``text`` as HTML text with the search's highlights (``(start, end)`` code-point offsets into
    ``text``, half-open) in ``<mark>``: the only markup added; every piece of the text, marked or
    not, is escaped, so brackets, ``<`` or ``&`` in a transcript line are shown as they are. An
    offset pair outside the text, empty, or overlapping the previous one is skipped."""
    parts, at = [], 0
    for pair in offsets:
        start, end = int(pair[0]), int(pair[1])
        if start < at or end <= start or end > len(text):
            continue
        parts.append(f"{esc(text[at:start])}<mark>{esc(text[start:end])}</mark>")
        at = end
    parts.append(esc(text[at:]))
    return "".join(parts)


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
                parts.append(f'<li>{moment_button(video_id, m, pane)} <span class="vqa-kind">{esc(m.get("kind"))}</span> '
                             f'{seek_text(video_id, m, pane, m.get("text") or "", "vqa-moment-text")}</li>')
            parts.append("</ol>")
        parts.append("</div>")
    parts.append("</div>")
    return "".join(parts)


def search_results(hits: Sequence[dict[str, Any]], pane: str, query: str) -> str:
    """Search hits: thumbnail at the moment, title, start–end, matched text; a click on the
    thumbnail, the title, the time or the text plays that video from that moment. Thumbnails carry
    ``data-src``: seek.js loads them as they scroll into view, never ahead of the player's video."""
    if not query.strip():
        return '<div class="vqa-results vqa-empty">Type words to search every video.</div>'
    if not hits:
        return f'<div class="vqa-results vqa-empty">Nothing found for “{esc(query)}”.</div>'
    rows = ['<div class="vqa-results">']
    for h in hits:
        vid, title = int(h["video_id"]), h["title"]
        seek = _attrs(seek_attrs(vid, h["start"], pane, title))
        changed = f' <span class="vqa-changed">{CHANGED}</span>' if h.get("changed_on_disk") else ""
        rows.append(
            f'<div class="vqa-hit" data-video="{vid}">'
            f'<img class="vqa-thumb vqa-seekable" loading="lazy" decoding="async" alt="" width="160" height="90" '
            f'data-src="{esc(thumb_url(vid, h["start"]))}" {seek}>'
            f'<div class="vqa-hit-body"><div class="vqa-hit-title vqa-seekable" {seek}>{esc(title)}</div>'
            f'<div>{moment_button(vid, h, pane, title=title)}'
            f' <span class="vqa-kind">{esc(h["kind"])}</span>{changed}</div>'
            f'<div class="vqa-hit-text vqa-seekable" {seek}>{highlighted(h["text"], h.get("highlights") or ())}</div></div></div>')
    rows.append("</div>")
    return "".join(rows)


def library_table(videos: Iterable[dict[str, Any]], total: int | None = None, offset: int = 0,
                  filtered: bool = False) -> str:
    """A page of the library: a click on a row opens that video (seek.js); a failed row is marked
    with its reason; the pager line says which rows of how many are shown."""
    rows = []
    for v in videos:
        summary = (v.get("summary") or "")[:300]
        failed = v["status"] == "failed"
        status = (f'<span class="vqa-badge vqa-badge-failed">failed</span> <span class="vqa-error">'
                  f'{esc(v.get("error") or "unknown reason")}</span>') if failed else \
            f'<span class="vqa-badge vqa-badge-{esc(v["status"])}">{esc(v["status"])}</span>'
        rows.append(f'<tr data-video="{int(v["id"])}" data-open="1" tabindex="0" title="Open this video"'
                    f' class="vqa-row{" vqa-row-failed" if failed else ""}"><td class="vqa-col-id">{int(v["id"])}</td>'
                    f'<td class="vqa-col-title">{esc(v["title"])}</td><td class="vqa-col-status">{status}</td>'
                    f'<td class="vqa-col-duration">{esc(clock_time(v.get("duration")))}</td>'
                    f'<td class="vqa-col-summary">{esc(summary)}</td></tr>')
    if not rows:
        if filtered:
            return '<div class="vqa-empty">No video matches this filter.</div>'
        return '<div class="vqa-empty">No videos yet: upload one in “Upload & Ask”.</div>'
    shown = len(rows)
    count = total if total is not None else shown
    pager = (f'<div class="vqa-pager-info" data-offset="{offset}" data-total="{count}">'
             f'{offset + 1:,}–{offset + shown:,} of {count:,} videos · click a row to open it</div>')
    return (pager + '<table class="vqa-library"><thead><tr><th class="vqa-col-id">#</th><th class="vqa-col-title">Title'
            '</th><th class="vqa-col-status">Status</th><th class="vqa-col-duration">Duration</th>'
            '<th class="vqa-col-summary">Summary</th></tr></thead><tbody>' + "".join(rows) + "</tbody></table>")


def clusters(moments: Sequence[Mapping[str, Any]], lo: float, hi: float,
             merge: float = MERGE_FRACTION) -> list[list[Mapping[str, Any]]]:
    """Moments overlapping ``[lo, hi]`` grouped in time order: a moment that starts within
    ``merge`` of the visible range after the group's last start joins the group (seek.js does the
    same). Starts, not extents: a caption shown while a long slide title is on screen keeps a bar
    of its own, drawn over the title's (``drawing_order``), so each can be clicked."""
    gap = merge * (hi - lo)
    groups: list[list[Mapping[str, Any]]] = []
    for m in sorted((m for m in moments if m["end"] >= lo and m["start"] <= hi), key=lambda m: (m["start"], m["end"])):
        if groups and m["start"] <= groups[-1][-1]["start"] + gap:
            groups[-1].append(m)
        else:
            groups.append([m])
    return groups


def drawing_order(groups: list[list[Mapping[str, Any]]]) -> list[list[Mapping[str, Any]]]:
    """Longest first (stable): a shorter bar lying over a longer one is drawn later, on top."""
    return sorted(groups, key=lambda g: -(max(m["end"] for m in g) - g[0]["start"]))


def bar_geometry(start: float, end: float, lo: float, hi: float) -> tuple[float, float]:
    """(left, width) in percent of the lane: at least ``MIN_BAR`` wide, never past either edge."""
    length = hi - lo
    left = max(0.0, min(100.0, (start - lo) / length * 100))
    right = max(0.0, min(100.0, (end - lo) / length * 100))
    width = min(100.0, max(MIN_BAR, right - left))
    return min(left, 100.0 - width), width


def _cluster_tip(group: Sequence[Mapping[str, Any]]) -> str:
    if len(group) == 1:
        return f'{span(group[0])}  {group[0]["text"]}'
    lines = [f'{len(group)} moments {clock(group[0]["start"])}–{clock(max(m["end"] for m in group))}']
    lines += [f'{clock(m["start"])}  {m["text"]}' for m in group[:TIP_LINES]]
    if len(group) > TIP_LINES:
        lines.append(f"… and {len(group) - TIP_LINES} more")
    return "\n".join(lines)


def timeline(video_id: int, duration: float, moments: Sequence[dict[str, Any]], pane: str,
             empty: Mapping[str, str] | None = None) -> str:
    """One lane per kind. Moments closer than ``MERGE_FRACTION`` of the visible range are one bar
    (a click plays the first from its own start; the tooltip lists them). Each lane carries its
    moments as JSON so seek.js redraws it when the zoom changes. An empty lane says why."""
    if not duration or duration <= 0:
        return ""
    lanes = []
    for kind, label in LANES:
        mine = [m for m in moments if m["kind"] == kind]
        bars = []
        for group in drawing_order(clusters(mine, 0.0, duration)):
            left, width = bar_geometry(group[0]["start"], max(m["end"] for m in group), 0.0, duration)
            cls = f"vqa-bar vqa-{kind}" + (" vqa-cluster" if len(group) > 1 else "")
            bars.append(seek_button(video_id, group[0]["start"], pane, label="", tip=_cluster_tip(group), cls=cls,
                                    style=f"left:{left:.3f}%;width:{width:.3f}%"))
        data = json.dumps([[round(m["start"], 3), round(m["end"], 3), round(float(m.get("start_uncertainty") or 0), 3),
                            round(float(m.get("end_uncertainty") or 0), 3), m["text"]] for m in mine],
                          ensure_ascii=False)
        why = "" if mine else f'<span class="vqa-lane-empty">{esc((empty or {}).get(kind, "nothing found"))}</span>'
        lanes.append(f'<div class="vqa-lane" data-kind="{kind}"><span class="vqa-lane-label">{label}</span>'
                     f'<div class="vqa-lane-track" data-moments="{esc(data)}">{"".join(bars)}{why}</div></div>')
    ticks = "".join(f'<span style="left:{p}%">{esc(clock(duration * p / 100))}</span>' for p in (0, 25, 50, 75))
    zoom = (f'<div class="vqa-zoom"><label>Zoom <input type="range" class="vqa-zoom-level" min="0" max="100" '
            f'value="0" aria-label="Zoom"></label><label>Position <input type="range" class="vqa-zoom-pan" min="0" '
            f'max="1000" value="0" aria-label="Position" disabled></label><span class="vqa-zoom-window">'
            f'{esc(clock(0))}–{esc(clock(duration))}</span></div>')
    return (f'<div class="vqa-timeline" data-video="{int(video_id)}" data-pane="{esc(pane)}" '
            f'data-duration="{duration:.3f}">{zoom}{"".join(lanes)}<div class="vqa-ticks">{ticks}</div></div>')


def moment_list(video_id: int, listed: Sequence[dict[str, Any]], pane: str) -> str:
    """Every moment but chapters, filtered by kind and paged in the page (seek.js), first page shown."""
    kinds = sorted({m["kind"] for m in listed})
    options = '<option value="">all kinds</option>' + "".join(
        f'<option value="{esc(k)}">{esc(k)} ({sum(m["kind"] == k for m in listed)})</option>' for k in kinds)
    items = "".join(
        f'<li data-kind="{esc(m["kind"])}"{" hidden" if i >= MOMENTS_PAGE else ""}>{moment_button(video_id, m, pane)} '
        f'<span class="vqa-kind">{esc(m["kind"])}</span> {seek_text(video_id, m, pane, m["text"], "vqa-moment-text")}</li>'
        for i, m in enumerate(listed))
    pages = max(1, -(-len(listed) // MOMENTS_PAGE))
    return (f'<div class="vqa-moment-list" data-page-size="{MOMENTS_PAGE}"><b>Moments ({len(listed)})</b> '
            f'<select class="vqa-mkind" aria-label="Kind">{options}</select> '
            f'<button type="button" class="vqa-mprev" disabled>‹ Prev</button> '
            f'<span class="vqa-mpage">page 1 of {pages}</span> '
            f'<button type="button" class="vqa-mnext"{" disabled" if pages == 1 else ""}>Next ›</button>'
            f"<ol>{items}</ol></div>")


def video_detail(video: dict[str, Any], moments: Sequence[dict[str, Any]], pane: str,
                 empty: Mapping[str, str] | None = None) -> str:
    """Library detail: status, summary, chapters, timeline, downloads, moments list."""
    vid = int(video["id"])
    size = f' · {video["width"]}×{video["height"]}' if video.get("width") else ""
    parts = [f'<div class="vqa-detail" data-video="{vid}" data-status="{esc(video["status"])}">',
             f'<h3 class="vqa-detail-title">{esc(video["title"])}</h3>',
             f'<div class="vqa-meta">{esc(video["status"])}'
             f'{" · " + esc(clock_time(video["duration"])) if video.get("duration") else ""}{esc(size)}</div>']
    if video["status"] == "failed":
        parts.append(f'<div class="vqa-failed">Failed: <span class="vqa-error">{esc(video.get("error") or "unknown reason")}</span></div>')
    elif video["status"] != "ready":
        parts.append(progress(video["status"], video.get("stage") or "", float(video.get("progress") or 0.0)))
    if video.get("changed_on_disk"):
        parts.append(f'<div class="vqa-changed" role="status">{CHANGED} — Re-analyse to see its moments.</div>')
    if video.get("summary"):
        parts.append(f'<div class="vqa-summary"><b>Summary.</b> {esc(video["summary"])}</div>')
    chapters = [m for m in moments if m["kind"] == "chapter"]
    if chapters:
        parts.append('<div class="vqa-chapters"><b>Chapters</b><ol>' + "".join(
            f'<li>{moment_button(vid, c, pane)} {seek_text(vid, c, pane, c["text"], "vqa-chapter-text")}</li>'
            for c in chapters) + "</ol></div>")
    if video["status"] != "failed":
        parts.append(timeline(vid, float(video.get("duration") or 0.0), moments, pane, empty))
    if video["status"] == "ready":
        parts.append('<div class="vqa-downloads"><b>Download</b> ' + " · ".join(
            f'<a href="/api/v1/videos/{vid}/export/{name}" download>{esc(label)}</a>' for name, label in EXPORTS)
            + "</div>")
    listed = [m for m in moments if m["kind"] != "chapter"]
    if listed:
        parts.append(moment_list(vid, listed, pane))
    parts.append("</div>")
    return "".join(parts)
