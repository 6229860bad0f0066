"""The generated corpus bench/moments.py measures: videos with known on-screen text, speech, scene
cuts and chapter boundaries (ffmpeg lavfi + drawtext at known times, espeak-ng at known times).

None of these videos, nor their words, is used by the tests (tests/factories/media.py makes its
own slide deck); ``HELD_OUT`` videos were not looked at while the thresholds in
video_qa/analysis/screen_text/tracks.py and video_qa/analysis/chapters.py were chosen, so the table reports them apart.

    .venv/bin/python -m bench.corpus [DIR]   # writes the videos and truth.json into DIR
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bench._lib import CACHE, cli
from bench._lib.media import text_video

TITLE, BULLET, CAPTION, LABEL = 44, 26, 30, 34  # font sizes on 640x360


@dataclass(frozen=True)
class Item:
    kind: str  # text or speech
    start: float  # seconds: drawn from (text), speaking begins (speech)
    end: float  # drawn until (text, exclusive); speech: when the sentence ends (approximate)
    text: str  # what is shown or said; also the search query


@dataclass(frozen=True)
class CorpusVideo:
    name: str
    seconds: float
    items: tuple[Item, ...]
    boundaries: tuple[float, ...]  # true chapter boundaries (slide changes, hard cuts), 0 excluded
    slides: bool = False  # a slide video (the chapter F1 target applies)
    counter: bool = False  # a running frame counter
    clock: bool = False  # a running clock
    background: str = "color=c=0x203040"
    cuts: tuple[float, ...] = ()
    vfr: bool = False
    draw: tuple[tuple[float, float, str, str, str, int], ...] = field(default=(), repr=False)

    @property
    def held_out(self) -> bool:
        return self.name in HELD_OUT


def _slides(slides: tuple[tuple[float, float, str, str], ...]) -> tuple[list[Item], list[tuple]]:
    items, draw = [], []
    for a, b, title, bullet in slides:
        items += [Item("text", a, b, title), Item("text", a, b, bullet)]
        draw += [(a, b, title, "(w-tw)/2", "40", TITLE), (a, b, bullet, "60", "150", BULLET)]
    return items, draw


def _video(name: str, seconds: float, text: list[Item], draw: list[tuple],
           speech: tuple[tuple[float, float, str], ...] = (), **kw: object) -> CorpusVideo:
    items = tuple(text) + tuple(Item("speech", a, b, words) for a, b, words in speech)
    return CorpusVideo(name, seconds, items, draw=tuple(draw), **kw)  # type: ignore[arg-type]


def corpus() -> list[CorpusVideo]:
    out = []
    text, draw = _slides(((0, 28, "BUDGET REVIEW", "Travel costs fell sharply"),
                          (28, 58, "SUPPLIER CONTRACTS", "Three vendors renewed"),
                          (58, 90, "NEXT STEPS", "Vote on Friday")))
    text.append(Item("text", 40, 47, "INVOICE 7731 APPROVED"))
    draw.append((40, 47, "INVOICE 7731 APPROVED", "(w-tw)/2", "280", CAPTION))
    out.append(_video("deck_budget", 90, text, draw, ((65, 68, "please send the revised forecast by thursday"),),
                      boundaries=(28, 58), slides=True, counter=True))
    text, draw = _slides(((0, 24, "ONBOARDING GUIDE", "Badges at reception"),
                          (24, 50, "SECURITY TRAINING", "Passwords expire quarterly"),
                          (50, 76, "EQUIPMENT ORDERS", "Laptops ship within a week"),
                          (76, 100, "MENTOR PROGRAM", "Weekly coffee chats")))
    out.append(_video("deck_hiring", 100, text, draw, (
        (5, 8, "welcome to the onboarding session"), (30, 33, "lock your screen whenever you leave the desk"),
        (82, 85, "every new hire gets a mentor")), boundaries=(24, 50, 76), slides=True, clock=True))
    lines = ((3, 8, "The ferry leaves at noon"), (10, 15, "Bring your boarding pass"),
             (17, 21, "Cars queue in lane four"), (25, 30, "Cabins are on deck two"),
             (33, 37, "The cafe opens after departure"), (41, 46, "Look out for dolphins"),
             (50, 54, "Tickets are checked twice"), (57, 63, "Arrival expected at six"))
    out.append(_video("captions_clock", 70, [Item("text", a, b, t) for a, b, t in lines],
                      [(a, b, t, "(w-tw)/2", "290", CAPTION) for a, b, t in lines], boundaries=(), clock=True))
    labels = ((5, 18, "HARBOUR CAMERA ONE", "40", "40"), (25, 40, "CRANE LOADING BAY", "40", "40"),
              (30, 36, "WIND ALERT", "(w-tw)/2", "200"), (50, 62, "NIGHT SHIFT BEGINS", "40", "40"))
    out.append(_video("busy_cuts", 70, [Item("text", a, b, t) for a, b, t, _, _ in labels],
                      [(a, b, t, x, y, LABEL) for a, b, t, x, y in labels], boundaries=(22, 47),
                      background="testsrc2", cuts=(22, 47)))
    marks = ((4, 12, "CHECKPOINT ALPHA"), (16, 24, "CHECKPOINT BRAVO"), (30, 38, "CHECKPOINT CHARLIE"),
             (44, 52, "CHECKPOINT DELTA"))
    out.append(_video("vfr_checkpoints", 60, [Item("text", a, b, t) for a, b, t in marks],
                      [(a, b, t, "(w-tw)/2", "160", LABEL) for a, b, t in marks],
                      ((40, 43, "the convoy reached the border"),), boundaries=(), vfr=True))
    text, draw = _slides(((0, 45, "PHOTOSYNTHESIS BASICS", "Light becomes sugar"),
                          (45, 90, "THE CALVIN CYCLE", "Carbon is fixed")))
    out.append(_video("lecture", 90, text, draw, (
        (4, 7, "plants capture sunlight in their leaves"), (20, 23, "chlorophyll absorbs red and blue light"),
        (38, 41, "oxygen is released as a by product"), (56, 59, "the enzyme rubisco fixes carbon dioxide"),
        (75, 78, "sugars leave the chloroplast at night")), boundaries=(45,), slides=True, cuts=(45,)))
    return out


HELD_OUT = ("deck_hiring", "captions_clock", "vfr_checkpoints")


def build(folder: Path, only: list[str] | None = None) -> list[tuple[CorpusVideo, Path]]:
    folder.mkdir(parents=True, exist_ok=True)
    made = []
    for v in corpus():
        if only and v.name not in only:
            continue
        speech = tuple((i.start, i.text) for i in v.items if i.kind == "speech")
        path = text_video(folder / f"{v.name}.mp4", seconds=v.seconds, items=v.draw, counter=v.counter,
                          clock=v.clock, background=v.background, speech=speech, cuts=v.cuts, vfr=v.vfr)
        made.append((v, path))
    for wav in folder.glob("*.wav"):  # espeak-ng's takes, mixed in already; not videos to ingest
        wav.unlink()
    truth = {v.name: {**asdict(v), "held_out": v.held_out} for v in corpus()}
    (folder / "truth.json").write_text(json.dumps(truth, indent=1))
    return made


def main() -> None:
    parser = cli("corpus", __doc__)
    parser.add_argument("folder", nargs="?", type=Path, default=CACHE / "moments",
                        help="where to write the videos and truth.json (default bench/.cache/moments)")
    for v, p in build(parser.parse_args().folder):
        print(p, len(v.items), "items")


if __name__ == "__main__":
    main()
