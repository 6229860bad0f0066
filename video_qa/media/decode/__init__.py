"""Decoders behind one protocol (``Decoder``): PyAV (``pyav``, the default) and decord
(``decord``, with PyAV taking over where decord does not read exactly); ``open_decoder`` picks one
by name."""

from video_qa.media.decode.base import Decoder, DecodeReport, Size, upright
from video_qa.media.decode.open import READERS, open_decoder, reader_name

__all__ = ["READERS", "DecodeReport", "Decoder", "Size", "open_decoder", "reader_name", "upright"]
