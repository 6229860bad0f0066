"""HTML for the Gradio app, built from database rows with the Jinja2 templates of
``web/templates`` (autoescape on: every title, caption, transcript line, answer and error that came
from a user, a file, a recogniser or a model is rendered as text, never as markup; the only HTML
these functions pass into a template is what another template rendered). Anything that seeks (a
time button, a result's thumbnail or text, a moment's text, a timeline bar) carries ``data-seek
data-video data-t data-pane``; ``web/static/seek.js`` turns a click on it into a seek of the pane's
``<video>``, whose ``data-media`` gives the URL to load (``web.urls``).

Times are written by ``video_qa.timecode.clock_time`` / ``clock_span``: a moment's ``start–end`` in
tenths (``0:00:29.7–0:00:33.8``, as an answer quotes them), in whole seconds with one ``±N s`` after
the range where its uncertainty is 1 s or more; clocks and durations ``h:mm:ss``."""

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

from video_qa.analysis.summary import excerpt
from video_qa.timecode import clock_span, clock_time, format_time
from web.urls import MEDIA_URL, SIMILAR_URL, THUMB_URL, export_url, media_url, thumb_url

LANES = (("event", "Events"), ("speech", "Speech"), ("text", "On-screen text"), ("visual", "Visual"))
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
MAX_ROWS = 4  # a lane stacks overlapping bars in at most this many rows; more join a cluster
ROW_PX = 22  # height of one row of a lane (a bar is ROW_PX - 4 px high)
TICK_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 18000, 36000)  # seconds
MAX_TICKS = 8  # the tick step is the smallest of TICK_STEPS that gives at most this many ticks
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


def _maybe(value: Any) -> float | None:
    return None if value is None else float(value)


def span(m: Mapping[str, Any]) -> str:
    """A moment's ``start–end`` with its precision (``0:01:28.0–0:01:35.0``, ``0:04:02–0:04:10 ±3 s``),
    by ``clock_span``'s rule alone (the same labels as the CLI's)."""
    return clock_span(float(m["start"]), float(m["end"]), _maybe(m.get("start_uncertainty")),
                      _maybe(m.get("end_uncertainty")))


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
           status: str | None = None, notice: str | None = None, hint: str = "") -> Markup:
    """The pane's HTML5 player (the file comes from the API, which serves only allowed folders). No
    video chosen: no player to see, only ``hint`` (the ``<video>`` waits hidden for a seek to load
    one). A failed video gets no player; its reason is said once, by the progress or the detail. A
    truncated file's ``notice`` is said under the player."""
    return _render("player.html", video_id=None if video_id is None else int(video_id), title=title, pane=pane,
                   status=status, notice=notice, hint=hint, media=MEDIA_URL,
                   src=None if video_id is None else media_url(video_id),
                   start=None if start is None else f"{max(0.0, start):.3f}")


def progress(status: str, stage: str, fraction: float, error: str | None = None, title: str | None = None,
             note: str | None = None, notice: str | None = None) -> Markup:
    """Ingest progress: a bar with the stage, percent and what is happening (or the failure reason);
    a truncated file's ``notice`` (the video JSON's, as the Library's card says it) under the bar."""
    percent = max(0.0, min(1.0, fraction)) * 100
    label = "ready" if status == "ready" else f"{stage} · {percent:.0f} %"
    words = "" if status == "ready" else STAGE_WORDS.get(stage, "")
    return _render("progress.html", status=status, error=error, title=title, note=note, value=f"{percent:.1f}",
                   label=label, words=words, notice=notice)


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


def _similar_id(hit: Mapping[str, Any]) -> int | None:
    """The moment a visual hit's "Find similar" starts from (its first visual moment), or None."""
    kinds, ids = hit.get("kinds") or [hit.get("kind")], hit.get("moment_ids") or []
    return next((int(i) for k, i in zip(kinds, ids) if k == "visual"), None)


def _score(hit: Mapping[str, Any]) -> tuple[str, str] | None:
    """A find-similar hit's score as shown (two decimals) and as the API gives it (its tooltip)."""
    score = hit.get("score")
    if not isinstance(score, (int, float)) or isinstance(score, bool):
        return None
    return f"{float(score):.2f}", f"{score}"


