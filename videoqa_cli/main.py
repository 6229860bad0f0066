"""``videoqa``: the parser and the entry point. Each command's handler is named as
``module:function`` under ``videoqa_cli.commands`` and imported when the command runs, so
``videoqa --help`` and the light commands load neither Celery nor the web app nor the models."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from video_qa.config import Settings, SettingsError, get_settings
from video_qa.export import FORMATS
from video_qa.logs import configure_logging
from video_qa.media.errors import MediaError
from video_qa.migrate import SchemaOutOfDate
from video_qa.models import MomentKind

Handler = Callable[[Settings, argparse.Namespace], int]
# Commands whose work is long or changes the archive log INFO by default (progress, each upgrade,
# each part done); every other command answers and exits, and logs WARNING and up unless
# ``--verbose`` is given or VIDEOQA_LOG_LEVEL is set (a model's load note is no part of an answer).
LOGS_AT_INFO = frozenset({"migrate", "ingest", "worker", "serve", "reindex"})
PIPE_CLOSED = 141  # 128 + SIGPIPE: the exit status when stdout's reader closed early (`videoqa ... | head`)


def handler_of(name: str) -> Handler:
    """``"media:cmd_plan"`` -> ``videoqa_cli.commands.media.cmd_plan``."""
    module, _, function = name.partition(":")
    return getattr(importlib.import_module(f"videoqa_cli.commands.{module}"), function)  # type: ignore[no-any-return]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="videoqa", description="Long-video understanding with honest timestamps.",
        epilog=f"Output piped into a command that stops reading early (| head) ends quietly, exit status {PIPE_CLOSED} "
               "(help: 0).")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("migrate", help="upgrade the database schema (Alembic) to the newest revision")
    p.add_argument("--revision", default="head", help="target revision (default: head)")
    p.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                   help="wait up to this long for the database to answer first (default 0)")
    p.set_defaults(handler="database:cmd_migrate")

    p = sub.add_parser("videos", help="list registered videos")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler="library:cmd_videos")

    p = sub.add_parser("probe", help="what the media layer knows about a video file")
    p.add_argument("file", help="path of the video")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler="media:cmd_probe")

    p = sub.add_parser("plan", help="the dynamic-fps clip plan ingest makes for a video file under the current settings")
    p.add_argument("file", help="path of the video")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler="media:cmd_plan")

    p = sub.add_parser("describe", help="run the vision-language model on one clip of a video file")
    p.add_argument("file", help="path of the video")
    p.add_argument("--clip", type=int, default=0, help="clip index from `videoqa plan` (default 0)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler="media:cmd_describe")

    p = sub.add_parser("ingest", help="register videos (files, or folders recursively) and queue their analysis")
    p.add_argument("paths", nargs="+", metavar="PATH", help="files or folders inside VIDEOQA_ARCHIVE_ROOTS")
    p.add_argument("--wait", action="store_true",
                   help="wait until every video is ready or failed (embedded mode with no worker: do the work here)")
    p.add_argument("--json", action="store_true", help="print [{id, path, status, error, notice, duplicate}] as JSON")
    p.add_argument("--concurrency", type=int, default=2, help="tasks at once when working in this process (default 2)")
    p.set_defaults(handler="ingest:cmd_ingest")

    p = sub.add_parser("worker", help="run a Celery worker for the ingest pipeline")
    p.add_argument("-Q", "--queues", default="cpu,gpu", help="queues to take: cpu, gpu or both (default cpu,gpu)")
    p.add_argument("--concurrency", type=int, default=1, help="worker processes (default 1: one model copy)")
    p.add_argument("--pool", choices=["prefork", "threads", "solo"], default="prefork", help="Celery pool (default prefork)")
    p.add_argument("--name", default="worker", help="prefix of the worker's name (default 'worker')")
    p.set_defaults(handler="workers:cmd_worker")

    p = sub.add_parser("workers", help="live workers (from their heartbeats); exit 1 when there is none")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--queue", choices=["cpu", "gpu"], help="only workers that take this queue")
    p.set_defaults(handler="workers:cmd_workers")

    p = sub.add_parser("serve", help="the web app and JSON API (embedded mode: with a worker inside)")
    p.add_argument("--no-worker", action="store_true", help="do not start the embedded worker")
    p.add_argument("--concurrency", type=int, default=2, help="embedded worker threads (default 2)")
    p.set_defaults(handler="workers:cmd_serve")

    p = sub.add_parser("search", help="search every video's moments (speech, on-screen text, events, visual, chapters)")
    p.add_argument("query", help="words or a sentence")
    p.add_argument("--video", type=int, help="only this video id")
    p.add_argument("--kind", action="append", choices=[k.value for k in MomentKind], help="only this kind (repeatable)")
    p.add_argument("--limit", type=int, default=20, help="most results (default 20)")
    p.add_argument("--json", action="store_true",
                   help="print [{video_id, title, start, end, kind, text, highlights, score, moment_ids, kinds, "
                        "changed_on_disk}]")
    p.set_defaults(handler="library:cmd_search")

    p = sub.add_parser("similar", help="the moments nearest a moment (or an image file): find similar")
    p.add_argument("moment_id", type=int, nargs="?", help="the moment (ids: search --json, or the API)")
    p.add_argument("--image", type=Path, help="an image file as the query instead of a moment")
    p.add_argument("--video", type=int, help="only moments of this video id")
    p.add_argument("--kind", action="append", choices=[k.value for k in MomentKind], help="only this kind (repeatable)")
    p.add_argument("--limit", type=int, default=20, help="most results (default 20)")
    p.add_argument("--json", action="store_true",
                   help="print {moment_id, space, model, query, hits: [{moment_id, video_id, start, end, score, labels, "
                        "...}]}")
    p.set_defaults(handler="library:cmd_similar")

    p = sub.add_parser("reindex", help="rebuild the vector index of the database from its moments; "
                       "on PostgreSQL, bring its words index (full text) up to the database")
    p.add_argument("--json", action="store_true",
                   help="print {folder, seconds, generation, count, watermark, visual, words}")
    p.add_argument("--words-only", action="store_true",
                   help="only bring the words index (PostgreSQL's full text) up to the database; the vector indexes "
                        "are left as they are")
    p.set_defaults(handler="index:cmd_reindex")

    p = sub.add_parser("ask", help="ask a question about one video; the answer cites moments")
    p.add_argument("video_id", type=int)
    p.add_argument("question")
    p.add_argument("--json", action="store_true",
                   help="print {question_id, answer, model, test_model, moments: [...], notes}")
    p.set_defaults(handler="library:cmd_ask")

    p = sub.add_parser("export", help="a video's chapters or transcript (WebVTT, SRT) or all moments (JSON)")
    p.add_argument("video_id", type=int)
    p.add_argument("name", choices=list(FORMATS))
    p.set_defaults(handler="library:cmd_export")

    p = sub.add_parser("models", help="each backend, where its model comes from, whether it is available offline")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--export-query", action="store_true",
                   help="first export the text-embedding model for the light query path (ONNX, into the data "
                        "folder's models/; otherwise made by `serve` at start or by the first search) and check it")
    p.set_defaults(handler="media:cmd_models")
    for command in sub.choices.values():
        command.add_argument("-v", "--verbose", action="store_true",
                             help="log INFO too (models loaded, times); the default for migrate, ingest, worker, "
                                  "serve and reindex")
    return parser


def log_level(settings: Settings, args: argparse.Namespace) -> str:
    """VIDEOQA_LOG_LEVEL where it is set, else INFO for ``LOGS_AT_INFO`` and ``--verbose``, else WARNING."""
    if "log_level" in settings.model_fields_set or args.verbose or args.command in LOGS_AT_INFO:
        return settings.log_level
    return "WARNING"


def main(argv: Sequence[str] | None = None) -> int:
    """The command's exit status; output piped into a reader that closes early (``| head``) ends
    quietly with ``PIPE_CLOSED`` (the shell's status for a process ended by SIGPIPE)."""
    try:
        status = _run(argv)
        sys.stdout.flush()  # here, not at the interpreter's exit, so a closed pipe is caught below
    except BrokenPipeError:
        # the reader is gone: nothing more can be said to it, and the interpreter's own flush of
        # stdout at exit must not fail again, so stdout is pointed at the null device
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return PIPE_CLOSED
    return status


def _run(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = get_settings()
    except SettingsError as error:
        print(error, file=sys.stderr)
        return 2
    configure_logging(log_level(settings, args), settings.log_format, quiet_libraries=args.command != "migrate")
    try:
        return handler_of(args.handler)(settings, args)
    except (SchemaOutOfDate, MediaError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
