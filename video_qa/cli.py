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
    url = settings.resolved_database_url
    upgrade(url, args.revision)
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="videoqa", description="Long-video understanding with honest timestamps.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("migrate", help="upgrade the database schema (Alembic) to the newest revision")
    p.add_argument("--revision", default="head", help="target revision (default: head)")
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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = get_settings()
    except SettingsError as error:
        print(error, file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    handler: Callable[[Settings, argparse.Namespace], int] = args.handler
    try:
        return handler(settings, args)
    except (SchemaOutOfDate, MediaError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