def search_results(hits: Sequence[dict[str, Any]], pane: str, query: str, heading: str | None = None,
                   scores: bool = False) -> Markup:
    """Search hits: thumbnail at the moment, title, start–end, matched text; a click on the
    thumbnail, the title, the time or the text plays that video from that moment; a visual hit
    offers "Find similar". Thumbnails carry ``data-src``: seek.js loads them as they scroll into
    view, never ahead of the player's video. ``heading``: what the list is (find similar);
    ``scores``: show each hit's score (find similar's cosine similarity, so a weak match reads as one)."""
    rows = []
    for h in hits if query.strip() else ():
        vid, title = int(h["video_id"]), h["title"]
        rows.append({"video_id": vid, "title": title, "thumb": thumb_url(vid, h["start"]),
                     "view": moment_view(vid, h, pane, title), "kind": h["kind"], "similar": _similar_id(h),
                     "score": _score(h) if scores else None,
                     "changed": bool(h.get("changed_on_disk")), "text": highlighted(h["text"], h.get("highlights") or ())})
    return _render("search_results.html", hits=rows, query=query, changed=CHANGED, heading=heading)


def poster_time(duration: float | None) -> float:
    """Where a video's card takes its thumbnail: a tenth in, at most 10 s (past a black first frame)."""
    return min(10.0, 0.1 * float(duration or 0.0))


def title_parts(title: str) -> list[str]:
    """A file-like title cut after each ``_``, ``-`` and ``.`` (where a card may wrap it, ``<wbr>``),
    so ``broken_download.mp4`` wraps as ``broken_`` / ``download.mp4``, never mid-word."""
    return [piece for piece in re.split(r"(?<=[_.\-])", title) if piece] or [title]


def library_table(videos: Iterable[dict[str, Any]], total: int | None = None, offset: int = 0,
                  filtered: bool = False) -> Markup:
    """A page of the library as a list of cards (thumbnail, title, status, duration, summary): a
    click on one opens that video; a failed one is marked with its reason, a truncated one with
    its notice; the pager line says which of how many are shown."""
    rows = [{"id": int(v["id"]), "title": v["title"], "title_parts": title_parts(v["title"]), "status": v["status"],
             "failed": v["status"] == "failed",
             "error": v.get("error"), "notice": v.get("notice"), "duration": clock_time(v.get("duration")),
             "thumb": thumb_url(int(v["id"]), poster_time(v.get("duration")))
             if v["status"] == "ready" and v.get("duration") else None,
             "summary": excerpt([v.get("summary") or ""], 300)} for v in videos]
    count = total if total is not None else len(rows)
    return _render("library_table.html", rows=rows, filtered=filtered, offset=offset, total=count,
                   first=f"{offset + 1:,}", last=f"{offset + len(rows):,}", count=f"{count:,}")


def clusters(moments: Sequence[Mapping[str, Any]], lo: float, hi: float,
             merge: float = MERGE_FRACTION) -> list[list[Mapping[str, Any]]]:
    """Moments overlapping ``[lo, hi]`` grouped in time order: a moment that starts within
    ``merge`` of the visible range after the group's last start joins the group (seek.js does the
    same). Starts, not extents: a caption shown while a long slide title is on screen keeps a bar
    of its own, in a row of its own (``stack``), so each can be clicked."""
    gap = merge * (hi - lo)
    groups: list[list[Mapping[str, Any]]] = []
    for m in sorted((m for m in moments if m["end"] >= lo and m["start"] <= hi), key=lambda m: (m["start"], m["end"])):
        if groups and m["start"] <= groups[-1][-1]["start"] + gap:
            groups[-1].append(m)
        else:
            groups.append([m])
    return groups


def bar_geometry(start: float, end: float, lo: float, hi: float) -> tuple[float, float]:
    """(left, width) in percent of the lane: at least ``MIN_BAR`` wide, never past either edge."""
    length = hi - lo
    left = max(0.0, min(100.0, (start - lo) / length * 100))
    right = max(0.0, min(100.0, (end - lo) / length * 100))
    width = min(100.0, max(MIN_BAR, right - left))
    return min(left, 100.0 - width), width


