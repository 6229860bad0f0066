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
    from video_qa.media.truncation import truncation_notice

    p = probe(args.file)
    if args.json:
        print(json.dumps(p.to_dict(), indent=2))
        return 0
    cut = f"; {truncation_notice(p.duration, p.claimed_duration)}" if p.claimed_duration is not None else ""
    print(f"{p.path}: {p.container}, {p.video_codec} {p.width}x{p.height} (upright; rotation {p.rotation}), "
          f"{format_time(p.duration)}, {p.nominal_fps:.3f} fps nominal, {p.avg_fps:.3f} average"
          f"{', variable frame rate' if p.variable_fps else ''}, audio: {p.audio_codec or 'none'}{cut}")
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

    failed = args.export_query and not _export_query(settings)
    rows = describe_backends(settings)
    if args.json:  # the backends, then how search queries are embedded (role "search queries")
        queries = {"role": "search queries", "setting": "VIDEOQA_EMBED_MODEL", "value": settings.embed_model,
                   "available": True, "used": _query_path(settings)}
        print(json.dumps([row.__dict__ for row in rows] + [queries], indent=2))
    else:
        cells = [(row.role, f"{row.setting}={row.value!r}", "available offline" if row.available else "NOT AVAILABLE",
                  f"uses: {row.used}") for row in rows]
        cells.append(("search queries", f"VIDEOQA_EMBED_MODEL={settings.embed_model!r}", "",
                      f"uses: {_query_path(settings)}"))
        for line in aligned(cells):
            print(line)
    missing = [row for row in rows if not row.available]
    for row in missing:
        print(f"error: {row.role}: {row.used}; set {row.setting} to 'bundled', a local folder, or 'off'", file=sys.stderr)
    return 1 if missing or failed else 0


def aligned(rows: list[tuple[str, ...]]) -> list[str]:
    """The rows as lines whose columns each start at one offset: every column but the last padded to its
    widest cell, two spaces between columns."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return ["  ".join([*(cell.ljust(width) for cell, width in zip(row, widths)), row[-1]]) for row in rows]


def _export_query(settings: Settings) -> bool:
    """Export (or find) and checksum the light query model; False when it could not be made."""
    from model.sources import BackendUnavailable
    from video_qa.analyzers import export_embedder

    try:
        light = export_embedder(settings)
    except (BackendUnavailable, ValueError) as error:  # ValueError: the graph's checksum is wrong
        print(f"error: query model export: {error}", file=sys.stderr)
        return False
    if light is None and settings.embed_model != "off":
        print("error: the text-embedding model could not be exported for the light query path (see the log); "
              "search queries are embedded with PyTorch", file=sys.stderr)
        return False
    return True


def _query_path(settings: Settings) -> str:
    """How a search process embeds its query, read from the data folder (loads no model)."""
    from model.embeddings.folder import check_export, export_folder
    from video_qa.analyzers import embed_source

    source = embed_source(settings)
    if source.kind == "off" or not source.available:
        return "no query embedding (text embeddings are off or unavailable)"
    folder = export_folder(settings.models_dir, source.location)
    why = check_export(folder, source.location)
    if why is None:
        return f"ONNX Runtime, export in {folder}"
    return f"PyTorch until exported ({why}); `videoqa models --export-query`, `serve` or the first search exports"
