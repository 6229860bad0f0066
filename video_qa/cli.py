"""The ``videoqa`` command line. Each command owns its unit of work."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence

from sqlalchemy import select

from video_qa.config import Settings, SettingsError, get_settings
from video_qa.db import unit_of_work
from video_qa.logs import configure_logging
from video_qa.media.errors import MediaError
from video_qa.migrate import SchemaOutOfDate, prepare_database, upgrade
from video_qa.models import Video
from video_qa.timecode import format_time

log = logging.getLogger(__name__)


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    """Upgrade the schema; with --wait, first wait up to that many seconds for the database to answer
    (the prestart step of a deployment, where the database may still be starting)."""
    import time

    from sqlalchemy.exc import OperationalError

    url = settings.resolved_database_url
    deadline = time.monotonic() + max(0.0, args.wait)
    while True:
        try:
            upgrade(url, args.revision)
            break
        except OperationalError as error:
            if time.monotonic() >= deadline:
                print(f"videoqa: the database does not answer: {str(error.orig).strip()[:300]}", file=sys.stderr)
                return 1
            log.info("waiting for the database (%s)", type(error.orig).__name__)
            time.sleep(1.0)
    print(f"database migrated to {args.revision}")
    return 0


def cmd_videos(settings: Settings, args: argparse.Namespace) -> int:
    engine = prepare_database(settings)
    with unit_of_work(engine) as session:
        videos = session.scalars(select(Video).order_by(Video.id)).all()
        rows = [
            {
                "id": v.id,
                "title": v.title,
                "status": v.status,
                "duration": v.duration,
                "width": v.width,
                "height": v.height,
                "error": v.error,
                "created_at": v.created_at.isoformat(),
            }
            for v in videos
        ]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print("no videos")
        return 0
    for row in rows:
        print(f"{row['id']:>5}  {row['status']:<10}  {format_time(row['duration']):>12}  {row['title']}")
    return 0


def cmd_probe(settings: Settings, args: argparse.Namespace) -> int:
    from video_qa.media import probe

    p = probe(args.file)
    if args.json:
        print(json.dumps(p.to_dict(), indent=2))
        return 0
    print(f"{p.path}: {p.container}, {p.video_codec} {p.width}x{p.height} (upright; rotation {p.rotation}), "
          f"{format_time(p.duration)}, {p.nominal_fps:.3f} fps nominal, {p.avg_fps:.3f} average"
          f"{', variable frame rate' if p.variable_fps else ''}, audio: {p.audio_codec or 'none'}")
    return 0


def cmd_plan(settings: Settings, args: argparse.Namespace) -> int:
    from video_qa.media import plan, probe
    from video_qa.media.activity import clip_activity
    from video_qa.media.plan import clip_edges

    p = probe(args.file)
    activity = clip_activity(args.file, p, clip_edges(p.duration, settings.clip_seconds)) if settings.adaptive_fps else None
    clips = plan(p, settings, activity)
    if args.json:
        print(json.dumps([c.to_dict() for c in clips], indent=2))
        return 0
    for c in clips:
        print(f"{c.index:>4}  {format_time(c.start)} - {format_time(c.end)}  {c.fps:6.3f} fps  {c.frames:>4} frames  "
              f"{c.width}x{c.height}  {c.tokens:>6} tokens  {c.why}")
    print(f"total {sum(c.tokens for c in clips)} visual tokens for {format_time(p.duration)}")
    return 0


def cmd_describe(settings: Settings, args: argparse.Namespace) -> int:
    """probe -> plan -> exact frames -> the vision-language model, for one clip of a file."""
    from model.vlm import get_vlm
    from video_qa.media import plan, probe, read_frames

    vlm = get_vlm(settings.vlm_model, settings.device, settings.vlm_max_new_tokens,
                  settings.min_pixels, settings.max_pixels)
    if vlm is None:
        print("error: no vision-language model configured: set VIDEOQA_VLM_MODEL to a Hugging Face id, "
              "a local model folder, or 'auto'", file=sys.stderr)
        return 2
    p = probe(args.file)
    clips = plan(p, settings)
    if not 0 <= args.clip < len(clips):
        print(f"error: {args.file} has clips 0..{len(clips) - 1}", file=sys.stderr)
        return 2
    clip = clips[args.clip]
    frames = read_frames(args.file, clip, p)
    if not frames.frames:
        print(f"error: {args.file}: no decodable frame in clip {clip.index}", file=sys.stderr)
        return 1
    result = vlm.describe_clip(frames.images, frames.times, clip.fps)
    origin = frames.times[0]
    events = [{"start": origin + e.start, "end": origin + e.end, "text": e.text} for e in result.events]
    if vlm.is_test_model:
        print("WARNING: a tiny random-weight test model is in use; its text is meaningless.", file=sys.stderr)
    if args.json:
        print(json.dumps({"model": result.model, "test_model": vlm.is_test_model, "clip": clip.to_dict(),
                          "caption": result.caption, "events": events, "raw": result.raw,
                          "notes": result.notes + frames.notes}, indent=2))
        return 0
    print(f"model: {result.model}")
    print(f"clip {clip.index}: {format_time(clip.start)} - {format_time(clip.end)} at {clip.fps:g} fps")
    print(f"caption: {result.caption}")
    for e in events:
        print(f"  {format_time(e['start'])} - {format_time(e['end'])}  {e['text']}")
    return 0


def cmd_models(settings: Settings, args: argparse.Namespace) -> int:
    from video_qa.analyzers import describe_backends

    rows = describe_backends(settings)
    if args.json:
        print(json.dumps([row.__dict__ for row in rows], indent=2))
    else:
        for row in rows:
            state = "available offline" if row.available else "NOT AVAILABLE"
            print(f"{row.role:<16} {row.setting}={row.value!r:<10} {state:<18} uses: {row.used}")
    missing = [row for row in rows if not row.available]
    for row in missing:
        print(f"error: {row.role}: {row.used}; set {row.setting} to 'bundled', a local folder, or 'off'", file=sys.stderr)
    return 1 if missing else 0


def cmd_search(settings: Settings, args: argparse.Namespace) -> int:
    from video_qa.analyzers import get_embedder
    from video_qa.search import Filters, search

    engine = prepare_database(settings)
    filters = Filters(video_id=args.video, kinds=tuple(args.kind or ()))
    with unit_of_work(engine) as session:
        hits = search(session, engine, args.query, get_embedder(settings), filters, args.limit)
    rows = [{"video_id": h.video_id, "title": h.title, "start": round(h.start, 3), "end": round(h.end, 3),
             "kind": h.kind, "text": h.text, "score": round(h.score, 6)} for h in hits]
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    if not rows:
        print("no matching moments")
    for h in hits:
        print(f"{h.video_id:>5}  {format_time(h.start):>10} - {format_time(h.end):<10} {h.kind:<8} {h.title}: {h.marked}")
    return 0


def cmd_ask(settings: Settings, args: argparse.Namespace) -> int:
    from video_qa.analyzers import get_backends
    from video_qa.ask import ask

    engine = prepare_database(settings)
    with unit_of_work(engine) as session:
        try:
            result = ask(session, engine, settings, args.video_id, args.question, get_backends(settings))
        except (LookupError, ValueError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
    if args.json:
        print(json.dumps({"answer": result.answer, "model": result.model, "test_model": result.test_model,
                          "moments": result.moments, "notes": result.notes}, indent=2, ensure_ascii=False))
        return 0
    if result.test_model:
        print("WARNING: a tiny random-weight test model is in use; its text is meaningless.", file=sys.stderr)
    print(result.answer if result.answer is not None else "(no answer: " + "; ".join(result.notes) + ")")
    for m in result.moments:
        print(f"  {format_time(m['start'])} - {format_time(m['end'])}  [{m['source']}] {m['text']}")
    return 0


def cmd_export(settings: Settings, args: argparse.Namespace) -> int:
    from video_qa.export import export

    engine = prepare_database(settings)
    with unit_of_work(engine) as session:
        try:
            content, _ = export(session, args.video_id, args.name)
        except (LookupError, ValueError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
    sys.stdout.write(content if content.endswith("\n") else content + "\n")
    return 0


def _workers_command(name: str) -> Callable[[Settings, argparse.Namespace], int]:
    """Commands that start workers live in ``workers.commands`` (imported when used)."""

    def handler(settings: Settings, args: argparse.Namespace) -> int:
        from workers import commands

        return getattr(commands, name)(settings, args)  # type: ignore[no-any-return]

    return handler


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="videoqa", description="Long-video understanding with honest timestamps.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("migrate", help="upgrade the database schema (Alembic) to the newest revision")
    p.add_argument("--revision", default="head", help="target revision (default: head)")
    p.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                   help="wait up to this long for the database to answer first (default 0)")
    p.set_defaults(handler=cmd_migrate)

    p = sub.add_parser("videos", help="list registered videos")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_videos)

    p = sub.add_parser("probe", help="what the media layer knows about a video file")
    p.add_argument("file", help="path of the video")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_probe)

    p = sub.add_parser("plan", help="the dynamic-fps clip plan for a video file under the current settings")
    p.add_argument("file", help="path of the video")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_plan)

    p = sub.add_parser("describe", help="run the vision-language model on one clip of a video file")
    p.add_argument("file", help="path of the video")
    p.add_argument("--clip", type=int, default=0, help="clip index from `videoqa plan` (default 0)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_describe)

    p = sub.add_parser("ingest", help="register videos (files, or folders recursively) and queue their analysis")
    p.add_argument("paths", nargs="+", metavar="PATH", help="files or folders inside VIDEOQA_ARCHIVE_ROOTS")
    p.add_argument("--wait", action="store_true",
                   help="wait until every video is ready or failed (embedded mode with no worker: do the work here)")
    p.add_argument("--json", action="store_true", help="print [{id, path, status, error}] as JSON")
    p.add_argument("--concurrency", type=int, default=2, help="tasks at once when working in this process (default 2)")
    p.set_defaults(handler=_workers_command("cmd_ingest"))

    p = sub.add_parser("worker", help="run a Celery worker for the ingest pipeline")
    p.add_argument("-Q", "--queues", default="cpu,gpu", help="queues to take: cpu, gpu or both (default cpu,gpu)")
    p.add_argument("--concurrency", type=int, default=1, help="worker processes (default 1: one model copy)")
    p.add_argument("--pool", choices=["prefork", "threads", "solo"], default="prefork", help="Celery pool (default prefork)")
    p.add_argument("--name", default="worker", help="prefix of the worker's name (default 'worker')")
    p.set_defaults(handler=_workers_command("cmd_worker"))

    p = sub.add_parser("workers", help="live workers (from their heartbeats); exit 1 when there is none")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--queue", choices=["cpu", "gpu"], help="only workers that take this queue")
    p.set_defaults(handler=_workers_command("cmd_workers"))

    p = sub.add_parser("serve", help="the web app and JSON API (embedded mode: with a worker inside)")
    p.add_argument("--no-worker", action="store_true", help="do not start the embedded worker")
    p.add_argument("--concurrency", type=int, default=2, help="embedded worker threads (default 2)")
    p.set_defaults(handler=_workers_command("cmd_serve"))

    from video_qa.export import FORMATS
    from video_qa.models import MomentKind

    p = sub.add_parser("search", help="search every video's moments (speech, on-screen text, events, chapters)")
    p.add_argument("query", help="words or a sentence")
    p.add_argument("--video", type=int, help="only this video id")
    p.add_argument("--kind", action="append", choices=[k.value for k in MomentKind], help="only this kind (repeatable)")
    p.add_argument("--limit", type=int, default=20, help="most results (default 20)")
    p.add_argument("--json", action="store_true", help="print [{video_id, title, start, end, kind, text, score}]")
    p.set_defaults(handler=cmd_search)

    p = sub.add_parser("ask", help="ask a question about one video; the answer cites moments")
    p.add_argument("video_id", type=int)
    p.add_argument("question")
    p.add_argument("--json", action="store_true", help="print {answer, model, moments: [...]}")
    p.set_defaults(handler=cmd_ask)

    p = sub.add_parser("export", help="a video's chapters or transcript (WebVTT, SRT) or all moments (JSON)")
    p.add_argument("video_id", type=int)
    p.add_argument("name", choices=list(FORMATS))
    p.set_defaults(handler=cmd_export)

    p = sub.add_parser("models", help="each backend, where its model comes from, whether it is available offline")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_models)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = get_settings()
    except SettingsError as error:
        print(error, file=sys.stderr)
        return 2
    configure_logging(settings.log_level, settings.log_format)
    handler: Callable[[Settings, argparse.Namespace], int] = args.handler
    try:
        return handler(settings, args)
    except (SchemaOutOfDate, MediaError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