class Bar(NamedTuple):
    """A drawn bar: its moments (time order), its row in the lane, its left and width in percent."""

    group: list[Mapping[str, Any]]
    row: int
    left: float
    width: float


def stack(groups: Sequence[list[Mapping[str, Any]]], lo: float, hi: float) -> list[Bar]:
    """Lay the groups (time order) into rows so that no bar covers another: each goes into the
    first row whose last bar ends (as drawn, ``MIN_BAR`` included) at or before its left edge; past
    ``MAX_ROWS`` rows it joins the bar of the row that ends first (a cluster). seek.js does the same."""
    bars: list[Bar] = []
    last: list[int] = []  # per row: the index in ``bars`` of its last bar
    for group in groups:
        group = list(group)
        left, width = bar_geometry(group[0]["start"], max(m["end"] for m in group), lo, hi)
        row = next((r for r, b in enumerate(last) if bars[b].left + bars[b].width <= left + 1e-9), None)
        if row is None and len(last) < MAX_ROWS:
            row = len(last)
            last.append(-1)
        if row is None:
            row = min(range(len(last)), key=lambda r: bars[last[r]].left + bars[last[r]].width)
            joined = bars[last[row]]
            merged = [*joined.group, *group]
            left, width = bar_geometry(joined.group[0]["start"], max(m["end"] for m in merged), lo, hi)
            bars[last[row]] = Bar(merged, row, left, width)
            continue
        last[row] = len(bars)
        bars.append(Bar(group, row, left, width))
    return bars


