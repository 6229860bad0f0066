"""A tiny random-weight Qwen2.5-VL, built offline, saved as an ordinary model folder.

It runs the real processor, vision tower, MRoPE and generation code paths, so tests exercise what a
real checkpoint does with time; its text is meaningless. Every value that matters to time is as in
the released checkpoints: ``tokens_per_second=2``, ``temporal_patch_size=2``, 14-pixel patches,
2x2 merge, mrope with a section split. The tokenizer is a byte-level BPE trained here on a small
corpus and carries Qwen's real special tokens and chat template.

    python -m model.tiny /path/to/folder      # then VIDEOQA_VLM_MODEL=/path/to/folder
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

log = logging.getLogger(__name__)

TINY_MARKER = "videoqa_tiny_random"  # in config.json: the UI and API say a test model is in use

SPECIAL_TOKENS = [
    "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>",
    "<|box_start|>", "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>",
    "<|vision_end|>", "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>",
]

# Qwen2.5-VL's chat template (system prompt default, images and videos as vision_start/pad/end).
CHAT_TEMPLATE = (
    "{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}"
    "{% for message in messages %}{% if loop.first and message['role'] != 'system' %}"
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
    "<|im_start|>{{ message['role'] }}\n{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n"
    "{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
    "{% set image_count.value = image_count.value + 1 %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif content['type'] == 'video' or 'video' in content %}"
    "{% set video_count.value = video_count.value + 1 %}<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif 'text' in content %}{{ content['text'] }}{% endif %}{% endfor %}<|im_end|>\n{% endif %}"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

CORPUS = [
    "The delivery van arrives at the gate and a man unloads boxes.",
    "A woman writes the budget table on the whiteboard.",
    "[{\"start\": \"00:01.50\", \"end\": \"00:04.00\", \"event\": \"a car drives past\"}]",
    "Use seconds for time format. The event happens from 12.5 to 14.0 seconds.",
    "Describe the video in detail. What happens at 0:01:23?",
    "system user assistant video clip span starting at 1:02:03.4",
    "0123456789 :.,;()[]{}\"' - mm:ss.ff h:mm:ss seconds",
]


def tiny_config_dict(vocab_size: int, token_ids: dict[str, int]) -> dict:
    return {
        "model_type": "qwen2_5_vl",
        "architectures": ["Qwen2_5_VLForConditionalGeneration"],
        "image_token_id": token_ids["<|image_pad|>"],
        "video_token_id": token_ids["<|video_pad|>"],
        "vision_start_token_id": token_ids["<|vision_start|>"],
        "vision_end_token_id": token_ids["<|vision_end|>"],
        "tie_word_embeddings": True,
        TINY_MARKER: True,
        "text_config": {
            "model_type": "qwen2_5_vl_text",
            "vocab_size": vocab_size,
            "hidden_size": 64,
            "intermediate_size": 128,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
            "max_position_embeddings": 32768,
            "rope_parameters": {"rope_type": "default", "mrope_section": [2, 3, 3], "rope_theta": 1000000.0},
            "bos_token_id": token_ids["<|endoftext|>"],
            "eos_token_id": token_ids["<|im_end|>"],
            "pad_token_id": token_ids["<|endoftext|>"],
        },
        "vision_config": {
            "model_type": "qwen2_5_vl_vision",
            "depth": 2,
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_heads": 2,
            "out_hidden_size": 64,
            "patch_size": 14,
            "spatial_merge_size": 2,
            "temporal_patch_size": 2,
            "tokens_per_second": 2,
            "window_size": 112,
            "fullatt_block_indexes": [1],
            "in_channels": 3,
        },
    }


def _train_tokenizer(folder: Path) -> dict[str, int]:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=600, special_tokens=SPECIAL_TOKENS, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(CORPUS * 20, trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, eos_token="<|im_end|>", pad_token="<|endoftext|>",
        additional_special_tokens=SPECIAL_TOKENS[1:],
    )
    fast.chat_template = CHAT_TEMPLATE
    fast.save_pretrained(folder)
    return {token: tokenizer.token_to_id(token) for token in SPECIAL_TOKENS}


def build_tiny_model(folder: str | Path, seed: int = 0) -> Path:
    """Write a tiny random-weight Qwen2.5-VL (weights, config, tokenizer, processor) to ``folder``."""
    import torch
    from transformers import (
        AutoTokenizer,
        Qwen2_5_VLConfig,
        Qwen2_5_VLForConditionalGeneration,
        Qwen2_5_VLProcessor,
        Qwen2VLImageProcessor,
        Qwen2VLVideoProcessor,
    )

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    token_ids = _train_tokenizer(folder)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    config = Qwen2_5_VLConfig(**tiny_config_dict(len(tokenizer), token_ids))
    torch.manual_seed(seed)
    model = Qwen2_5_VLForConditionalGeneration(config).eval()
    model.generation_config.eos_token_id = token_ids["<|im_end|>"]
    model.generation_config.pad_token_id = token_ids["<|endoftext|>"]
    model.save_pretrained(folder)
    pixels = {"shortest_edge": 128 * 28 * 28, "longest_edge": 768 * 28 * 28}
    processor = Qwen2_5_VLProcessor(
        image_processor=Qwen2VLImageProcessor(size=pixels, patch_size=14, temporal_patch_size=2, merge_size=2),
        video_processor=Qwen2VLVideoProcessor(size=pixels, patch_size=14, temporal_patch_size=2, merge_size=2),
        tokenizer=tokenizer,
        chat_template=CHAT_TEMPLATE,
    )
    processor.save_pretrained(folder)
    # the processor does not always write the marker's context; keep the config's marker explicit
    config_path = folder / "config.json"
    data = json.loads(config_path.read_text())
    data[TINY_MARKER] = True
    config_path.write_text(json.dumps(data, indent=2))
    log.info("tiny random-weight Qwen2.5-VL written to %s", folder)
    return folder


def is_tiny(folder: str | Path) -> bool:
    config_path = Path(folder) / "config.json"
    return config_path.is_file() and bool(json.loads(config_path.read_text()).get(TINY_MARKER))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder")
    args = parser.parse_args()
    print(build_tiny_model(args.folder))


if __name__ == "__main__":
    main()
