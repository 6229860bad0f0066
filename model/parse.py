"""Parsing model output into timed events and span citations. Never raises on arbitrary text.

Accepted: JSON (inside code fences or prose, trailing commas, single objects or lists), and prose
with "from X to Y" / "X - Y" / "between X and Y"; times as ``mm:ss.ff``, ``h:mm:ss(.f)``, ``12.5s``,
``12.5 seconds`` or bare numbers. A span whose start is after its end is swapped; a span partly
outside the clip is clamped; one wholly outside is dropped. Every such decision is logged and
returned as a note; the raw text is kept by the caller.
"""

from __future__ import annotations

import json
import logging
import math
import re
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

_NUMBER = r"\d+(?:\.\d+)?"
_TIME = rf"(?:\d+:\d{{1,2}}:\d{{1,2}}(?:\.\d+)?|\d+:\d{{1,2}}(?:\.\d+)?|{_NUMBER}\s*(?:s\b|sec\b|secs\b|seconds?\b)?)"
_RANGE = re.compile(
    rf"(?:from\s+|between\s+)?(?P<a>{_TIME})\s*(?:-|–|—|to|and|until|~)\s*(?P<b>{_TIME})", re.IGNORECASE
)
_CITATION = re.compile(
    rf"span\s*#?\s*(?P<span>\d+)\s*[,:;]?\s*(?:at\s+|from\s+|between\s+)?(?P<a>{_TIME})"
    rf"(?:\s*(?:-|–|—|to|and|until|~)\s*(?P<b>{_TIME}))?",
    re.IGNORECASE,
)
_START_KEYS = ("start", "start_time", "begin", "from", "start_timestamp")
_END_KEYS = ("end", "end_time", "stop", "to", "end_timestamp")
_TEXT_KEYS = ("event", "caption", "description", "text", "sentence", "content", "action")


@dataclass(frozen=True)
class TimedText:
    start: float
    end: float
    text: str


@dataclass(frozen=True)
class SpanCitation:
    span: int  # 1-based, as labelled in the prompt
    start: float  # seconds from the start of that span
    end: float


