"""The vision-language model: its inputs and results, and the Qwen2.5-VL backend (the role's
Protocol is ``model.protocols.VisionLanguageModel``).

``describe_clip(frames, times, fps)`` returns a caption and events with times relative to the
first frame of the clip (``times[0]``); the pipeline adds that frame's absolute time.
``answer(question, spans, context)`` shows every span as its own video input with its own fps and
a text label of its absolute start, and maps the cited times back per span to absolute time.

The fps always reaches the processor explicitly, through ``video_metadata`` (transformers 5.x
ignores an ``fps=`` keyword and would fall back to 24 fps, collapsing the time ids). A call without
a usable fps raises.
"""

from __future__ import annotations

import importlib.util
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from model import prompts
from model.loading import InferenceModel, per_process
from model.parse import parse_citations, parse_events
from model.tiny import is_tiny

log = logging.getLogger(__name__)

# A clip's frames: uint8 RGB images of one size, as a list or as one (n, height, width, 3) block
# (``ClipFrames.images``), which goes to the processor without a copy.
Frames = Sequence[np.ndarray] | np.ndarray

DEFAULT_7B = "Qwen/Qwen2.5-VL-7B-Instruct"
DEFAULT_3B = "Qwen/Qwen2.5-VL-3B-Instruct"
# 'a GPU with 24 GB or more' (docs): the cards sold as 24 GB report 22 to 24 GiB; 16 and 20 GB cards stay below
MIN_GPU_BYTES_FOR_7B = 20 * 1024**3


def require_fps(fps: Any) -> float:
    if fps is None or isinstance(fps, bool) or not isinstance(fps, (int, float)) or not math.isfinite(fps) or fps <= 0:
        raise ValueError(f"a usable fps is required for every video input (got {fps!r}); it is never guessed")
    return float(fps)


@dataclass(frozen=True)
class Event:
    start: float
    end: float
    text: str


@dataclass
class ClipAnalysis:
    caption: str
    events: list[Event]  # times relative to the clip's first frame
    raw: str
    model: str
    notes: list[str] = field(default_factory=list)


def as_block(frames: Frames) -> np.ndarray:
    """The frames as one ``(n, height, width, 3)`` array; a block is used as it is (no copy)."""
    if isinstance(frames, np.ndarray) and frames.ndim == 4:
        return frames
    return np.stack(list(frames))


@dataclass(frozen=True)
class Span:
    frames: Frames
    fps: float
    start: float  # absolute time of the first frame, seconds

    def __post_init__(self) -> None:
        require_fps(self.fps)
        if len(self.frames) == 0:
            raise ValueError("a span needs frames")

    @property
    def length(self) -> float:
        return len(self.frames) / self.fps


@dataclass(frozen=True)
class Citation:
    span: int  # 1-based
    start: float  # absolute video time, seconds
    end: float


@dataclass
class Answer:
    text: str
    citations: list[Citation]
    raw: str
    model: str
    notes: list[str] = field(default_factory=list)


def cuda_memory() -> int | None:
    """Total bytes of CUDA device 0, or None where there is no usable CUDA device."""
    import torch

    if not torch.cuda.is_available():
        return None
    return int(torch.cuda.get_device_properties(0).total_memory)


def choose_model(setting: str, gpu_memory: Callable[[], int | None] = cuda_memory) -> str:
    """'auto': the 7B instruct checkpoint on a CUDA device with enough memory, else 3B.
    ``gpu_memory`` gives the device's total bytes (None: no GPU); any other setting is kept."""
    if setting != "auto":
        return setting
    total = gpu_memory()
    return DEFAULT_7B if total is not None and total >= MIN_GPU_BYTES_FOR_7B else DEFAULT_3B


def answer_from_text(raw: str, spans: list[Span], model: str) -> Answer:
    """Map ``[span N, X to Y seconds]`` citations in ``raw`` to absolute video time."""
    cited, notes = parse_citations(raw, [s.length for s in spans])
    citations = [Citation(c.span, spans[c.span - 1].start + c.start, spans[c.span - 1].start + c.end) for c in cited]
    return Answer(text=raw.strip(), citations=citations, raw=raw, model=model, notes=notes)


def analysis_from_text(caption: str, raw_events: str, length: float, model: str) -> ClipAnalysis:
    parsed, notes = parse_events(raw_events, length)
    events = [Event(e.start, e.end, e.text) for e in parsed]
    return ClipAnalysis(caption=caption.strip(), events=events, raw=raw_events, model=model, notes=notes)


