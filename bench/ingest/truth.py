"""What the ingest benchmark's generated files show and say, at known times: the slide titles
and sentences of the 10-minute talk, the captions and sentences of the 10-minute busy scene, the
hard cuts of the cut-heavy file."""

from __future__ import annotations

from dataclasses import dataclass

UNIT = 600.0  # seconds: the 10-minute unit every file is made of

TITLE_A = ("QUARTERLY", "HARBOUR", "NETWORK", "CUSTOMER", "SUPPLY", "ENERGY", "FOREST", "MARKET", "RAILWAY",
           "GARDEN", "PATIENT", "WEATHER", "SCHOOL", "FACTORY", "MUSEUM", "ORBITAL")
TITLE_B = ("BUDGET", "LOGISTICS", "SECURITY", "SURVEY", "TARIFFS", "RECOVERY", "OUTLOOK", "SCHEDULE", "DESIGN",
           "RECORDS", "FORECAST", "RESULTS", "SAFETY", "ARCHIVE", "MISSION", "PLANNING")
SLIDE_GAPS = (41, 33, 57, 38, 49, 31, 60, 44, 36, 53, 47, 39, 58)  # seconds; slide k+1 starts after gap k
TALK_SPEECH = (
    (14.0, "the quarterly budget was approved by the board"),
    (83.0, "please send the revised forecast before friday"),
    (152.0, "our harbour crane is ready for the night shift"),
    (236.0, "customer surveys show a clear rise in satisfaction"),
    (301.0, "the railway schedule changes at the end of march"),
    (377.0, "every factory must report its safety records weekly"),
    (458.0, "the museum archive opens to students next month"),
    (540.0, "we expect the energy market to recover slowly"),
)
BUSY_CUTS = (70, 145, 220, 300, 365, 440, 520)
BUSY_CAPTIONS = (  # start, seconds shown, text, x, y
    (9, 10, "LIVE FROM THE HARBOUR", "60", "60"), (47, 9, "WIND SPEED 42 KNOTS", "(w-tw)/2", "300"),
    (88, 11, "CRANE SEVEN LOADING", "60", "580"), (131, 10, "STORM WARNING ISSUED", "(w-tw)/2", "60"),
    (176, 8, "FERRY DELAYED TWO HOURS", "60", "300"), (214, 12, "NIGHT SHIFT BEGINS", "(w-tw)/2", "580"),
    (262, 10, "CONTAINER 4471 CLEARED", "60", "60"), (318, 9, "PILOT BOAT RETURNING", "(w-tw)/2", "300"),
    (371, 11, "TIDE HIGH AT NOON", "60", "580"), (423, 10, "CUSTOMS CHECK COMPLETE", "(w-tw)/2", "60"),
    (479, 12, "BRIDGE OPENS AT SIX", "60", "300"), (551, 10, "HARBOUR CLOSED TONIGHT", "(w-tw)/2", "580"),
)
BUSY_SPEECH = (
    (25.0, "the harbour crane is loading the last containers"),
    (190.0, "a storm is expected before midnight"),
    (345.0, "the pilot boat has returned to the quay"),
    (500.0, "customs officers cleared every truck today"),
)
CUT_SHOTS = (2.6, 4.2, 3.4, 2.2, 4.8, 3.0, 2.4, 5.0, 3.8, 2.8, 4.4, 3.2)  # seconds per shot, repeated (multiples
# of 0.2 s: every cut on a frame at 30 fps; over 4 minutes 8 of the 68 fall on an even second, where a sample lies)


@dataclass(frozen=True)
class Truth:
    kind: str  # "text" (a slide title or caption), "speech" or "cut" (start: the new shot's first frame)
    start: float
    end: float
    text: str


def slide_starts() -> list[float]:
    starts, t = [0.0], 0.0
    for gap in SLIDE_GAPS:
        t += gap
        starts.append(t)
    return starts


def talk_titles() -> list[str]:
    return [f"{TITLE_A[k]} {TITLE_B[(5 * k + 3) % len(TITLE_B)]}" for k in range(len(slide_starts()))]


def speech_truth(said: tuple[tuple[float, str], ...], lengths: dict[str, float]) -> list[Truth]:
    return [Truth("speech", t, t + lengths[text], text) for t, text in said]


def unit_truth(kind: str, lengths: dict[str, float]) -> list[Truth]:
    """What the 10-minute unit of ``kind`` (talk or busy) shows and says, at known times;
    ``lengths``: each sentence's spoken seconds."""
    if kind == "talk":
        starts = slide_starts()
        ends = starts[1:] + [UNIT]
        items = [Truth("text", a, b, title) for a, b, title in zip(starts, ends, talk_titles())]
        return items + speech_truth(TALK_SPEECH, lengths)
    items = [Truth("text", float(a), float(a + d), text) for a, d, text, _, _ in BUSY_CAPTIONS]
    return items + speech_truth(BUSY_SPEECH, lengths)


def cut_edges(seconds: float) -> list[tuple[float, float]]:
    """The shots of the cut-heavy file of ``seconds``: CUT_SHOTS over and over, the last one cut short."""
    edges: list[tuple[float, float]] = []
    t, k = 0.0, 0
    while t < seconds - 1e-6:
        end = min(round(t + CUT_SHOTS[k % len(CUT_SHOTS)], 3), seconds)
        edges.append((t, end))
        t, k = end, k + 1
    return edges


def cuts_truth(seconds: float) -> list[Truth]:
    """Every hard cut of the cut-heavy file: the first frame of each shot after the first."""
    return [Truth("cut", a, a, "") for a, _ in cut_edges(seconds)[1:]]
