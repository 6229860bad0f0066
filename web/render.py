"""HTML for the Gradio app, built from database rows with the Jinja2 templates of
``web/templates`` (autoescape on: every title, caption, transcript line, answer and error that came
from a user, a file, a recogniser or a model is rendered as text, never as markup; the only HTML
these functions pass into a template is what another template rendered). Anything that seeks (a
time button, a result's thumbnail or text, a moment's text, a timeline bar) carries ``data-seek
data-video data-t data-pane``; ``web/static/seek.js`` turns a click on it into a seek of the pane's
``<video>``, whose ``data-media`` gives the URL to load (``web.urls``).

Times are written by ``video_qa.timecode.clock_time`` / ``clock_span``: ``h:mm:ss``, tenths only
where the uncertainty is under 0.25 s, ``±N s`` where it is 1 s or more (a moment's two ends in
one precision, one ``±N s`` after the range)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from jinja2.environment import TemplateModule
from jinja2.ext import Extension
from markupsafe import Markup

from video_qa.timecode import clock_span, clock_time, format_time
from web.urls import MEDIA_URL, export_url, media_url, thumb_url

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
TEMPLATES = Path(__file__).parent / "templates"


class JoinLines(Extension):
    """Templates are written an element a line, indented, for reading: a line break and the next
    line's indentation are not part of the output (a space the page shows stays inside a line; a
    template tag is never broken across lines)."""

    def preprocess(self, source: str, name: str | None, filename: str | None = None) -> str:
        return re.sub(r"\n[ \t]*", "", source)


def _blank_none(value: object) -> object:
    return "" if value is None else value


_env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                   undefined=StrictUndefined, finalize=_blank_none, extensions=[JoinLines], auto_reload=False)


def _render(name: str, **context: Any) -> Markup:
    return Markup(_env.get_template(name).render(**context))


def clock(seconds: float) -> str:
    """``h:mm:ss`` (the one format, whole seconds)."""
    return clock_time(max(0.0, seconds))


def span(m: Mapping[str, Any]) -> str:
    """A moment's ``start–end`` with its precision (``0:01:28–0:01:35``, ``0:04:02–0:04:10 ±3 s``); an
    uncertainty not recorded counts as none."""
    return clock_span(float(m["start"]), float(m["end"]), float(m.get("start_uncertainty") or 0.0),
                      float(m.get("end_uncertainty") or 0.0))


class Seek(NamedTuple):
    """What makes an element seek: ``pane``'s player plays ``video_id`` from ``t`` (seconds, as
    written in ``data-t``); ``title``: the player's title when the video changes (search)."""

    video_id: int
    t: str
    pane: str
    title: str | None = None


class MomentView(NamedTuple):
    """A moment as the page shows it: where it seeks, its ``start–end`` label and its tooltip."""

    seek: Seek
    label: str
    tip: str


def seek_to(video_id: int, t: float, pane: str, title: str | None = None) -> Seek:
    return Seek(int(video_id), f"{max(0.0, float(t)):.3f}", pane, title)


def moment_view(video_id: int, m: Mapping[str, Any], pane: str, title: str | None = None) -> MomentView:
    """The moment's seek, its ``start–end`` with its precision, and both times to the tenth (tooltip)."""
    return MomentView(seek_to(video_id, m["start"], pane, title), span(m),
                      f'{format_time(m["start"])}–{format_time(m["end"])}')


def _seek_macros() -> TemplateModule:
    return _env.get_template("seek.html").module


def seek_button(video_id: int, t: float, pane: str, label: str | None = None, tip: str | None = None,
                cls: str = "vqa-time", style: str = "", title: str | None = None) -> Markup:
    """A button that plays ``video_id`` from ``t`` seconds in the player of ``pane``."""
    return Markup(_seek_macros().button(seek_to(video_id, t, pane, title), clock(t) if label is None else label,
                                        tip or format_time(max(0.0, t)), cls, style))


