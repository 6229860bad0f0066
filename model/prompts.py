"""Prompts in the formats Qwen2.5-VL was trained on (its cookbooks' wording).

Times: the model reads time from the absolute-time MRoPE of each video input, so every video's
own axis starts at 0 s; prompts that show several spans label each with its absolute start.
"""

from __future__ import annotations

from video_qa.timecode import format_time

SYSTEM = "You are a helpful assistant."

# Dense event captioning: JSON with 'mm:ss.ff' times.
DENSE_CAPTIONS = (
    "Localize a series of activity events in the video, output the start and end timestamp for each "
    "event, and describe each event with sentences. Provide the result in json format with 'mm:ss.ff' "
    "format for time depiction."
)

# One-paragraph clip caption.
CLIP_CAPTION = "Describe this video in detail in one paragraph."

# Temporal grounding of a query: seconds.
GROUNDING = (
    "Give the query: '{query}', when does the described content occur in the video? "
    "Use seconds for time format."
)

# Text-only pass that writes a video summary from clip captions (finalize).
SUMMARY = (
    "Here are descriptions of consecutive parts of one video, each with its start time. Write a short "
    "summary of the whole video in three sentences.\n\n{captions}"
)


def span_label(index: int, start: float, end: float) -> str:
    return (
        f"Span {index} is the part of the video from {format_time(start)} to {format_time(end)}; "
        f"inside it, time starts at 0 seconds."
    )


def ask_instruction(question: str, context: str) -> str:
    lines = [
        "The video spans above are the parts of one long video that matter for the question.",
    ]
    if context.strip():
        lines += ["What is said and written on screen in these parts:", context.strip()]
    lines += [
        f"Question: {question}",
        "Answer briefly. For every moment you rely on, cite it as [span N, X to Y seconds], "
        "with seconds counted from the start of that span. Use seconds for time format.",
    ]
    return "\n".join(lines)
