"""The absolute change measure and the change moments, on generated files with known changes."""

from __future__ import annotations

from pathlib import Path

from tests.video_qa.media.helpers import Scene, intra_video
from video_qa.media import probe
from video_qa.media.activity import ClipActivity, Packet, clip_activity, cut_keyframes, merge, scan_packets
from video_qa.media.plan import LEVEL_THRESHOLDS, clip_edges

STILL, CALM, BUSY = LEVEL_THRESHOLDS


def whole(scene: Scene) -> ClipActivity:
    p = probe(scene.path)
    (a,) = clip_activity(scene.path, p, [(0.0, p.duration)])
    return a


def found_near(changes: tuple[float, ...], found: tuple[float, ...], late: float) -> bool:
    """Every known change has a found moment at most two frames (1/15 s, a B-frame shown before
    the cut's I-frame) before it or at most ``late`` seconds after it (the plan's SETTLE and SLACK
    are set from these bounds)."""
    return all(any(c - 0.07 <= f <= c + late for f in found) for c in changes)


def test_still_and_moving_are_far_apart_on_an_absolute_scale(still_scene: Scene, moving_scene: Scene) -> None:
    still, moving = whole(still_scene), whole(moving_scene)
    assert still.change is not None and moving.change is not None
    assert still.change < STILL / 2  # a slide: ~0.001 of a keyframe a frame
    assert moving.change > BUSY  # everything moves: a large share of a keyframe a frame
    assert still.changes == ()  # nothing changes in a still picture


def test_slide_changes_found_at_their_times(slides_scene: Scene) -> None:
    a = whole(slides_scene)
    assert slides_scene.changes == (13.0, 27.0)
    assert found_near(slides_scene.changes, a.changes, late=0.2)
    assert len(a.changes) == 2  # and nothing else
    assert a.change is not None and a.change < STILL  # the clip itself is still


def test_event_in_a_noisy_still_view_found_and_the_view_stays_calm(event_scene: Scene) -> None:
    a = whole(event_scene)
    assert event_scene.changes == (11.0, 22.0)
    assert found_near(event_scene.changes, a.changes, late=0.85)  # the box grows out of the noise
    assert len(a.changes) == 2
    assert a.change is not None and a.change < CALM  # 3 s of a walking box do not make the view busy


def test_changes_split_by_clip_and_measured_per_clip(slides_scene: Scene) -> None:
    p = probe(slides_scene.path)
    first, second = clip_activity(slides_scene.path, p, [(0.0, 20.0), (20.0, p.duration)])
    assert found_near((13.0,), first.changes, 0.2) and all(t < 20.0 for t in first.changes)
    assert found_near((27.0,), second.changes, 0.2) and all(t >= 20.0 for t in second.changes)


def test_every_packet_is_scanned_in_presentation_order(slides_scene: Scene) -> None:
    p = probe(slides_scene.path)
    packets = scan_packets(slides_scene.path, p)
    assert len(packets) == 40 * 30
    assert [pk.time for pk in packets[:3]] == [0.0, 1 / 30, 2 / 30]
    assert packets[0].key


def test_keyframes_on_the_cadence_are_not_cuts() -> None:
    def pk(t: float, size: int, key: bool) -> Packet:
        return Packet(t, size, key)

    def stream(keys: set[int], big: int = -1) -> list[Packet]:  # 10 frames a second
        return [pk(i / 10, (3000 if i == big else 1000) if i in keys else 10, i in keys) for i in range(200)]

    regular = set(range(0, 200, 20))  # a keyframe every 2 s
    assert cut_keyframes(stream(regular)) == []
    # a keyframe 0.7 s after the previous one (the encoder's scene-cut detection put it there);
    # the encoder counts its 2 s from there
    cut = {0, 20, 27, *range(47, 200, 20)}
    assert cut_keyframes(stream(cut)) == [2.7]
    # a regular keyframe of another size with nothing found before it: a new picture
    assert cut_keyframes(stream(regular, big=80)) == [8.0, 10.0]  # (and back at 10 s)
    assert cut_keyframes(stream(regular, big=80), explained=[7.5, 9.5]) == []  # changes found account for it


def test_merge_keeps_the_first_of_close_moments() -> None:
    assert merge([5.0, 1.0, 1.4, 2.1, 2.5]) == [1.0, 2.1, 5.0]


def test_intra_only_stream_has_no_change_level(media_dir: Path) -> None:
    scene = intra_video(media_dir / "intra.avi")
    p = probe(scene.path)
    (a,) = clip_activity(scene.path, p, clip_edges(p.duration, 60.0))
    assert a.change is None and a.peak is None