def parse_time(value: Any) -> float | None:
    """Seconds from ``mm:ss.ff``, ``h:mm:ss``, ``12.5s``, ``12.5 seconds``, numbers; else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(value) and value >= 0 else None
    if not isinstance(value, str):
        return None
    text = value.strip().lower()
    text = re.sub(r"\s*(s|sec|secs|second|seconds)$", "", text)
    parts = text.split(":")
    try:
        if len(parts) == 3:
            h, m, s = int(parts[0]), int(parts[1]), float(parts[2])
            total = h * 3600 + m * 60 + s
        elif len(parts) == 2:
            m, s = int(parts[0]), float(parts[1])
            total = m * 60 + s
        elif len(parts) == 1 and re.fullmatch(_NUMBER, text):
            total = float(text)
        else:
            return None
    except ValueError:
        return None
    return total if math.isfinite(total) and total >= 0 else None


def _json_candidates(text: str) -> list[Any]:
    """The first JSON list (else object) that parses: fenced blocks first, then the whole text."""
    blocks = re.findall(r"```(?:json)?\s*(.*?)```", text, re.DOTALL | re.IGNORECASE)
    for source in blocks + [text]:
        for opener, closer in (("[", "]"), ("{", "}")):
            start = source.find(opener)
            while start != -1:
                value = _balanced_json(source, start, opener, closer)
                if value is not None:
                    return [value]
                start = source.find(opener, start + 1)
    return []


def _balanced_json(source: str, start: int, opener: str, closer: str) -> Any:
    try:  # well-formed JSON, brackets inside strings included
        value, _ = json.JSONDecoder().raw_decode(source, start)
        return value if isinstance(value, (list, dict)) and value else None
    except (json.JSONDecodeError, RecursionError):
        pass
    depth = 0  # model output with trailing commas: cut at the matching bracket and repair
    for i in range(start, len(source)):
        if source[i] == opener:
            depth += 1
        elif source[i] == closer:
            depth -= 1
            if depth == 0:
                chunk = re.sub(r",\s*([}\]])", r"\1", source[start : i + 1])
                try:
                    value = json.loads(chunk)
                except (json.JSONDecodeError, RecursionError):
                    return None
                return value if isinstance(value, (list, dict)) and value else None
    return None


def _from_json(value: Any) -> list[tuple[Any, Any, str]]:
    items = value if isinstance(value, list) else [value]
    out = []
    for item in items:
        if isinstance(item, dict):
            lowered = {str(k).lower(): v for k, v in item.items()}
            text = next((str(lowered[k]) for k in _TEXT_KEYS if k in lowered), "")
            start = next((lowered[k] for k in _START_KEYS if k in lowered), None)
            end = next((lowered[k] for k in _END_KEYS if k in lowered), None)
            stamp = lowered.get("timestamp") or lowered.get("timestamps") or lowered.get("time")
            if start is None and isinstance(stamp, (list, tuple)) and len(stamp) == 2:
                start, end = stamp
            elif start is None and isinstance(stamp, str):
                match = _RANGE.search(stamp)
                if match:
                    start, end = match.group("a"), match.group("b")
            if start is not None:
                out.append((start, end if end is not None else start, text))
        elif isinstance(item, list):
            out.extend(_from_json(item))
    return out


def _from_prose(text: str) -> list[tuple[Any, Any, str]]:
    out = []
    for line in re.split(r"[\n;]+|(?<=[.!?])\s+", text):
        match = _RANGE.search(line)
        if match:
            rest = (line[: match.start()] + line[match.end() :]).strip(" :-,.")
            out.append((match.group("a"), match.group("b"), rest))
    return out


def _fit(start: float, end: float, length: float | None, what: str, notes: list[str]) -> tuple[float, float] | None:
    if start > end:
        notes.append(f"{what}: start {start} after end {end}, swapped")
        start, end = end, start
    if length is None:
        return start, end
    if start >= length:
        notes.append(f"{what}: {start}-{end} s lies outside the 0-{length:.3f} s it refers to, dropped")
        return None
    if end > length:
        notes.append(f"{what}: end {end} s past {length:.3f} s, clamped")
        end = length
    return start, end


def parse_events(text: str, length: float | None = None) -> tuple[list[TimedText], list[str]]:
    """Timed events in ``text``, times relative to the clip (``length`` seconds long if given)."""
    notes: list[str] = []
    if not isinstance(text, str) or not text.strip():
        return [], notes
    raw_items: list[tuple[Any, Any, str]] = []
    for value in _json_candidates(text):
        raw_items.extend(_from_json(value))
    if not raw_items:
        raw_items = _from_prose(text)
    events = []
    for a, b, label in raw_items:
        start, end = parse_time(a), parse_time(b)
        if start is None or end is None:
            notes.append(f"unreadable time {a!r} / {b!r}, dropped")
            continue
        fitted = _fit(start, end, length, f"event {label[:40]!r}", notes)
        if fitted:
            events.append(TimedText(fitted[0], fitted[1], label.strip()))
    for note in notes:
        log.info("model output: %s", note)
    return events, notes


def parse_citations(text: str, span_lengths: list[float]) -> tuple[list[SpanCitation], list[str]]:
    """``[span N, X to Y seconds]`` citations; with one span, bare time ranges cite it."""
    notes: list[str] = []
    if not isinstance(text, str):
        return [], notes
    found: list[tuple[int, Any, Any]] = [
        (int(m.group("span")), m.group("a"), m.group("b") or m.group("a")) for m in _CITATION.finditer(text)
    ]
    if not found and len(span_lengths) == 1:
        found = [(1, a, b) for a, b, _ in _from_prose(text)]
    citations = []
    for span, a, b in found:
        if not 1 <= span <= len(span_lengths):
            notes.append(f"citation of span {span}, but there are {len(span_lengths)}, dropped")
            continue
        start, end = parse_time(a), parse_time(b)
        if start is None or end is None:
            notes.append(f"unreadable time {a!r} / {b!r} in a citation, dropped")
            continue
        fitted = _fit(start, end, span_lengths[span - 1], f"citation of span {span}", notes)
        if fitted:
            citations.append(SpanCitation(span, *fitted))
    for note in notes:
        log.info("model output: %s", note)
    return citations, notes
