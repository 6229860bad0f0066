"""Moments with real embeddings, and the evaluation set search's relevance floor is calibrated on.

``write_moments`` puts moments (text embedded by the real embedder, ``get_embedder``: the bundled
MiniLM in tests) into a session, so search sees them exactly as it sees ingested ones.

``EVAL_VIDEOS`` are eight videos' worth of realistic moments (speech sentences, slide titles and
bullets, captions, events, chapters); ``EVAL_QUERIES`` are questions a user would type, each with
the moments (by key) that answer it, half of them worded so that no word matches (only the vectors
can find them); ``NONSENSE_QUERIES`` match nothing in the set (gibberish, and real topics the
archive does not cover). Queries are split by ``split``: the floor is chosen on "calibration" and
reported on "held-out" too (``relevance_sweep``, docs/search.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from video_qa.models import Video
from video_qa.moments.store import replace_moments
from video_qa.moments.values import NewMoment


@dataclass(frozen=True)
class Spec:
    """One moment to write: ``key`` names it in the evaluation's relevance labels."""

    key: str
    kind: str
    start: float
    end: float
    text: str
    meta: dict[str, Any] = field(default_factory=dict)


_vectors: dict[tuple[int, str], np.ndarray] = {}


def embed(embedder: Any, texts: list[str]) -> list[np.ndarray]:
    """``embedder``'s vectors of ``texts``, each text embedded once per process (a test writes the
    same set on both databases; embedding is the slow part)."""
    missing = list(dict.fromkeys(t for t in texts if (id(embedder), t) not in _vectors))
    if missing:
        _vectors.update({(id(embedder), t): v for t, v in zip(missing, embedder.encode(missing))})
    return [_vectors[(id(embedder), t)] for t in texts]


def write_moments(session: Session, video: Video, specs: list[Spec], embedder: Any) -> dict[str, int]:
    """Write ``specs`` as ``video``'s moments (each kind as one part, embedded by ``embedder``);
    returns moment id by key. Chapters are video-level (clip index -1), others clip 0's."""
    by_kind: dict[str, list[Spec]] = {}
    for spec in specs:
        by_kind.setdefault(spec.kind, []).append(spec)
    key_of: dict[tuple[str, float, float, str], str] = {}
    for kind, group in by_kind.items():
        news = [NewMoment(s.start, s.end, s.text, dict(s.meta), embedding=v)
                for s, v in zip(group, embed(embedder, [s.text for s in group]))]
        replace_moments(session, video.id, None, -1 if kind == "chapter" else 0, kind, news)
        key_of.update({(kind, s.start, s.end, s.text): s.key for s in group})
    session.flush()
    session.refresh(video)
    return {key_of[(m.kind, m.start, m.end, m.text)]: m.id for m in video.moments
            if (m.kind, m.start, m.end, m.text) in key_of}


def _timeline(prefix: str, items: list[tuple[str, str]], step: float = 7.0) -> list[Spec]:
    """Moments of one video, one after another ``step`` s apart, 5 s long (chapters 60 s)."""
    specs = []
    for i, (kind, text) in enumerate(items):
        start = i * step
        end = start + (60.0 if kind == "chapter" else 5.0)
        specs.append(Spec(f"{prefix}{i}", kind, start, end, text))
    return specs


