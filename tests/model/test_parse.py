from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model.parse import SpanCitation, TimedText, parse_citations, parse_events, parse_time


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("01:23.45", 83.45), ("00:05.50", 5.5), ("1:02:03", 3723.0), ("0:00:12.5", 12.5), ("12.5s", 12.5),
     ("12.5 seconds", 12.5), ("7 sec", 7.0), ("3", 3.0), (4.25, 4.25), (2, 2.0),
     ("abc", None), ("", None), ("1:2:3:4", None), (-1, None), (True, None), (None, None), (float("nan"), None)],
)
def test_parse_time(text, seconds) -> None:  # type: ignore[no-untyped-def]
    assert parse_time(text) == (pytest.approx(seconds) if seconds is not None else None)


DENSE = '''Here are the events:
```json
[
  {"start": "00:01.50", "end": "00:04.00", "event": "A van arrives."},
  {"start_time": "00:10.00", "end_time": "00:08.00", "description": "A man waves."},
  {"timestamp": ["00:20.00", "01:30.00"], "caption": "Boxes are unloaded."},
  {"start": "02:00.00", "end": "02:10.00", "event": "Outside the clip."},
]
```'''


def test_dense_captions_json_in_fence_with_trailing_comma() -> None:
    events, notes = parse_events(DENSE, length=60.0)
    assert events == [
        TimedText(1.5, 4.0, "A van arrives."),
        TimedText(8.0, 10.0, "A man waves."),  # start after end: swapped
        TimedText(20.0, 60.0, "Boxes are unloaded."),  # clamped to the clip
    ]
    assert any("swapped" in n for n in notes)
    assert any("clamped" in n for n in notes)
    assert any("dropped" in n for n in notes)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The van arrives from 12.5 to 14 seconds.", [TimedText(12.5, 14.0, "The van arrives")]),
        ("0:00:03 - 0:00:07: a dog runs", [TimedText(3.0, 7.0, "a dog runs")]),
        ('{"start": 2, "end": 3, "event": "x"}', [TimedText(2.0, 3.0, "x")]),
        ("It happens between 5s and 9s", [TimedText(5.0, 9.0, "It happens")]),
        ("nothing timed here", []),
    ],
)
def test_prose_and_single_objects(text: str, expected: list[TimedText]) -> None:
    assert parse_events(text, length=60.0)[0] == expected


def test_citations() -> None:
    text = "The van arrives [span 2, 3.5 to 5 seconds] and leaves [span 1, 00:10.00 to 00:12.00]; [span 7, 1 to 2]."
    cited, notes = parse_citations(text, [30.0, 30.0])
    assert cited == [SpanCitation(2, 3.5, 5.0), SpanCitation(1, 10.0, 12.0)]
    assert any("span 7" in n for n in notes)


def test_bare_range_cites_the_only_span() -> None:
    assert parse_citations("From 4 to 6 seconds.", [10.0])[0] == [SpanCitation(1, 4.0, 6.0)]
    assert parse_citations("From 4 to 6 seconds.", [10.0, 10.0])[0] == []


@settings(max_examples=400, deadline=None)
@given(st.text(), st.none() | st.floats(min_value=0.1, max_value=1e5))
def test_never_raises_and_stays_in_the_clip(text: str, length: float | None) -> None:
    events, _ = parse_events(text, length)
    for e in events:
        assert 0 <= e.start <= e.end
        if length is not None:
            assert e.end <= length
    cited, _ = parse_citations(text, [length or 10.0])
    assert all(0 <= c.start <= c.end for c in cited)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 3600), st.floats(0, 3600), st.text(max_size=20)), max_size=5))
def test_json_round_trip(items: list[tuple[float, float, str]]) -> None:
    import json

    text = json.dumps([{"start": a, "end": b, "event": t} for a, b, t in items])
    events, _ = parse_events(text)
    assert [(e.start, e.end) for e in events] == [(min(a, b), max(a, b)) for a, b, _ in items]
