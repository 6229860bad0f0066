"""On-screen text: readings -> (noise out) -> tracks -> one ``text`` moment per track, with honest
intervals; stitching tracks across clip boundaries (which samples are read: ``gate``). See
docs/moments.md.

Times are the presentation times of the sampled frames (seconds from the stream's start). A
track's moment starts at its first sighting (a seek there shows the text); the text appeared at
most ``start_uncertainty`` seconds earlier (after the last sample that did not show it). It ends
half-way between its last sighting and the next sample that did not show it, give or take
``end_uncertainty``. A reading seen once therefore still has a length.

Changing text (a clock, a frame counter: the same place, new digits at almost every sample) is
found as a track of its own and kept out: it becomes no moment, so it is never searched, embedded,
drawn in the timeline's text lane, a chapter boundary, a title or part of a summary.
"""

from __future__ import annotations

import difflib
import logging
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from model.ocr import Reading, fold
from video_qa.moments.values import NewMoment

log = logging.getLogger(__name__)

SIMILARITY = 0.8  # fold-similarity at which two readings are the same text (OCR wobble)
MAX_GAP = 1  # samples a track may miss (an OCR miss) and still continue
SHORT_SCORE = 0.85  # text of 3 characters or fewer needs at least this confidence
MINORITY_SCRIPT = 0.1  # a script with under this share of a clip's letters is noise there
CHANGING_MIN = 3  # distinct texts at one place before it is a changing region
BLEND_SHARE = 0.9  # share of a transition frame's letters that come from the texts on either side


# ---- noise

def script_of(ch: str) -> str:
    if ch.isdigit():
        return "DIGIT"
    name = unicodedata.name(ch, "")
    return name.split(" ", 1)[0] if name else "OTHER"


def dominant_scripts(readings: Sequence[Reading]) -> set[str]:
    """Scripts holding at least ``MINORITY_SCRIPT`` of the letters read (digits aside)."""
    counts = Counter(script_of(ch) for r in readings for ch in r.text if ch.isalpha())
    total = sum(counts.values())
    return {s for s, n in counts.items() if total and n / total >= MINORITY_SCRIPT}


def is_noise(reading: Reading, min_score: float, scripts: set[str] | None = None) -> bool:
    """Lone glyphs, fragments without a letter or digit, low-confidence short text, and text in
    a script the clip otherwise does not use (口 中 日 read off texture on a Latin slide)."""
    alnum = [ch for ch in reading.text if ch.isalnum()]
    if not alnum or reading.score < min_score:
        return True
    if len(alnum) == 1:
        return True
    if len(alnum) == 2 and not all(ch.isdigit() for ch in alnum) and not (
            all(ch.isalpha() for ch in alnum) and len({script_of(ch) for ch in alnum}) == 1
            and reading.score >= SHORT_SCORE):
        return True
    if len(alnum) <= 3 and reading.score < SHORT_SCORE:
        return True
    letters = [ch for ch in alnum if ch.isalpha()]
    if scripts and letters and sum(script_of(ch) not in scripts for ch in letters) > len(letters) / 2:
        return True
    return False


def clean(samples: list[list[Reading]], min_score: float) -> list[list[Reading]]:
    """Each sample's readings without noise (the script rule looks at the whole clip)."""
    scripts = dominant_scripts([r for s in samples for r in s if len(r.text) > 3 and r.score >= SHORT_SCORE])
    return [[r for r in s if not is_noise(r, min_score, scripts)] for s in samples]


# ---- tracks