EVAL_VIDEOS: dict[str, list[Spec]] = {
    "finance": _timeline("fin", [
        ("chapter", "Quarterly review"),
        ("text", "QUARTERLY PLAN 2024"),
        ("speech", "Welcome everyone to the third quarter review of our finances."),
        ("text", "Revenue +12% vs Q2"),
        ("speech", "Revenue grew by twelve percent compared with the previous quarter."),
        ("text", "Operating costs"),
        ("speech", "Our operating costs went down because we moved to a smaller office."),
        ("speech", "The marketing budget for next year has been approved by the board."),
        ("text", "Hiring freeze until March"),
        ("speech", "We will not hire new staff until the end of March."),
        ("text", "Invoice #4471 due 30 June"),
    ]),
    "harbour": _timeline("har", [
        ("chapter", "Container terminal tour"),
        ("speech", "The harbour crane lifts a red container onto the truck."),
        ("text", "GATE 4"),
        ("event", "A large cargo ship is docked at the pier."),
        ("speech", "Ships are unloaded at night when the port is quieter."),
        ("text", "Authorised personnel only"),
        ("event", "A forklift moves pallets into the warehouse."),
        ("speech", "Every container is scanned by customs before it leaves the terminal."),
    ]),
    "cooking": _timeline("cook", [
        ("chapter", "Lemon cake"),
        ("speech", "First preheat the oven to two hundred degrees."),
        ("text", "Step 1: whisk eggs and sugar"),
        ("speech", "Whisk the eggs with the sugar until the mixture is pale and fluffy."),
        ("text", "Step 2: fold in the flour"),
        ("event", "A woman pours batter into a round baking tin."),
        ("speech", "Bake it for about forty minutes, then let it cool on a rack."),
        ("text", "Add the zest of two lemons"),
    ]),
    "lecture": _timeline("lec", [
        ("chapter", "Training neural networks"),
        ("text", "Gradient descent"),
        ("speech", "Gradient descent takes small steps downhill on the loss surface."),
        ("text", "Backpropagation"),
        ("speech", "Backpropagation computes the gradient of every weight with the chain rule."),
        ("speech", "If the learning rate is too large, training diverges."),
        ("text", "Overfitting: train loss falls, validation loss rises"),
        ("speech", "Dropout randomly switches off neurons to reduce overfitting."),
    ]),
    "safety": _timeline("saf", [
        ("chapter", "Site safety induction"),
        ("speech", "Always wear your helmet and high visibility vest on the building site."),
        ("text", "FIRE EXIT"),
        ("speech", "In case of fire, leave by the nearest exit and go to the assembly point."),
        ("text", "Assembly point B - car park"),
        ("event", "A worker climbs a ladder without a harness."),
        ("speech", "Report every accident to your supervisor the same day."),
    ]),
    "news": _timeline("news", [
        ("chapter", "Evening news"),
        ("speech", "Heavy rain is expected tomorrow across the north of the country."),
        ("text", "STORM WARNING"),
        ("speech", "The motorway was closed for three hours after a lorry overturned."),
        ("text", "Traffic: M6 closed J10-J12"),
        ("speech", "The city council voted to build a new public library."),
        ("event", "A reporter stands in front of a flooded street."),
    ]),
    "football": _timeline("foot", [
        ("chapter", "Match highlights"),
        ("speech", "The striker scores in the final minute to win the game."),
        ("text", "HOME 2 - 1 AWAY"),
        ("event", "The goalkeeper dives and saves a penalty."),
        ("speech", "The referee shows a red card to the defender."),
        ("text", "Half time"),
    ]),
    "clinic": _timeline("cli", [
        ("chapter", "Your new medication"),
        ("speech", "Take one tablet twice a day after meals."),
        ("text", "Do not drink alcohol"),
        ("speech", "If you feel dizzy, stop taking the medicine and call your doctor."),
        ("event", "A nurse measures a patient's blood pressure."),
        ("text", "Side effects: headache, nausea"),
    ]),
}

