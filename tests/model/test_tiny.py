"""The twin keeps every value that matters to time as in the released checkpoints."""

from __future__ import annotations

import json
from pathlib import Path

from transformers import AutoConfig, AutoProcessor

from model.tiny import is_tiny


def test_time_values_as_in_real_checkpoints(tiny_model_dir: Path) -> None:
    config = AutoConfig.from_pretrained(tiny_model_dir)
    vision = config.vision_config
    assert vision.tokens_per_second == 2  # transformers' default config says 4
    assert vision.temporal_patch_size == 2
    assert vision.patch_size == 14
    assert vision.spatial_merge_size == 2
    rope = config.text_config.rope_parameters
    assert rope["mrope_section"] == [2, 3, 3]
    head_dim = config.text_config.hidden_size // config.text_config.num_attention_heads
    assert sum(rope["mrope_section"]) == head_dim // 2
    assert rope["rope_type"] == "default"  # Qwen's 'mrope' normalised by transformers


def test_tokenizer_has_real_special_tokens_and_template(tiny_model_dir: Path) -> None:
    processor = AutoProcessor.from_pretrained(tiny_model_dir)
    tokenizer = processor.tokenizer
    for token in ("<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|video_pad|>", "<|vision_end|>"):
        assert len(tokenizer.encode(token, add_special_tokens=False)) == 1, token
    text = processor.apply_chat_template(
        [{"role": "user", "content": [{"type": "video"}, {"type": "text", "text": "hi"}]}],
        add_generation_prompt=True, tokenize=False,
    )
    assert text.startswith("<|im_start|>system\nYou are a helpful assistant.<|im_end|>")
    assert "<|vision_start|><|video_pad|><|vision_end|>hi<|im_end|>\n<|im_start|>assistant\n" in text


def test_marked_as_test_model(tiny_model_dir: Path) -> None:
    assert is_tiny(tiny_model_dir)
    assert json.loads((tiny_model_dir / "config.json").read_text())["videoqa_tiny_random"] is True
