"""CLIP's text tokenisation without PyTorch: open_clip's ``SimpleTokenizer`` as a ``tokenizers`` BPE.

open_clip cleans a text (``ftfy.fix_text``, HTML entities unescaped twice, whitespace runs made
one space, lower case for its default ``clean="lower"``), splits it with its regular expression
(its special tokens, English contractions, letter runs, single digits, runs of other non-space
characters), maps each piece's UTF-8 bytes to its byte alphabet and merges by BPE with ``</w>``
on a word's last symbol; ids are ``[<start_of_text>] + pieces + [<end_of_text>]``, cut to the
context length with ``<end_of_text>`` kept last, padded with 0. ``trim=True`` cuts the padding
after the longest text of the batch (for a text tower exported with a dynamic sequence length:
its attention is causal and it pools at ``<end_of_text>``, so the padding changes nothing).

``write_tokenizer`` (at export) writes that vocabulary, its merges and the split as
``tokenizer.json``; ``ClipTokens`` (at run time) cleans in Python as open_clip does and lets
``tokenizers`` do the rest. The export compares both on probe texts and refuses to differ.
"""

from __future__ import annotations

import html
import string
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

TOKENIZER_FILE = "tokenizer.json"
SPLIT = r"""'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"""
CLEAN_MODES = ("lower", "whitespace", "canonicalize")


@dataclass(frozen=True)
class TextSettings:
    context_length: int
    sot: int  # <start_of_text>
    eot: int  # <end_of_text>
    clean: str = "lower"
    pad: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, value: dict[str, Any]) -> TextSettings:
        return cls(int(value["context_length"]), int(value["sot"]), int(value["eot"]),
                   str(value.get("clean", "lower")), int(value.get("pad", 0)))


def clean(text: str, mode: str) -> str:
    """open_clip's ``basic_clean`` then its ``lower``, ``whitespace`` or ``canonicalize`` step."""
    import ftfy

    text = html.unescape(html.unescape(ftfy.fix_text(text))).strip()
    if mode == "canonicalize":
        text = text.replace("_", " ").translate(str.maketrans("", "", string.punctuation)).lower()
    text = " ".join(text.split()).strip()
    return text.lower() if mode == "lower" else text


def write_tokenizer(encoder: dict[str, int], ranks: dict[tuple[str, str], int], special: Sequence[str],
                    folder: Path) -> None:
    """``tokenizer.json`` in ``folder`` from a ``SimpleTokenizer``'s ``encoder`` (token -> id),
    ``bpe_ranks`` ((a, b) -> rank) and special tokens."""
    from tokenizers import Regex, Tokenizer, models, pre_tokenizers

    merges = [pair for pair, _ in sorted(ranks.items(), key=lambda item: item[1])]
    tokenizer = Tokenizer(models.BPE(vocab=dict(encoder), merges=merges, end_of_word_suffix="</w>"))
    pattern = "|".join(_escape(token) for token in special) + "|" + SPLIT
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(f"(?i:{pattern})"), behavior="removed", invert=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tokenizer.add_special_tokens(list(special))
    tokenizer.save(str(folder / TOKENIZER_FILE))


def _escape(token: str) -> str:
    return "".join("\\" + c if not c.isalnum() and c != "_" else c for c in token)


class ClipTokens:
    """Texts as (n, context_length) int64 token ids, equal to open_clip's tokenizer's; with
    ``trim`` (n, longest) only, the longest text's ids and the end of the others' padding."""

    def __init__(self, folder: Path, settings: TextSettings) -> None:
        from tokenizers import Tokenizer

        if settings.clean not in CLEAN_MODES:
            raise ValueError(f"clean mode {settings.clean!r} is not one of {CLEAN_MODES}")
        self.settings = settings
        self._tokenizer = Tokenizer.from_file(str(Path(folder) / TOKENIZER_FILE))
        self._tokenizer.no_padding()
        self._tokenizer.no_truncation()

    def __call__(self, texts: Sequence[str], trim: bool = False) -> np.ndarray:
        s = self.settings
        ids = np.full((len(texts), s.context_length), s.pad, dtype=np.int64)
        if not texts:
            return ids
        encoded = self._tokenizer.encode_batch([clean(t, s.clean) for t in texts], add_special_tokens=False)
        longest = 0
        for row, encoding in enumerate(encoded):
            tokens = [s.sot, *encoding.ids, s.eot]
            if len(tokens) > s.context_length:
                tokens = tokens[:s.context_length]
                tokens[-1] = s.eot
            ids[row, :len(tokens)] = tokens
            longest = max(longest, len(tokens))
        return np.ascontiguousarray(ids[:, :longest]) if trim else ids