# (query, relevant keys, split). Paraphrases share no content word with their moments on purpose.
EVAL_QUERIES: list[tuple[str, frozenset[str], str]] = [(q, frozenset(keys.split()), split) for q, keys, split in [
    ("quarterly budget approved", "fin7", "calibration"),
    ("spending plan gets the green light", "fin7", "calibration"),
    ("how much did sales increase", "fin3 fin4", "calibration"),
    ("cheaper rent after moving offices", "fin6", "calibration"),
    ("no recruitment until spring", "fin8 fin9", "calibration"),
    ("invoice payment deadline", "fin10", "calibration"),
    ("crane lifting a container", "har1", "calibration"),
    ("vessel moored at the quay", "har3", "calibration"),
    ("customs inspection of containers", "har7", "calibration"),
    ("restricted area sign", "har5", "calibration"),
    ("oven temperature", "cook1", "calibration"),
    ("beat the eggs", "cook2 cook3", "calibration"),
    ("how long to bake the cake", "cook6", "calibration"),
    ("citrus peel", "cook7", "calibration"),
    ("chain rule for gradients", "lec4", "calibration"),
    ("what happens when the step size is too big", "lec5", "calibration"),
    ("regularisation to prevent overfitting", "lec6 lec7", "calibration"),
    ("hard hat and hi-vis", "saf1", "calibration"),
    ("where to gather during an evacuation", "saf2 saf3 saf4", "calibration"),
    ("working at height without fall protection", "saf5", "calibration"),
    ("weather forecast rain", "news1 news2", "held-out"),
    ("truck crash closes highway", "news3 news4", "held-out"),
    ("new library for the town", "news5", "held-out"),
    ("flooding in the streets", "news6", "held-out"),
    ("last minute winning goal", "foot1", "held-out"),
    ("penalty save", "foot3", "held-out"),
    ("player sent off", "foot4", "held-out"),
    ("final score of the match", "foot2", "held-out"),
    ("how often should I take the pills", "cli1", "held-out"),
    ("avoid beer and wine", "cli2", "held-out"),
    ("feeling lightheaded", "cli3", "held-out"),
    ("checking blood pressure", "cli4", "held-out"),
    ("possible adverse reactions", "cli5", "held-out"),
    ("marketing budget", "fin7", "held-out"),
    ("forklift in the warehouse", "har6", "held-out"),
    ("ships unloaded at night", "har4", "held-out"),
    ("fold in the flour", "cook4", "held-out"),
    ("pouring cake batter into a tin", "cook5", "held-out"),
    ("backpropagation", "lec3 lec4", "held-out"),
    ("report injuries to your boss", "saf6", "held-out"),
]]

NONSENSE_QUERIES: list[tuple[str, str]] = [
    ("xylophone quantum", "calibration"),
    ("purple giraffe banjo", "calibration"),
    ("asdf qwerty zxcv", "calibration"),
    ("medieval castle siege tactics", "calibration"),
    ("knitting a woollen scarf", "calibration"),
    ("volcanic eruption in iceland", "calibration"),
    ("jazz saxophone solo", "calibration"),
    ("lorem ipsum dolor sit amet", "held-out"),
    ("interstellar wormhole theory", "held-out"),
    ("ballet dancers on stage", "held-out"),
    ("how to repair a bicycle puncture", "held-out"),
    ("origami paper crane folding", "held-out"),
    ("zzzz blorp fnord", "held-out"),
    ("ancient egyptian pyramids", "held-out"),
]


def eval_specs() -> list[Spec]:
    return [spec for specs in EVAL_VIDEOS.values() for spec in specs]


@dataclass
class Sweep:
    floor: float
    precision: float  # relevant among vector candidates kept, over all relevant queries
    recall: float  # relevant moments kept, over all relevant labels
    nonsense_empty: float  # share of nonsense queries with no candidate kept


def relevance_sweep(embedder: Any, floors: list[float], margin: float | None, split: str | None = None,
                    top: int = 50) -> list[Sweep]:
    """The vector side alone, as search applies it: each query's ``top`` nearest moments, kept
    when their cosine similarity is at least the floor (and, with ``margin``, at least the best
    similarity minus ``margin``)."""
    specs = eval_specs()
    keys = [s.key for s in specs]
    vectors = np.asarray(embedder.encode([s.text for s in specs]), dtype=np.float32)
    relevant = [(q, rel) for q, rel, s in EVAL_QUERIES if split in (None, s)]
    nonsense = [q for q, s in NONSENSE_QUERIES if split in (None, s)]
    query_vectors = np.asarray(embedder.encode([q for q, _ in relevant] + nonsense), dtype=np.float32)
    sims = query_vectors @ vectors.T
    out = []
    for floor in floors:
        kept_sets = []
        for row in sims:
            order = np.argsort(-row)[:top]
            cut = floor if margin is None else max(floor, float(row[order[0]]) - margin)
            kept_sets.append({keys[i] for i in order if row[i] >= cut})
        hits = sum(len(k & rel) for k, (_, rel) in zip(kept_sets, relevant))
        kept = sum(len(k) for k in kept_sets[:len(relevant)])
        labels = sum(len(rel) for _, rel in relevant)
        empty = sum(1 for k in kept_sets[len(relevant):] if not k)
        out.append(Sweep(floor, hits / kept if kept else 1.0, hits / labels, empty / max(1, len(nonsense))))
    return out