def moment_button(video_id: int, m: Mapping[str, Any], pane: str, title: str | None = None) -> Markup:
    """The moment's ``start–end`` as a button that plays it from its own start."""
    view = moment_view(video_id, m, pane, title)
    return Markup(_seek_macros().button(view.seek, view.label, view.tip))


_env.globals.update(moment=moment_view)


def player(video_id: int | None, title: str | None, pane: str, start: float | None = None,
           status: str | None = None, error: str | None = None) -> Markup:
    """The pane's HTML5 player (the file comes from the API, which serves only allowed folders). A
    video that failed gets no player (its file cannot be played), only the reason."""
    return _render("player.html", video_id=None if video_id is None else int(video_id), title=title, pane=pane,
                   status=status, error=error, media=MEDIA_URL,
                   src=None if video_id is None else media_url(video_id),
                   start=None if start is None else f"{max(0.0, start):.3f}")


def progress(status: str, stage: str, fraction: float, error: str | None = None, title: str | None = None,
             note: str | None = None) -> Markup:
    """Ingest progress: a bar with the stage, percent and what is happening (or the failure reason)."""
    percent = max(0.0, min(1.0, fraction)) * 100
    label = "ready" if status == "ready" else f"{stage} · {percent:.0f} %"
    words = "" if status == "ready" else STAGE_WORDS.get(stage, "")
    return _render("progress.html", status=status, error=error, title=title, note=note, value=f"{percent:.1f}",
                   label=label, words=words)


def no_progress() -> Markup:
    """The progress box before any video is chosen."""
    return _render("progress.html", status=None, title=None, note=None)


def highlighted(text: str, offsets: Iterable[Sequence[int]]) -> Markup:
    """``text`` as HTML text with the search's highlights (``(start, end)`` code-point offsets into
    ``text``, half-open) in ``<mark>``: the only markup added; every piece of the text, marked or
    not, is escaped, so brackets, ``<`` or ``&`` in a transcript line are shown as they are. An
    offset pair outside the text, empty, or overlapping the previous one is skipped."""
    pieces: list[tuple[str, bool]] = []
    at = 0
    for pair in offsets:
        start, end = int(pair[0]), int(pair[1])
        if start < at or end <= start or end > len(text):
            continue
        pieces += [(text[at:start], False), (text[start:end], True)]
        at = end
    pieces.append((text[at:], False))
    return _render("highlighted.html", pieces=pieces)


def conversation(history: Sequence[dict[str, Any]], video_id: int | None, pane: str) -> Markup:
    """The chat: each question and its answer, the answer's moments as clickable times."""
    return _render("conversation.html", history=history, video_id=video_id, pane=pane)


def search_results(hits: Sequence[dict[str, Any]], pane: str, query: str) -> Markup:
    """Search hits: thumbnail at the moment, title, start–end, matched text; a click on the
    thumbnail, the title, the time or the text plays that video from that moment. Thumbnails carry
    ``data-src``: seek.js loads them as they scroll into view, never ahead of the player's video."""
    rows = []
    for h in hits if query.strip() else ():
        vid, title = int(h["video_id"]), h["title"]
        rows.append({"video_id": vid, "title": title, "thumb": thumb_url(vid, h["start"]),
                     "view": moment_view(vid, h, pane, title), "kind": h["kind"],
                     "changed": bool(h.get("changed_on_disk")), "text": highlighted(h["text"], h.get("highlights") or ())})
    return _render("search_results.html", hits=rows, query=query, changed=CHANGED)


