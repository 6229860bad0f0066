"""The summary a video gets without vision-language captions: what was said, then what was shown,
in order, from the first word (no preamble). With captions the model writes it (``finalize``)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from model.ocr import fold
from video_qa.analysis.chapters import MomentLike, long_lived

SAID_LIMIT = 600  # characters of the transcript kept
SHOWN_LIMIT = 300  # characters of on-screen lines kept
ELLIPSIS = " …"


def excerpt(units: Sequence[str], limit: int, sep: str = " ") -> str:
    """``units`` (sentences, lines) joined by ``sep`` while they fit in ``limit`` characters; when
    some are left out it ends with an ellipsis after the last whole one, and a first unit longer
    than ``limit`` is cut at a word boundary."""
    units = [" ".join(u.split()) for u in units if u.strip()]
    out = ""
    for k, unit in enumerate(units):
        more = sep.rstrip() + ELLIPSIS if k + 1 < len(units) else ""
        joined = f"{out}{sep}{unit}" if out else unit
        if len(joined) + len(more) <= limit:
            out = joined
            continue
        if out:
            return out + sep.rstrip() + ELLIPSIS
        room = unit[: limit - len(ELLIPSIS)]
        return (room.rsplit(" ", 1)[0] if " " in room else room) + ELLIPSIS
    return out


def sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+", text.strip()) if s]


def shown_lines(text: Sequence[MomentLike]) -> list[str]:
    """Distinct long-lived, non-changing on-screen lines in order of appearance."""
    seen: dict[str, str] = {}
    for m in sorted(long_lived(text), key=lambda m: m.start):
        seen.setdefault(fold(m.text), m.text.strip())
    return list(seen.values())


def extractive_summary(speech: Sequence[MomentLike], text: Sequence[MomentLike]) -> str:
    """Without vision-language captions: the transcript's sentences, then the on-screen lines
    ("On screen: ..."; alone, without the label), each part cut at a whole sentence or line."""
    said = excerpt([s for m in sorted(speech, key=lambda m: m.start) for s in sentences(m.text)], SAID_LIMIT)
    shown = excerpt(shown_lines(text), SHOWN_LIMIT - len("On screen: "), sep="; ")
    if said and shown:
        return f"{said}\nOn screen: {shown}"
    return said or shown or "Nothing was said and no on-screen text was read."
