"""What the ingest benchmark's generated files show and say, at known times: the slide titles
and sentences of the 10-minute talk, the captions and sentences of the 10-minute busy scene."""

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


@dataclass(frozen=True)
class Truth:
    kind: str  # "text" (a slide title or caption) or "speech"
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