class QwenVL(InferenceModel[tuple[Any, Any]]):
    """Qwen2.5-VL through transformers (the model and its processor); loads on first use, on
    PyTorch's own number of threads."""

    def __init__(
        self, source: str, device: str = "auto", max_new_tokens: int = 256,
        min_pixels: int = 128 * 28 * 28, max_pixels: int = 768 * 28 * 28,
    ) -> None:
        super().__init__(threads=None)
        self.source = choose_model(source)
        self.device_setting = device
        self.max_new_tokens = max_new_tokens
        self.size = {"shortest_edge": min_pixels, "longest_edge": max_pixels}
        self.is_test_model = Path(self.source).is_dir() and is_tiny(self.source)
        self.name = f"{Path(self.source).name} (tiny random-weight test model)" if self.is_test_model else self.source
        self.rope_patched = False

    # ---- loading
    def _device(self) -> str:
        import torch

        if self.device_setting == "cuda" or (self.device_setting == "auto" and torch.cuda.is_available()):
            return "cuda"
        return "cpu"

    def _load(self) -> tuple[Any, Any]:
        """(the model, its processor), with the reference position ids installed when the
        installed transformers computes them differently (see docs/model.md)."""
        import torch
        from transformers import AutoProcessor, Qwen2_5_VLForConditionalGeneration

        device = self._device()
        dtype = torch.bfloat16 if device == "cuda" else torch.float32
        attention = "flash_attention_2" if device == "cuda" and importlib.util.find_spec("flash_attn") else "sdpa"
        log.info("loading %s on %s (%s, %s attention)", self.source, device, dtype, attention)
        model = Qwen2_5_VLForConditionalGeneration.from_pretrained(
            self.source, dtype=dtype, attn_implementation=attention
        ).to(device).eval()
        processor = AutoProcessor.from_pretrained(self.source)
        from model.rope import install_reference_rope, rope_mismatches  # torch: only with a model loaded

        mismatches = rope_mismatches(model)
        if mismatches:
            log.warning(
                "the installed transformers computes Qwen2.5-VL position ids differently from the released "
                "checkpoints (%s); using video_qa's reference position ids", "; ".join(mismatches),
            )
            install_reference_rope(model)
            self.rope_patched = True
        return model, processor

    @property
    def model(self) -> Any:
        return self.load()[0]

    @property
    def processor(self) -> Any:
        return self.load()[1]

    # ---- inputs
    def build_inputs(self, content: list[dict[str, Any]], videos: list[tuple[Frames, float]]) -> Any:
        """Processor inputs for one user turn; ``videos`` are (frames, fps) in prompt order."""
        from transformers.video_utils import VideoMetadata

        arrays, metadata = [], []
        for frames, fps in videos:
            fps = require_fps(fps)
            stack = as_block(frames)
            if len(stack) % 2:  # a temporal patch is two frames: repeat the last, as Qwen does
                stack = np.concatenate([stack, stack[-1:]])
            arrays.append(stack)
            metadata.append(VideoMetadata(total_num_frames=len(stack), fps=fps, frames_indices=list(range(len(stack)))))
        messages = [{"role": "user", "content": content}]
        text = self.processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        return self.processor(
            text=[text], videos=arrays or None, video_metadata=metadata or None, do_sample_frames=False,
            size=self.size, return_tensors="pt",
        )

    def generate(self, content: list[dict[str, Any]], videos: list[tuple[Frames, float]]) -> str:
        import torch

        inputs = self.build_inputs(content, videos).to(self.model.device)
        with torch.inference_mode():
            output = self.model.generate(**inputs, max_new_tokens=self.max_new_tokens, do_sample=False)
        new_tokens = output[:, inputs["input_ids"].shape[1] :]
        return self.processor.batch_decode(new_tokens, skip_special_tokens=True)[0]

    # ---- the interface
    def describe_clip(self, frames: Frames, times: list[float], fps: float) -> ClipAnalysis:
        fps = require_fps(fps)
        if len(frames) == 0 or len(frames) != len(times):
            raise ValueError(f"{len(frames)} frames with {len(times)} times")
        length = max(times[-1] - times[0] + 1.0 / fps, len(frames) / fps)
        video = [{"type": "video"}]
        raw_events = self.generate(video + [{"type": "text", "text": prompts.DENSE_CAPTIONS}], [(frames, fps)])
        caption = self.generate(video + [{"type": "text", "text": prompts.CLIP_CAPTION}], [(frames, fps)])
        return analysis_from_text(caption, raw_events, length, self.name)

    def answer(self, question: str, spans: list[Span], context: str = "") -> Answer:
        if not spans:
            raise ValueError("answer needs at least one span")
        content: list[dict[str, Any]] = []
        for i, span in enumerate(spans, 1):
            require_fps(span.fps)
            content.append({"type": "text", "text": prompts.span_label(i, span.start, span.start + span.length)})
            content.append({"type": "video"})
        content.append({"type": "text", "text": prompts.ask_instruction(question, context)})
        raw = self.generate(content, [(s.frames, s.fps) for s in spans])
        return answer_from_text(raw, spans, self.name)

    def summarize(self, captions: list[tuple[float, str]]) -> str:
        """Text-only pass: a summary of the whole video from timed clip captions."""
        from video_qa.timecode import format_time

        listing = "\n".join(f"[{format_time(t)}] {c}" for t, c in captions)
        return self.generate([{"type": "text", "text": prompts.SUMMARY.format(captions=listing)}], []).strip()


@per_process
def _qwen(source: str, device: str, max_new_tokens: int, min_pixels: int, max_pixels: int) -> QwenVL:
    return QwenVL(source, device, max_new_tokens, min_pixels, max_pixels)


def get_vlm(
    source: str, device: str = "auto", max_new_tokens: int = 256,
    min_pixels: int = 128 * 28 * 28, max_pixels: int = 768 * 28 * 28,
) -> QwenVL | None:
    """The process-wide backend for ``source`` (None when visual analysis is off). The weights
    load on first use, in the process that uses them (never a Celery parent)."""
    if not source:
        return None
    return _qwen(source, device, max_new_tokens, min_pixels, max_pixels)
