"""The summary a video gets without vision-language captions: what was said and shown, in order,
labelled as extracted. With captions the model writes it (``finalize``)."""

from __future__ import annotations

from collections.abc import Sequence

from model.ocr import fold
from video_qa.analysis.chapters import MomentLike, long_lived


def _excerpt(parts: Sequence[str], limit: int) -> str:
    out = " ".join(p.strip() for p in parts if p.strip())
    return out if len(out) <= limit else out[: limit - 1].rsplit(" ", 1)[0] + "…"


def shown_lines(text: Sequence[MomentLike]) -> list[str]:
    """Distinct long-lived, non-changing on-screen lines in order of appearance."""
    seen: dict[str, str] = {}
    for m in sorted(long_lived(text), key=lambda m: m.start):
        seen.setdefault(fold(m.text), m.text.strip())
    return list(seen.values())


def extractive_summary(speech: Sequence[MomentLike], text: Sequence[MomentLike]) -> str:
    """Without vision-language captions: what was said and shown, in order, labelled as such."""
    said = _excerpt([m.text for m in sorted(speech, key=lambda m: m.start)], 600)
    shown = _excerpt(shown_lines(text), 300)
    parts = ["Extracted from the transcript and on-screen text (no vision-language captions)."]
    if said:
        parts.append(f"Speech: {said}")
    if shown:
        parts.append(f"On screen: {shown}")
    if not said and not shown:
        parts.append("Nothing was said and no on-screen text was read.")
    return "\n".join(parts)
