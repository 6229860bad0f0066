"""CLIP's tokenisation without PyTorch equals open_clip's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from torchvision.models import ResNet50_Weights

from model.vision.clip_text import ClipTokens, TextSettings, write_tokenizer

TEXTS = [
    "", "  A  DOG on the beach!!", "Ünïcode · 東京 ?! émigré naïve café", "it's we're they'll I'd", "3.14159 costs $42,000",
    "&amp; &lt;b&gt; html", "a red car " * 40, "emoji 🙂🚗 test", "tabs\tand\nnewlines", "CamelCaseWord x2y3",
    "<start_of_text> inside", "naïve\u0301 combining", "people at a whiteboard", "ﬁ ligature and ＦＵＬＬＷＩＤＴＨ",
]


def test_token_ids_equal_open_clips(tmp_path: Path) -> None:
    from open_clip.tokenizer import SimpleTokenizer

    reference = SimpleTokenizer()
    write_tokenizer(reference.encoder, reference.bpe_ranks, ["<start_of_text>", "<end_of_text>"], tmp_path)
    tokens = ClipTokens(tmp_path, TextSettings(77, reference.sot_token_id, reference.eot_token_id))
    texts = TEXTS + list(ResNet50_Weights.IMAGENET1K_V1.meta["categories"])
    ids = tokens(texts)
    assert ids.dtype == np.int64 and ids.shape == (len(texts), 77)
    assert np.array_equal(ids, reference(texts).numpy())
    long = ids[TEXTS.index("a red car " * 40)]
    assert long[0] == reference.sot_token_id and long[-1] == reference.eot_token_id  # cut, end kept


def test_trim_cuts_the_padding_after_the_batchs_longest_text(tmp_path: Path) -> None:
    from open_clip.tokenizer import SimpleTokenizer

    reference = SimpleTokenizer()
    write_tokenizer(reference.encoder, reference.bpe_ranks, ["<start_of_text>", "<end_of_text>"], tmp_path)
    tokens = ClipTokens(tmp_path, TextSettings(77, reference.sot_token_id, reference.eot_token_id))
    short = ["a dog", "people at a whiteboard", ""]
    full, trimmed = tokens(short), tokens(short, trim=True)
    # "people at a whiteboard": start, 4 pieces, end; the others' ids end in padding within it
    assert trimmed.shape == (3, 6) and trimmed.flags.c_contiguous
    assert np.array_equal(trimmed, full[:, :6]) and not full[:, 6:].any()
    assert trimmed[2].tolist() == [reference.sot_token_id, reference.eot_token_id, 0, 0, 0, 0]
    # a text cut by the context length keeps all 77, its end token last
    cut = tokens(["a", "a red car " * 40], trim=True)
    assert cut.shape == (2, 77) and cut[1, -1] == reference.eot_token_id
    assert tokens([], trim=True).shape == (0, 77)

