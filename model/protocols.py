"""What each backend role offers the pipeline, search and ask: one Protocol per role.

- ``SpeechModel``: ``transcribe(audio, offset)`` (``model.speech.WhisperSpeech``).
- ``ScreenTextReader``: ``read_frame(frame, region)`` (``model.ocr.ScreenText``).
- ``TextEmbedder``: ``encode(texts)``, ``encode_query(text)``, ``dimension``
  (``model.embeddings``).
- ``VisionLanguageModel``: ``describe_clip``, ``answer``, ``summarize`` (``model.vlm.QwenVL``).

Every role has ``name``, what the user is told runs it. The data types come from the backends'
modules, imported for type checking only, so importing this module loads no backend.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import numpy as np

    from model.ocr import Reading
    from model.speech import Transcript
    from model.vlm import Answer, ClipAnalysis, Frames, Span


class SpeechModel(Protocol):
    name: str

    def transcribe(self, audio: np.ndarray, offset: float = 0.0) -> Transcript:
        """Words of 16 kHz mono float32 ``audio`` whose first sample is at ``offset`` seconds."""
        ...


class ScreenTextReader(Protocol):
    name: str

    def read_frame(self, frame: np.ndarray, region: tuple[int, int, int, int] | None = None) -> list[Reading]:
        """The lines read on one RGB frame (or on ``region`` of it), boxes in the frame's pixels."""
        ...


class TextEmbedder(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def dimension(self) -> int: ...

    def encode(self, texts: list[str]) -> np.ndarray:
        """(len(texts), dimension) float32, each row of unit length."""
        ...

    def encode_query(self, text: str) -> np.ndarray:
        """One text's vector (dimension,) float32, equal to ``encode([text])[0]``."""
        ...


class VisionLanguageModel(Protocol):
    name: str
    is_test_model: bool

    def describe_clip(self, frames: Frames, times: list[float], fps: float) -> ClipAnalysis: ...

    def answer(self, question: str, spans: list[Span], context: str = "") -> Answer: ...

    def summarize(self, captions: list[tuple[float, str]]) -> str: ...
