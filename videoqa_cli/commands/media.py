"""``videoqa probe``, ``plan``, ``describe`` and ``models``: what the media layer and the models make
of a file. ``plan`` and ``describe`` plan exactly as ingest does (``video_qa.services.planning``)."""

from __future__ import annotations

import argparse
import json
import sys

from video_qa.config import Settings
from video_qa.services.planning import ClipOutOfRange, describe_clip, plan_file
from video_qa.timecode import format_time

TEST_MODEL_WARNING = "WARNING: a tiny random-weight test model is in use; its text is meaningless."


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
    p, clips = plan_file(args.file, settings)
    if args.json:
        print(json.dumps([c.to_dict() for c in clips], indent=2))
        return 0
    for c in clips:
        print(f"{c.index:>4}  {format_time(c.start)} - {format_time(c.end)}  {c.fps:6.3f} fps  {c.frames:>4} frames  "
              f"{c.width}x{c.height}  {c.tokens:>6} tokens  {c.why}")
    print(f"total {sum(c.tokens for c in clips)} visual tokens for {format_time(p.duration)}")
    return 0


def cmd_describe(settings: Settings, args: argparse.Namespace) -> int:
    """probe -> plan (as ingest) -> exact frames -> the vision-language model, for one clip of a file."""
    from model.vlm import get_vlm

    vlm = get_vlm(settings.vlm_model, settings.device, settings.vlm_max_new_tokens,
                  settings.min_pixels, settings.max_pixels)
    if vlm is None:
        print("error: no vision-language model configured: set VIDEOQA_VLM_MODEL to a Hugging Face id, "
              "a local model folder, or 'auto'", file=sys.stderr)
        return 2
    try:
        result = describe_clip(args.file, settings, args.clip, vlm)
    except ClipOutOfRange as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    clip = result.clip
    if not result.frames:
        print(f"error: {args.file}: no decodable frame in clip {clip.index}", file=sys.stderr)
        return 1
    if result.test_model:
        print(TEST_MODEL_WARNING, file=sys.stderr)
    if args.json:
        print(json.dumps({"model": result.model, "test_model": result.test_model, "clip": clip.to_dict(),
                          "caption": result.caption, "events": result.events, "raw": result.raw,
                          "notes": result.notes}, indent=2))
        return 0
    print(f"model: {result.model}")
    print(f"clip {clip.index}: {format_time(clip.start)} - {format_time(clip.end)} at {clip.fps:g} fps")
    print(f"caption: {result.caption}")
    for e in result.events:
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
