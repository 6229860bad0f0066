"""``videoqa videos``, ``search``, ``similar``, ``ask`` and ``export``: what is in the library."""

from __future__ import annotations

import argparse
import json
import sys

from sqlalchemy import Engine

from video_qa.config import Settings
from video_qa.db import unit_of_work
from video_qa.migrate import prepare_database
from video_qa.timecode import clock_span, clock_time

VIDEO_FIELDS = ("id", "title", "status", "duration", "truncated", "claimed_duration", "notice", "width", "height",
                "error", "created_at")
HIT_FIELDS = ("video_id", "title", "start", "end", "start_uncertainty", "end_uncertainty", "kind", "text", "highlights",
              "score", "moment_ids", "kinds", "changed_on_disk")
BOLD, PLAIN = "\x1b[1m", "\x1b[0m"


def cmd_videos(settings: Settings, args: argparse.Namespace) -> int:
    from video_qa.services.videos import list_videos

    engine = prepare_database(settings)
    with unit_of_work(engine) as session:
        videos = list_videos(session)
    if args.json:
        print(json.dumps([{k: v[k] for k in VIDEO_FIELDS} for v in videos], indent=2))
        return 0
    if not videos:
        print("no videos")
        return 0
    for v in videos:  # the newest first, durations as the web app shows them
        print(f"{v['id']:>5}  {v['status']:<10}  {clock_time(v['duration']):>12}  {v['title']}")
        if v["error"]:
            print(f"       reason: {v['error']}")
        if v["notice"]:
            print(f"       {v['notice']}")
    return 0


def cmd_search(settings: Settings, args: argparse.Namespace) -> int:
    """The query is embedded by ``video_qa.analyzers.get_embedder`` (ONNX Runtime: no PyTorch in
    this process) and, with a real image-text model, by its text tower (``services.similar.visual_query``)."""
    from video_qa.analyzers import get_embedder
    from video_qa.search import Filters
    from video_qa.services.similar import visual_query
    from video_qa.services.videos import VideoNotFound, search_hits

    engine = prepare_database(settings)
    filters = Filters(video_id=args.video, kinds=tuple(args.kind or ()))
    with unit_of_work(engine) as session:
        try:
            hits = search_hits(session, engine, args.query, get_embedder(settings), filters, args.limit,
                               visual_query(settings))
        except VideoNotFound as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
    if args.json:
        print(json.dumps([{k: h[k] for k in HIT_FIELDS} for h in hits], indent=2, ensure_ascii=False))
        return 0
    if not hits:
        print("no matching moments")
    for h in hits:
        changed = "  (file changed on disk since it was analysed)" if h["changed_on_disk"] else ""
        span = clock_span(h["start"], h["end"], h["start_uncertainty"], h["end_uncertainty"])  # as the web shows it
        said = shown(h["text"], h["highlights"], sys.stdout.isatty()) if h["text"] else no_text(h["kind"])
        print(f"{h['video_id']:>5}  {span:<27} {h['kind']:<8} {h['title']}: {said}{changed}")
    return 0


def cmd_similar(settings: Settings, args: argparse.Namespace) -> int:
    """The moments nearest a moment (``video_qa.services.similar.similar_to_moment``), or an image
    file with ``--image`` (``similar_to_image``)."""
    from video_qa.search import Filters
    from video_qa.services import similar

    if (args.moment_id is None) == (args.image is None):
        print("error: give a moment id or --image FILE (one of them)", file=sys.stderr)
        return 2
    engine = prepare_database(settings)
    filters = Filters(video_id=args.video, kinds=tuple(args.kind or ()))
    try:
        with unit_of_work(engine) as session:
            if args.image is not None:
                frame = similar.decode_image(args.image.read_bytes())
                found = similar.similar_to_image(session, engine, frame, similar.image_query_embedder(settings),
                                                 filters, args.limit)
            else:
                found = similar.similar_to_moment(session, engine, settings, args.moment_id, filters, args.limit)
    except (similar.MomentNotFound, similar.NothingToCompare, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(found, indent=2, ensure_ascii=False))
        return 0
    print(f"compared by {found['space']} vectors" + (f" of {found['model']}" if found["model"] else ""))
    if not found["hits"]:
        print("no similar moments")
    for h in found["hits"]:
        span = clock_span(h["start"], h["end"], h["start_uncertainty"], h["end_uncertainty"])
        labels = ", ".join(f"{label['label']} {label['score']:.2f}" for label in h["labels"][:3])
        print(f"{h['moment_id']:>7}  {h['video_id']:>5}  {span:<27} {h['kind']:<8} {h['score']:.3f}  "
              f"{h['title']}: {h['text'] or labels or no_text(h['kind'])}")
    return 0


def no_text(kind: str) -> str:
    """What a hit without text says instead of nothing: a visual moment whose shot got no labels
    (it was found by its image vector), or a moment of another kind with empty text."""
    return "(visual moment, no labels)" if kind == "visual" else f"({kind} moment, no text)"


def shown(text: str, highlights: list[list[int]], terminal: bool) -> str:
    """A hit's text for the terminal: its highlights (offsets, ``video_qa.search.query.highlights``)
    in bold on a terminal; piped, the text as it is (``--json`` gives the offsets)."""
    if not terminal:
        return text
    out, at = [], 0
    for start, end in highlights:
        out += [text[at:start], BOLD, text[start:end], PLAIN]
        at = end
    return "".join([*out, text[at:]])


def cmd_ask(settings: Settings, args: argparse.Namespace) -> int:
    """Answered here, or by a worker of the gpu queue in server mode with a vision model (waited for)."""
    from video_qa.analyzers import get_backends
    from video_qa.services import questions
    from workers.app import ask_sender, make_celery

    engine = prepare_database(settings)
    if not _has_moments(engine, args.video_id, "ask about"):
        return 1
    send_ask = ask_sender(make_celery(settings)) if questions.answers_remotely(settings) else None
    try:
        result = questions.ask(engine, settings, send_ask, args.video_id, args.question,
                               lambda: get_backends(settings))
    except (LookupError, ValueError, questions.AnswerFailed, questions.AnswerTimedOut) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
        return 0
    if result.test_model:
        print("WARNING: a tiny random-weight test model is in use; its text is meaningless.", file=sys.stderr)
    print(result.answer if result.answer is not None else "(no answer: " + "; ".join(result.notes) + ")")
    for m in result.moments:
        span = clock_span(m["start"], m["end"], m.get("start_uncertainty"), m.get("end_uncertainty"))
        print(f"  {span}  [{m['source']}] {m['text']}")
    return 0


def cmd_export(settings: Settings, args: argparse.Namespace) -> int:
    from video_qa.export import export

    engine = prepare_database(settings)
    if not _has_moments(engine, args.video_id, "export"):
        return 1
    with unit_of_work(engine) as session:
        try:
            content, _ = export(session, args.video_id, args.name)
        except (LookupError, ValueError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
    sys.stdout.write(content if content.endswith("\n") else content + "\n")
    return 0


def _has_moments(engine: Engine, video_id: int, verb: str) -> bool:
    """False, having said why on stderr, when the video is unknown or its analysis failed."""
    from video_qa.services.videos import VideoFailed, VideoNotFound, analysed_video

    with unit_of_work(engine) as session:
        try:
            analysed_video(session, video_id)
        except VideoNotFound as error:
            print(f"error: {error}", file=sys.stderr)
            return False
        except VideoFailed as error:
            print(f"error: {error.nothing_to(verb)}", file=sys.stderr)
            return False
    return True
