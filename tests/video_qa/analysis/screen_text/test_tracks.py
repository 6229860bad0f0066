"""On-screen text: noise out, tracks with honest intervals, changing text kept out, stitching
across clip boundaries, change-gated reading (``gate``), a clip scanned as it is decoded
(``scan``); by value, on readings and on generated media."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from model.ocr import Reading
from tests.factories.media import slide_deck, text_video
from video_qa.analysis.chapters import content_chapters
from video_qa.analysis.screen_text.gate import read_samples
from video_qa.analysis.screen_text.scan import read_clip_text
from video_qa.analysis.screen_text.tracks import (build_tracks, clean, clip_text_moments, is_blend, is_noise,
                                                    stitch)
from video_qa.analysis.summary import extractive_summary
from video_qa.analyzers import get_ocr
from video_qa.config import load_settings
from video_qa.media import probe, read_frames
from video_qa.media.plan import ClipPlan, sampling_plan
from video_qa.moments.values import NewMoment
from video_qa.pipeline.clock import Clock

SIZE = (640, 360)
Deck = tuple[list[NewMoment], list[dict[str, int]]]


def reading(text: str, x: float = 100, y: float = 40, w: float = 300, h: float = 40, score: float = 0.95) -> Reading:
    box = (x, y, x + w, y + h)
    return Reading(text, score, box, ((x, y), (x + w, y), (x + w, y + h), (x, y + h)))


def moments(samples: list[list[Reading]], start: float = 0.0, end: float = 20.0, index: int = 0,
            d: float = 2.0) -> list[NewMoment]:
    times = [start + k * d for k in range(len(samples))]
    return clip_text_moments(samples, times, start, end, index, d, SIZE, 0.6)


# ---- noise

@pytest.mark.parametrize("text,score", [("口", 0.99), ("中", 0.9), ("日", 0.95), ("_", 0.99), ("à", 0.97), ("·-", 0.99),
                                        ("l", 0.99), ("Il", 0.7), ("ab", 0.8), ("7", 0.99), ("QUARTERLY", 0.5)])
def test_glyphs_and_fragments_are_noise(text: str, score: float) -> None:
    assert is_noise(reading(text, score=score), 0.6)


@pytest.mark.parametrize("text,score", [("12", 0.9), ("OK", 0.97), ("Q3 plan", 0.7), ("EXIT 12", 0.9)])
def test_short_real_text_is_kept(text: str, score: float) -> None:
    assert not is_noise(reading(text, score=score), 0.6)


def test_a_script_the_clip_does_not_use_is_noise_and_glyph_noise_makes_no_moment() -> None:
    slide = [reading("QUARTERLY PLAN"), reading("Notes for the plan", y=140)]
    samples = [slide + [reading("口中日", x=500, y=300, w=60, score=0.9)], slide + [reading("à", x=20, y=300, w=10)],
               slide + [reading("_", x=30, y=310, w=10)], slide]
    assert sorted(m.text for m in moments(samples)) == ["Notes for the plan", "QUARTERLY PLAN"]
    assert clean([[reading("中文标题很长"), reading("中文")]], 0.6) == [[reading("中文标题很长"), reading("中文")]]


# ---- tracks and honest intervals

def test_a_track_starts_at_its_first_sighting_with_the_time_it_may_have_appeared_before() -> None:
    # samples at 0, 2, ..., 18; the caption is read at 6, 8, 10
    samples = [[] for _ in range(10)]
    for k in (3, 4, 5):
        samples[k] = [reading("EXIT 12")]
    (m,) = moments(samples)
    assert (m.start, m.end) == (6.0, 11.0)  # ends half-way to the first sample without it
    assert m.meta["start_uncertainty"] == 2.0 and m.meta["end_uncertainty"] == 1.0
    assert m.meta["first_seen"] == 6.0 and m.meta["last_seen"] == 10.0 and m.meta["samples"] == 3


def test_a_reading_seen_once_still_has_a_length() -> None:
    samples = [[], [], [reading("EXIT 12")], []]
    (m,) = moments(samples)
    assert m.start == 4.0 and m.end == 5.0 and m.end > m.start


def test_ocr_wobble_is_one_track_and_one_missed_sample_does_not_split_it() -> None:
    samples = [[reading("Quarterly budget 2026")], [reading("Quarterly budqet 2026")], [],
               [reading("quarterly budget 2026.")], [reading("Quarterly budget 2026")]]
    (m,) = moments(samples, end=10.0)
    assert m.text == "Quarterly budget 2026" and (m.start, m.end) == (0.0, 9.0)


def test_the_same_text_elsewhere_at_the_same_time_is_another_track() -> None:
    samples = [[reading("GATE 4"), reading("GATE 4", y=300)]] * 3
    assert len(moments(samples, end=6.0)) == 2


def test_a_running_counter_is_one_changing_track_and_no_moment() -> None:
    samples = [[reading("QUARTERLY PLAN"), reading(f"{100 + 50 * k}", x=590, y=8, w=40, h=24)] for k in range(30)]
    changing = [t for t in build_tracks(samples) if t.changing]
    assert len(changing) == 1 and [r.text for _, r in changing[0].sightings] == [f"{100 + 50 * k}" for k in range(30)]
    assert [(m.text, m.start, m.end) for m in moments(samples, end=60.0)] == [("QUARTERLY PLAN", 0.0, 59.0)]


def test_a_few_ticks_of_a_clock_or_counter_without_a_letter_make_no_moment() -> None:
    """A clip's last two samples see two values of the clock: too few to be a changing region by
    count, but digits without a letter changing at one place are changing text all the same."""
    clock = [[reading("00:01:58.000", x=0, y=330, w=120, h=20), reading("3550", x=590, y=8, w=40, h=24)],
             [reading("00:02:00.000", x=0, y=330, w=120, h=20), reading("3600", x=590, y=8, w=40, h=24)]]
    assert moments(clock, end=4.0) == []
    assert [m.text for m in moments([[reading("INVOICE 2041")], [reading("INVOICE 2041")]], end=4.0)] == ["INVOICE 2041"]


def test_a_slide_number_that_changes_per_slide_is_not_changing_text() -> None:
    samples = [[reading(f"Slide {1 + k // 5}", x=560, y=320, w=70, h=24)] for k in range(15)]
    ms = moments(samples, end=30.0)
    assert [m.text for m in ms] == ["Slide 1", "Slide 2", "Slide 3"] and not any(m.meta.get("changing") for m in ms)


# ---- across clip boundaries

def test_stitch_joins_a_track_across_a_clip_boundary_and_is_idempotent() -> None:
    # clip 0 [0, 45) samples 0..44, clip 1 [45, 90) samples 45..89; the caption read at 42, 44, 45, 47
    s0 = [[reading("INVOICE 2041")] if k in (21, 22) else [] for k in range(23)]
    s1 = [[reading("INVOICE 2041", x=102)] if k in (0, 1) else [] for k in range(23)]
    a = moments(s0, 0.0, 45.0, 0)
    b = moments(s1, 45.0, 90.0, 1)
    assert a[0].meta["open_end"] and b[0].meta["open_start"]
    (m,) = stitch(a + b)
    assert (m.start, m.end) == (42.0, 48.0)
    assert m.meta["start_uncertainty"] == 2.0 and m.meta["end_uncertainty"] == 1.0
    assert m.meta["clips"] == [0, 1] and m.meta["samples"] == 4
    assert [(x.start, x.end, x.text) for x in stitch([m])] == [(42.0, 48.0, "INVOICE 2041")]
    assert len(stitch([m] + b)) == 1  # clip 1 read again after a stitch: absorbed, not doubled


def test_stitch_keeps_apart_what_was_not_at_the_boundary_or_not_in_the_same_place() -> None:
    s0 = [[reading("INVOICE 2041")] if k == 20 else [] for k in range(23)]  # gone before the clip's end
    s1 = [[reading("INVOICE 2041")] if k == 0 else [] for k in range(23)]
    assert len(stitch(moments(s0, 0.0, 45.0, 0) + moments(s1, 45.0, 90.0, 1))) == 2
    s0 = [[reading("INVOICE 2041")] if k == 22 else [] for k in range(23)]
    s1 = [[reading("INVOICE 2041", y=300)] if k == 0 else [] for k in range(23)]
    assert len(stitch(moments(s0, 0.0, 45.0, 0) + moments(s1, 45.0, 90.0, 1))) == 2


# ---- change gating

class CountingReader:
    def __init__(self, lines: list[Reading]) -> None:
        self.lines, self.whole, self.regions = lines, 0, 0

    def __call__(self, frame: np.ndarray, region: tuple[int, int, int, int] | None = None) -> list[Reading]:
        if region is None:
            self.whole += 1
        else:
            self.regions += 1
        return list(self.lines)


def test_change_gating_reads_a_static_slide_once(tmp_path: Path) -> None:
    path = text_video(tmp_path / "static.mp4", seconds=20, items=((0, 30, "STATIC SLIDE", "(w-tw)/2", "100", 40),))
    p = probe(path)
    frames = read_frames(path, sampling_plan(0.0, 20.0, 0.5, p), p)
    reader = CountingReader([reading("STATIC SLIDE")])
    samples, stats = read_samples(reader, frames.frames)
    assert reader.whole == 1 and reader.regions == 0 and stats.skipped == len(frames.frames) - 1
    assert all(s == [reading("STATIC SLIDE")] for s in samples)
    (m,) = clip_text_moments(samples, frames.times, 0.0, 20.0, 0, 2.0, SIZE, 0.6)
    assert (m.start, m.end) == (0.0, 19.0) and m.meta["end_uncertainty"] == 1.0 and m.meta["samples"] == 10


# ---- on generated media, real OCR

@pytest.fixture(scope="module")
def deck(tmp_path_factory: pytest.TempPathFactory) -> Deck:
    """The slide deck read as two 45-s clips (0.5 fps, frames scanned as they are decoded, as
    ingest does), then stitched."""
    path = slide_deck(tmp_path_factory.mktemp("deck") / "deck.mp4")
    settings = load_settings()
    p = probe(path)
    ocr = get_ocr(settings)
    out, gates = [], []
    for index, (a, b) in enumerate([(0.0, 45.0), (45.0, 90.0)]):
        plan = sampling_plan(a, b, settings.ocr_fps, p, index=index)
        clip = ClipPlan(index=index, start=a, end=b, fps=plan.fps, frames=plan.frames, width=plan.width,
                        height=plan.height, tokens=0, budget=0, activity=1.0, why="")
        scan = read_clip_text(str(path), p, clip, settings, ocr, Clock())
        out += scan.text
        gates.append(scan.reading)
    return stitch(out), gates


def test_caption_across_a_clip_boundary_is_one_moment_with_its_uncertainty(deck: Deck) -> None:
    text, _ = deck
    (caption,) = [m for m in text if "INVOICE" in m.text.upper()]
    # shown 41.0-49.0, samples every 2 s: 40 (not shown), 42, 44 | 45, 47 (shown), 49 (not shown)
    assert caption.start == pytest.approx(42.0, abs=0.05)
    assert caption.meta["start_uncertainty"] == pytest.approx(2.0, abs=0.05)
    assert caption.end == pytest.approx(48.0, abs=0.05)
    assert caption.meta["end_uncertainty"] == pytest.approx(1.0, abs=0.05)
    assert caption.start - caption.meta["start_uncertainty"] <= 41.0 <= caption.start
    assert abs(caption.end - 49.0) <= caption.meta["end_uncertainty"] + 1e-6
    assert caption.meta["clips"] == [0, 1]


def test_the_counter_makes_no_moment_and_nothing_is_zero_length(deck: Deck) -> None:
    text, gates = deck
    assert not [m.text for m in text if not any(ch.isalpha() for ch in m.text)]  # the counter: no moment
    assert all(m.end > m.start for m in text)
    titles = {m.text for m in text if not m.meta.get("changing")}
    assert {"QUARTERLY PLAN", "HIRING ROADMAP", "OPEN QUESTIONS"} <= titles
    assert not any(ch.isdigit() for t in titles if t != "INVOICE 2041 APPROVED" for ch in t)
    # only the counter's corner changes between slide changes: those samples read just that region
    assert all(g["partial"] + g["skipped"] >= g["samples"] - 4 for g in gates)


def test_the_decks_chapters_are_its_slides_with_their_titles(deck: Deck) -> None:
    text, _ = deck
    chapters = content_chapters(90.0, text, [], [])
    assert [c.text for c in chapters] == ["QUARTERLY PLAN", "HIRING ROADMAP", "OPEN QUESTIONS"]
    for chapter, truth in zip(chapters, (0.0, 30.0, 62.0)):  # slides change at 30 and 62, sampled every 2 s
        assert truth - 1e-6 <= chapter.start <= truth + 2.0
        assert chapter.start - chapter.meta["start_uncertainty"] <= truth + 1e-6
    summary = extractive_summary([], text)
    assert summary.startswith("QUARTERLY PLAN; ") and "…" not in summary[:200]


def test_a_slide_transition_frame_is_not_text() -> None:
    # two titles cross-fade at 30 s (samples every 2 s): the frame at 30 reads both shuffled together
    old, new = reading("QUARTERLY PLAN"), reading("HIRING BUDGET", x=110)
    blend = reading("QHUARNTGEBIUYDRGLEATN", x=90, w=340)
    samples = [[old]] * 15 + [[blend]] + [[new]] * 15
    times = [2.0 * i for i in range(31)]
    moments = clip_text_moments(samples, times, 0.0, 62.0, 0, 2.0, (640, 360), 0.6)
    assert [(m.text, m.start) for m in moments] == [("QUARTERLY PLAN", 0.0), ("HIRING BUDGET", 32.0)]
    # a new text on one sample only between two others stays when it is not made of their letters
    samples[15] = [reading("FIRE EXIT 3", x=90, w=340)]
    assert "FIRE EXIT 3" in [m.text for m in clip_text_moments(samples, times, 0.0, 62.0, 0, 2.0, (640, 360), 0.6)]
    assert is_blend("ABLEPTHAALAEPNOCRT", "ALPHA REPORT", "BETA LAUNCH")
    assert not is_blend("ALPHA REPORT", "ALPHA REPORT", "BETA LAUNCH")


def test_a_ticking_clock_is_not_taken_for_a_transition_frame() -> None:
    """A clock read every sample ("00:00:20.000" between "00:00:18.000" and "00:00:22.000") has
    the letters of its neighbours, but it is the same text ticking: one changing moment, no reading
    dropped and none left over as text of its own (each dropped tick broke the chain before)."""
    assert not is_blend("00:00:20.000", "00:00:18.000", "00:00:22.000")
    assert is_blend("ABLEPTHAALAEPNOCRT", "ALPHA REPORT", "BETA LAUNCH")
    samples = [[reading(f"00:00:{2 * i:02d}.000", x=0, y=0, w=100, h=18)] for i in range(18)]
    (track,) = build_tracks(samples)
    assert track.changing and len(track.sightings) == 18
    assert clip_text_moments(samples, [2.0 * i for i in range(18)], 0.0, 36.0, 0, 2.0, SIZE, 0.6) == []