def library_table(videos: Iterable[dict[str, Any]], total: int | None = None, offset: int = 0,
                  filtered: bool = False) -> Markup:
    """A page of the library: a click on a row opens that video (seek.js); a failed row is marked
    with its reason; the pager line says which rows of how many are shown."""
    rows = [{"id": int(v["id"]), "title": v["title"], "status": v["status"], "failed": v["status"] == "failed",
             "error": v.get("error"), "duration": clock_time(v.get("duration")),
             "summary": (v.get("summary") or "")[:300]} for v in videos]
    count = total if total is not None else len(rows)
    return _render("library_table.html", rows=rows, filtered=filtered, offset=offset, total=count,
                   first=f"{offset + 1:,}", last=f"{offset + len(rows):,}", count=f"{count:,}")


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
             empty: Mapping[str, str] | None = None) -> Markup:
    """One lane per kind. Moments closer than ``MERGE_FRACTION`` of the visible range are one bar
    (a click plays the first from its own start; the tooltip lists them). Each lane carries its
    moments as JSON so seek.js redraws it when the zoom changes. An empty lane says why."""
    if not duration or duration <= 0:
        return Markup("")
    lanes = []
    for kind, label in LANES:
        mine = [m for m in moments if m["kind"] == kind]
        bars = []
        for group in drawing_order(clusters(mine, 0.0, duration)):
            left, width = bar_geometry(group[0]["start"], max(m["end"] for m in group), 0.0, duration)
            cls = f"vqa-bar vqa-{kind}" + (" vqa-cluster" if len(group) > 1 else "")
            bars.append({"seek": seek_to(video_id, group[0]["start"], pane), "tip": _cluster_tip(group), "cls": cls,
                         "style": f"left:{left:.3f}%;width:{width:.3f}%"})
        data = json.dumps([[round(m["start"], 3), round(m["end"], 3), round(float(m.get("start_uncertainty") or 0), 3),
                            round(float(m.get("end_uncertainty") or 0), 3), m["text"]] for m in mine],
                          ensure_ascii=False)
        why = None if mine else (empty or {}).get(kind, "nothing found")
        lanes.append({"kind": kind, "label": label, "data": data, "bars": bars, "why": why})
    return _render("timeline.html", video_id=int(video_id), pane=pane, duration=f"{duration:.3f}", lanes=lanes,
                   window=f"{clock(0)}–{clock(duration)}",
                   ticks=[(p, clock(duration * p / 100)) for p in (0, 25, 50, 75)])


def moment_list(video_id: int, listed: Sequence[dict[str, Any]], pane: str) -> Markup:
    """Every moment but chapters, filtered by kind and paged in the page (seek.js), first page shown."""
    kinds = [(k, sum(m["kind"] == k for m in listed)) for k in sorted({m["kind"] for m in listed})]
    return _render("moment_list.html", video_id=int(video_id), pane=pane, page_size=MOMENTS_PAGE, kinds=kinds,
                   listed=listed,
                   pages=max(1, -(-len(listed) // MOMENTS_PAGE)))


def video_detail(video: dict[str, Any], moments: Sequence[dict[str, Any]], pane: str,
                 empty: Mapping[str, str] | None = None) -> Markup:
    """Library detail: status, summary, chapters, timeline, downloads, moments list."""
    vid, status = int(video["id"]), video["status"]
    chapters = [c for c in moments if c["kind"] == "chapter"]
    listed = [m for m in moments if m["kind"] != "chapter"]
    return _render(
        "video_detail.html", video_id=vid, pane=pane, status=status, title=video["title"],
        duration=clock_time(video["duration"]) if video.get("duration") else "",
        size=f' · {video["width"]}×{video["height"]}' if video.get("width") else "", error=video.get("error"),
        progress=progress(status, video.get("stage") or "", float(video.get("progress") or 0.0))
        if status not in ("ready", "failed") else None,
        changed=video.get("changed_on_disk"), changed_words=CHANGED, summary=video.get("summary"), chapters=chapters,
        timeline=timeline(vid, float(video.get("duration") or 0.0), moments, pane, empty) if status != "failed" else None,
        downloads=[(export_url(vid, name), label) for name, label in EXPORTS] if status == "ready" else None,
        moments=moment_list(vid, listed, pane) if listed else None)


def banner(heading: str, notice: str) -> Markup:
    """The model banner: ``heading`` on its one line, ``notice`` below it."""
    return _render("banner.html", heading=heading, notice=notice)


def head(script: str, style: str) -> Markup:
    """The page script and the style sheet, inlined (the files of ``web/static``, trusted as they are)."""
    return _render("head.html", script=Markup(script), style=Markup(style))