def ticks(lo: float, hi: float) -> list[tuple[float, str]]:
    """Round ticks over ``[lo, hi]``: (left in percent, ``h:mm:ss``) at the multiples of the smallest
    step of ``TICK_STEPS`` that gives at most ``MAX_TICKS`` of them (seek.js does the same)."""
    length = hi - lo
    if length <= 0:
        return []
    step = next((s for s in TICK_STEPS if length / s <= MAX_TICKS), TICK_STEPS[-1])
    first = -(-lo // step) * step
    count = int((hi - first) // step) + 1
    return [((first + i * step - lo) / length * 100, clock(first + i * step)) for i in range(count)]


def _cluster_tip(group: Sequence[Mapping[str, Any]]) -> str:
    if len(group) == 1:
        return f'{span(group[0])}  {group[0]["text"]}'
    lines = [f'{len(group)} moments {clock(group[0]["start"])}–{clock(max(m["end"] for m in group))}']
    lines += [f'{clock(m["start"])}  {m["text"]}' for m in group[:TIP_LINES]]
    if len(group) > TIP_LINES:
        lines.append(f"… and {len(group) - TIP_LINES} more")
    return "\n".join(lines)


def _lane_data(mine: Sequence[Mapping[str, Any]]) -> str:
    return json.dumps([[round(m["start"], 3), round(m["end"], 3), _maybe(m.get("start_uncertainty")),
                        _maybe(m.get("end_uncertainty")), m["text"]] for m in mine], ensure_ascii=False)


def timeline(video_id: int, duration: float, moments: Sequence[dict[str, Any]], pane: str,
             empty: Mapping[str, str] | None = None) -> Markup:
    """One lane per kind, as wide as its container. Moments closer than ``MERGE_FRACTION`` of the
    visible range are one bar (a click plays the first from its own start; the tooltip lists
    them); overlapping bars are stacked in rows (``stack``). Round ticks (``ticks``). Each lane
    carries its moments as JSON so seek.js redraws it at a zoom (wheel, drag, the zoom slider) and
    the timeline its thumbnail URL for the preview on hover. An empty lane says why."""
    if not duration or duration <= 0:
        return Markup("")
    lanes = []
    for kind, label in LANES:
        mine = [m for m in moments if m["kind"] == kind]
        bars = []
        placed = stack(clusters(mine, 0.0, duration), 0.0, duration)
        for bar in placed:
            cls = f"vqa-bar vqa-{kind}" + (" vqa-cluster" if len(bar.group) > 1 else "")
            bars.append({"seek": seek_to(video_id, bar.group[0]["start"], pane), "tip": _cluster_tip(bar.group),
                         "cls": cls, "style": f"left:{bar.left:.3f}%;width:{bar.width:.3f}%;top:{bar.row * ROW_PX + 2}px"})
        rows = max([b.row + 1 for b in placed] or [1])
        why = None if mine else (empty or {}).get(kind, "nothing found")
        lanes.append({"kind": kind, "label": label, "data": _lane_data(mine), "bars": bars, "why": why,
                      "height": f"height:{rows * ROW_PX + 2}px"})
    return _render("timeline.html", video_id=int(video_id), pane=pane, duration=f"{duration:.3f}", lanes=lanes,
                   window=f"{clock(0)}–{clock(duration)}", thumb=THUMB_URL.replace("{id}", str(int(video_id))),
                   ticks=[(f"{left:.3f}", label) for left, label in ticks(0.0, duration)], row_px=ROW_PX,
                   max_rows=MAX_ROWS)


def labels(m: Mapping[str, Any]) -> list[tuple[str, str]]:
    """A visual moment's labels with the score that decided each (``meta.labels``), best first."""
    found = (m.get("meta") or {}).get("labels") if isinstance(m.get("meta"), dict) else None
    rows = [lab for lab in found or () if isinstance(lab, dict) and lab.get("label")]
    rows.sort(key=lambda lab: -float(lab.get("score") or 0.0))
    return [(str(lab["label"]), f'{float(lab.get("score") or 0.0):.2f}') for lab in rows]


def similar_url(moment_id: int) -> str:
    return SIMILAR_URL.replace("{id}", str(int(moment_id)))


_env.globals.update(labels=labels, similar_url=similar_url)


def moment_list(video_id: int, listed: Sequence[dict[str, Any]], pane: str) -> Markup:
    """Every moment but chapters, filtered by kind and paged in the page (seek.js), first page shown;
    a visual moment shows its labels with their scores and offers "Find similar"."""
    kinds = [(k, sum(m["kind"] == k for m in listed)) for k in sorted({m["kind"] for m in listed})]
    return _render("moment_list.html", video_id=int(video_id), pane=pane, page_size=MOMENTS_PAGE, kinds=kinds,
                   listed=listed,
                   pages=max(1, -(-len(listed) // MOMENTS_PAGE)))


def video_detail(video: dict[str, Any], moments: Sequence[dict[str, Any]], pane: str,
                 empty: Mapping[str, str] | None = None) -> Markup:
    """Library detail: title, status (a failure's reason, once), summary, the timeline, downloads."""
    vid, status = int(video["id"]), video["status"]
    return _render(
        "video_detail.html", video_id=vid, pane=pane, status=status,
        duration=clock_time(video["duration"]) if video.get("duration") else "",
        size=f' · {video["width"]}×{video["height"]}' if video.get("width") else "", error=video.get("error"),
        progress=progress(status, video.get("stage") or "", float(video.get("progress") or 0.0))
        if status not in ("ready", "failed") else None,
        changed=video.get("changed_on_disk"), changed_words=CHANGED, summary=video.get("summary"),
        timeline=timeline(vid, float(video.get("duration") or 0.0), moments, pane, empty) if status != "failed" else None,
        downloads=[(export_url(vid, name), label) for name, label in EXPORTS] if status == "ready" else None)


def video_side(video: dict[str, Any] | None, moments: Sequence[dict[str, Any]], pane: str) -> Markup:
    """Beside the player: the chapters and the moments list (nothing for no video or a failed one)."""
    if video is None or video["status"] == "failed":
        return Markup("")
    vid = int(video["id"])
    chapters = [c for c in moments if c["kind"] == "chapter"]
    listed = [m for m in moments if m["kind"] != "chapter"]
    return _render("video_side.html", video_id=vid, pane=pane, chapters=chapters,
                   moments=moment_list(vid, listed, pane) if listed else None)


def header(heading: str, parts: Sequence[tuple[str, str]]) -> Markup:
    """The page's header: the name, and the models' state as one line (``heading``) that opens to
    ``parts``: (what, what it means and which setting changes it)."""
    return _render("header.html", heading=heading, parts=parts)


def head(script: str, style: str) -> Markup:
    """The page script and the style sheet, inlined (the files of ``web/static``, trusted as they are)."""
    return _render("head.html", script=Markup(script), style=Markup(style))