def intersects(a: Sequence[float], b: Sequence[float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def same_place(a: Sequence[float], b: Sequence[float]) -> bool:
    """Boxes overlap well (IoU >= 0.3) or one's centre lies inside the other."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    if union > 0 and inter / union >= 0.3:
        return True

    def inside(p: Sequence[float], q: Sequence[float]) -> bool:
        cx, cy = (p[0] + p[2]) / 2, (p[1] + p[3]) / 2
        return q[0] <= cx <= q[2] and q[1] <= cy <= q[3]

    return inside(a, b) or inside(b, a)


def template(text: str) -> str:
    return re.sub(r"\d+", "#", fold(text))


def digit_share(text: str) -> float:
    alnum = [ch for ch in text if ch.isalnum()]
    return sum(ch.isdigit() for ch in alnum) / len(alnum) if alnum else 0.0


def text_similarity(a: str, b: str) -> float:
    """1 for the same folded text, 0 when only the digits differ (a counter ticking is new
    text), else the fold similarity."""
    fa, fb = fold(a), fold(b)
    if fa == fb:
        return 1.0
    if template(a) == template(b):
        return 0.0
    return difflib.SequenceMatcher(None, fa, fb).ratio()


@dataclass(eq=False)
class Track:
    sightings: list[tuple[int, Reading]] = field(default_factory=list)  # (sample index, reading)
    changing: bool = False

    @property
    def first(self) -> int:
        return self.sightings[0][0]

    @property
    def last(self) -> int:
        return self.sightings[-1][0]

    @property
    def latest(self) -> Reading:
        return self.sightings[-1][1]

    @property
    def text(self) -> str:
        votes: Counter[str] = Counter()
        best: dict[str, Reading] = {}
        for _, r in self.sightings:
            key = fold(r.text)
            votes[key] += 1
            if key not in best or r.score > best[key].score:
                best[key] = r
        return best[max(votes, key=lambda k: (votes[k], best[k].score))].text

    @property
    def best(self) -> Reading:
        return max((r for _, r in self.sightings), key=lambda r: r.score)


def build_tracks(samples: list[list[Reading]]) -> list[Track]:
    """Readings of the same text at the same place in consecutive samples (up to ``MAX_GAP``
    missed) are one track; then regions whose text changes at almost every sample are one
    changing track each."""
    tracks: list[Track] = []
    for i, readings in enumerate(samples):
        live = [t for t in tracks if t.last >= i - 1 - MAX_GAP and t.last < i]
        pairs = []
        for ri, r in enumerate(readings):
            for ti, t in enumerate(live):
                sim = text_similarity(t.latest.text, r.text)
                if sim < SIMILARITY:
                    continue
                if same_place(t.latest.box, r.box):
                    pairs.append((sim + 1.0, ri, ti))
                elif sim == 1.0 and len(fold(r.text)) >= 4:  # moved, same words
                    pairs.append((sim, ri, ti))
        used_r: set[int] = set()
        used_t: set[int] = set()
        for _, ri, ti in sorted(pairs, key=lambda p: -p[0]):
            if ri in used_r or ti in used_t:
                continue
            used_r.add(ri)
            used_t.add(ti)
            live[ti].sightings.append((i, readings[ri]))
        tracks += [Track([(i, r)]) for ri, r in enumerate(readings) if ri not in used_r]
    return _collapse_changing(_drop_blends(tracks))


def _letters(text: str) -> Counter[str]:
    return Counter(ch for ch in fold(text) if ch.isalnum())


def is_blend(text: str, before: str, after: str) -> bool:
    """``text`` reads as the letters of ``before`` and ``after`` shuffled together (a frame in the
    middle of a slide transition, where both texts are drawn over each other): nearly all its
    letters come from the two texts, and it is neither of them."""
    letters, pool = _letters(text), _letters(before) + _letters(after)
    if sum(letters.values()) < 6 or max(text_similarity(text, before), text_similarity(text, after)) >= SIMILARITY:
        return False
    if any(ch.isdigit() for ch in text) and template(text) in (template(before), template(after)):
        return False  # a clock or counter ticking ("00:00:20" between "00:00:18" and "00:00:22"), not a crossfade
    shared = sum(min(n, pool[ch]) for ch, n in letters.items())
    return shared >= BLEND_SHARE * sum(letters.values())


def _drop_blends(tracks: list[Track]) -> list[Track]:
    """A text read on one sample only, at the place where one track ended on the sample before
    and another begins on the sample after, made of their letters: a transition frame, not text
    that was ever shown (a crossfade of two slide titles reads "QHUARNTGEBIUYDRGLEATN")."""
    out = []
    for t in tracks:
        if len(t.sightings) == 1:
            i, r = t.sightings[0]
            ended = [u for u in tracks if u is not t and u.last == i - 1 and intersects(u.latest.box, r.box)]
            begun = [u for u in tracks if u is not t and u.first == i + 1 and intersects(u.sightings[0][1].box, r.box)]
            if any(is_blend(r.text, u.text, v.text) for u in ended for v in begun):
                continue
        out.append(t)
    return out


def letterless(text: str) -> bool:
    """Digits and separators only ("00:01:40.120", "1450", "12/03"): a timecode or a count."""
    return any(ch.isdigit() for ch in text) and not any(ch.isalpha() for ch in text)


def _collapse_changing(tracks: list[Track]) -> list[Track]:
    """Short tracks (seen on 1-2 samples) at one place, each following the last within two
    samples, whose texts are digit-heavy or share a template with digits ("00:01:23",
    "Frame 0012"): at least ``CHANGING_MIN`` distinct texts make them one changing track. A short
    run of digits without a letter is changing too, however few its values (a clock's last tick
    in a clip, a counter read once where the gate read only its corner)."""
    short = [t for t in tracks if len({i for i, _ in t.sightings}) <= 2 and any(ch.isdigit() for ch in t.latest.text)]
    chains: list[list[Track]] = []
    for t in sorted(short, key=lambda t: t.first):
        for chain in chains:
            tail = chain[-1]
            if (0 < t.first - tail.last <= 2 and same_place(tail.latest.box, t.sightings[0][1].box)
                    and (template(tail.latest.text) == template(t.latest.text)
                         or min(digit_share(tail.latest.text), digit_share(t.latest.text)) >= 0.5)):
                chain.append(t)
                break
        else:
            chains.append([t])
    out = [t for t in tracks if t not in short]
    for chain in chains:
        if len({fold(t.text) for t in chain}) >= CHANGING_MIN or all(letterless(t.text) for t in chain):
            out.append(Track(sorted((s for t in chain for s in t.sightings), key=lambda s: s[0]), changing=True))
        else:
            out += chain
    return sorted(out, key=lambda t: (t.first, t.last))


# ---- moments

def _r(x: float) -> float:
    return round(float(x), 3)


def track_moments(tracks: list[Track], times: Sequence[float], clip_start: float, clip_end: float,
                  clip_index: int, interval: float, frame_size: tuple[int, int]) -> list[NewMoment]:
    """One moment per track, with its uncertainties and what ``stitch`` needs."""
    out = []
    for t in tracks:
        first, last = times[t.first], times[t.last]
        if t.first > 0:
            before = times[t.first - 1]
        else:  # the previous clip's last sample is at most one interval before this clip starts
            before = max(0.0, clip_start - interval) if clip_start > 0 else 0.0
        after = times[t.last + 1] if t.last + 1 < len(times) else max(clip_end, last + interval / 2)
        half = max((after - last) / 2, 1e-3)
        best = t.best
        meta: dict[str, Any] = {
            "score": round(best.score, 4), "box": [list(p) for p in best.corners], "frame_size": list(frame_size),
            "samples": len({i for i, _ in t.sightings}), "sample_interval": _r(interval),
            "first_seen": _r(first), "last_seen": _r(last),
            "start_uncertainty": _r(first - before), "end_uncertainty": _r(half),
            "clips": [clip_index, clip_index], "open_start": t.first == 0, "open_end": t.last == len(times) - 1,
            "height": _r(best.height / frame_size[1]),
        }
        out.append(NewMoment(first, last + half, t.text, meta))
    return out


def clip_text_moments(samples: list[list[Reading]], times: Sequence[float], clip_start: float, clip_end: float,
                      clip_index: int, interval: float, frame_size: tuple[int, int],
                      min_score: float) -> list[NewMoment]:
    """A clip's readings (one list per sample, in time order) -> its text moments; changing text
    (clocks, counters) makes none."""
    tracks = build_tracks(clean(samples, min_score))
    changing = [t for t in tracks if t.changing]
    if changing:
        log.debug("clip %d: %d changing text region(s) kept out of the moments", clip_index, len(changing))
    return track_moments([t for t in tracks if not t.changing], times, clip_start, clip_end, clip_index,
                         interval, frame_size)


# ---- across clip boundaries

def _norm_box(m: NewMoment) -> tuple[float, float, float, float]:
    w, h = m.meta.get("frame_size") or (1, 1)
    pts = m.meta.get("box") or [[0, 0], [w, h]]
    xs, ys = [p[0] / w for p in pts], [p[1] / h for p in pts]
    return min(xs), min(ys), max(xs), max(ys)


def _continues(a: NewMoment, b: NewMoment) -> bool:
    ca, cb = a.meta.get("clips", [-1, -1]), b.meta.get("clips", [-1, -1])
    if not same_place(_norm_box(a), _norm_box(b)):
        return False
    if text_similarity(a.text, b.text) < SIMILARITY:
        return False
    interval = float(a.meta.get("sample_interval") or 0)
    if ca[1] + 1 == cb[0]:  # across a boundary: seen at one clip's last and the next clip's first sample
        gap = float(b.meta.get("first_seen", b.start)) - float(a.meta.get("last_seen", a.end))
        return bool(a.meta.get("open_end")) and bool(b.meta.get("open_start")) and gap <= 2 * interval + 1e-6
    return cb[0] <= ca[1] and b.start <= a.end  # the same sighting twice (a clip read again)


def _join(a: NewMoment, b: NewMoment) -> NewMoment:
    late = b if b.end >= a.end else a
    meta = dict(a.meta)
    meta.update(
        last_seen=max(a.meta.get("last_seen", a.end), b.meta.get("last_seen", b.end)),
        end_uncertainty=late.meta.get("end_uncertainty", 0.0),
        clips=[min(a.meta["clips"][0], b.meta["clips"][0]), max(a.meta["clips"][1], b.meta["clips"][1])],
        open_end=late.meta.get("open_end", False),
        samples=int(a.meta.get("samples", 1)) + (
            int(b.meta.get("samples", 1)) if a.meta["clips"][1] < b.meta["clips"][0] else 0),  # absorbed: counted
    )
    if b.meta.get("score", 0) > a.meta.get("score", 0):
        meta.update(score=b.meta["score"], box=b.meta.get("box"), height=b.meta.get("height"))
    text = a.text if a.meta.get("samples", 1) >= b.meta.get("samples", 1) else b.text
    embedding = a.embedding if text == a.text else b.embedding
    return NewMoment(a.start, max(a.end, b.end), text, meta, embedding)


def stitch(moments: Sequence[NewMoment]) -> list[NewMoment]:
    """Join text moments of consecutive clips that are one track: seen at the last sample of
    clip k and the first of clip k+1, same text at the same place. Moments
    without ``clips`` in meta pass through. Running it again changes nothing."""
    out: list[NewMoment] = []
    for m in sorted(moments, key=lambda m: (m.start, m.end)):
        if "clips" not in m.meta:
            out.append(m)
            continue
        for k in range(len(out) - 1, -1, -1):
            prev = out[k]
            if "clips" not in prev.meta or prev.meta["clips"][1] < m.meta["clips"][0] - 1:
                continue
            if _continues(prev, m):
                out[k] = _join(prev, m)
                break
        else:
            out.append(m)
    return out
