"""The export of an open_clip model for ``model.vision.clip`` (runs in the export process, with PyTorch).

``export_image_text(location, models_dir, int8)`` loads the model with open_clip's own loader
(``local-dir:FOLDER`` for a folder, ``hf-hub:ORG/NAME`` for a hub id, a built-in architecture
with random weights for ``random:ARCH``; the twin is built first when missing), and writes:

- ``image.onnx``: pixels (n, 3, size, size) -> ``normalize(encode_image)``;
- ``text.onnx``: token ids (n, length) int64 -> ``normalize(encode_text)``; for a CLIP model whose
  text attention is causal and pools at the end-of-text token (``dynamic_text``), ``length`` is a
  dynamic axis (the positional embedding and the causal mask cut to it: the padding after the
  longest text need not run), else the context length;
- ``tokenizer.json`` and the tokenizer settings, the preprocessing settings, the dimension.

Before the folder is put in place it checks, on generated probe frames of several sizes and probe
texts (empty, unicode, one cut by the context length): the preprocessing equals open_clip's
transform (within ``PIXEL_TOLERANCE``), the token ids equal open_clip's tokenizer's, and the ONNX
vectors (for a dynamic text tower, of the texts padded to the context length and of them trimmed)
equal PyTorch's within ``ONNX_TOLERANCE`` (float32), or have a cosine of at least
``INT8_MIN_COSINE`` with them (int8); else ``ExportRefused``. Only open_clip's own BPE tokenizer
(CLIP, MobileCLIP) and the ``shortest`` and ``squash`` resize modes are supported.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from model.vision.clip import (DYNAMIC, EXPORT_FORMAT, GRAPHS, KIND, RANDOM, TWIN, export_location, is_test_model,
                               source_identity, twin_folder)
from model.vision.clip_text import TOKENIZER_FILE, ClipTokens, TextSettings, write_tokenizer
from model.vision.exports import ExportRefused, graph_entry, now, staging, versions, write_manifest
from model.vision.images import Preprocess, probe_frames
from model.vision.twin import CONFIG_FILE, build_twin, is_twin_folder

log = logging.getLogger(__name__)

ONNX_TOLERANCE = 1e-4  # largest difference, per component, from PyTorch's vector (float32)
INT8_MIN_COSINE = 0.95  # smallest cosine of an int8 vector with PyTorch's
PIXEL_TOLERANCE = 1e-5
OPSET = 17
PROBE_TEXTS = ("a photo of a dog on a beach", "", "Ünïcode · 東京 ?! émigré naïve café & &amp; co",
               "a red car parked near the harbour gate " * 20)


def open_clip_name(location: str, models_dir: Path) -> str:
    if location == TWIN:
        return f"local-dir:{twin_folder(models_dir)}"
    if location.startswith(RANDOM):
        return location[len(RANDOM):]
    path = Path(location).expanduser()
    if path.is_dir():
        return f"local-dir:{path.resolve()}"
    if "/" in location and not location.startswith(("/", ".", "~")):
        return f"hf-hub:{location}"
    raise ExportRefused(f"{location!r} is neither a folder, a hub id (org/name), {TWIN!r} nor {RANDOM}ARCH")


def load_model(location: str, models_dir: Path) -> tuple[Any, Any, Any]:
    """(model in eval mode on the CPU, its evaluation transform, its tokenizer)."""
    import open_clip

    if location == TWIN and not is_twin_folder(twin_folder(models_dir)):
        build_twin(twin_folder(models_dir))
    name = open_clip_name(location, models_dir)
    if name.startswith("local-dir:") and not (Path(name[len("local-dir:"):]) / CONFIG_FILE).is_file():
        raise ExportRefused(f"{location} has no {CONFIG_FILE} (not an open_clip model folder)")
    model, _, transform = open_clip.create_model_and_transforms(name, pretrained=None, device="cpu")
    return model.eval(), transform, open_clip.get_tokenizer(name)


def preprocess_of(model: Any) -> Preprocess:
    cfg = dict(getattr(model.visual, "preprocess_cfg", {}) or {})
    size = cfg.get("size", getattr(model.visual, "image_size", 224))
    if isinstance(size, (tuple, list)):
        if len(set(size)) != 1:
            raise ExportRefused(f"non-square input size {size} is not supported")
        size = size[0]
    try:
        return Preprocess(size=int(size), mean=tuple(cfg.get("mean", ())), std=tuple(cfg.get("std", ())),
                          interpolation=str(cfg.get("interpolation", "bicubic")),
                          resize_mode=str(cfg.get("resize_mode", "shortest")))
    except (ValueError, TypeError) as error:
        raise ExportRefused(f"preprocessing {cfg} is not supported ({error})") from error


def text_settings_of(tokenizer: Any, model: Any) -> TextSettings:
    from open_clip.tokenizer import SimpleTokenizer

    if type(tokenizer) is not SimpleTokenizer or tokenizer.reduction_fn is not None:
        raise ExportRefused(f"tokenizer {type(tokenizer).__name__} is not open_clip's BPE tokenizer (unsupported)")
    clean = {"_clean_lower": "lower", "_clean_whitespace": "whitespace",
             "_clean_canonicalize": "canonicalize"}.get(getattr(tokenizer.clean_fn, "__name__", ""))
    if clean is None:
        raise ExportRefused(f"tokenizer clean function {tokenizer.clean_fn!r} is not supported")
    context = int(tokenizer.context_length or model.context_length)
    return TextSettings(context, int(tokenizer.sot_token_id), int(tokenizer.eot_token_id), clean)


def dynamic_text(model: Any) -> bool:
    """True when the text tower's vector cannot depend on the padding after the end-of-text
    token: an open_clip ``CLIP`` (its text tower on the model) with a causal attention mask and
    pooling at that token (``argmax``: the highest id; ``eos``)."""
    import torch

    parts = ("token_embedding", "positional_embedding", "transformer", "ln_final", "text_projection")
    if not (all(hasattr(model, name) for name in parts) and getattr(model, "attn_mask", None) is not None
            and getattr(model, "text_pool_type", None) in ("argmax", "eos")
            and getattr(model.transformer, "batch_first", False)):
        return False
    blocks = list(getattr(model.transformer, "resblocks", []))
    return bool(blocks) and all(
        isinstance(getattr(b, "attn", None), torch.nn.MultiheadAttention) and b.attn.in_proj_weight is not None
        and not hasattr(b, "ln_1_kv") for b in blocks)


def _attend(attention: Any, x: Any, mask: Any) -> Any:
    """``nn.MultiheadAttention`` (batch first, one input projection) of ``x`` on itself under
    ``mask``, written out: the module's traced export bakes the sequence length in a reshape."""
    import torch

    q, k, v = torch.nn.functional.linear(x, attention.in_proj_weight, attention.in_proj_bias).chunk(3, dim=-1)
    heads = [t.reshape(t.shape[0], t.shape[1], attention.num_heads, -1).transpose(1, 2) for t in (q, k, v)]
    q, k, v = heads
    scores = (q @ k.transpose(-1, -2)) * (q.shape[-1] ** -0.5) + mask
    out = (scores.softmax(dim=-1) @ v).transpose(1, 2)
    return attention.out_proj(out.reshape(out.shape[0], out.shape[1], -1))


def _export(module: Any, example: Any, path: Path, input_name: str, sequence: bool = False) -> None:
    import torch

    fastpath = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)  # its fused attention has no ONNX mapping
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the exporter's notes on operators it maps
            axes = {0: "batch", 1: "sequence"} if sequence else {0: "batch"}
            torch.onnx.export(module.eval(), (example,), str(path), input_names=[input_name], output_names=["vector"],
                              opset_version=OPSET, dynamo=False, dynamic_axes={input_name: axes, "vector": {0: "batch"}})
    except (RuntimeError, ValueError, torch.onnx.errors.OnnxExporterError) as error:
        raise ExportRefused(f"the ONNX export failed ({type(error).__name__}: {str(error)[:200]})") from error
    finally:
        torch.backends.mha.set_fastpath_enabled(fastpath)


def _towers(model: Any, dynamic: bool) -> tuple[Any, Any]:
    import torch
    from open_clip.model import text_global_pool

    class ImageTower(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.clip = model

        def forward(self, pixels: torch.Tensor) -> torch.Tensor:
            return torch.nn.functional.normalize(self.clip.encode_image(pixels), dim=-1)

    class TextTower(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.clip = model

        def forward(self, tokens: torch.Tensor) -> torch.Tensor:
            if not dynamic:
                return torch.nn.functional.normalize(self.clip.encode_text(tokens), dim=-1)
            # open_clip's CLIP.encode_text with the positional embedding and the causal mask cut
            # to the tokens' length (it adds them whole: 77 positions), by gathering the positions
            # 0..length-1 counted on the tokens (a traced slice's length can end up a constant)
            clip = self.clip
            positions = torch.cumsum(torch.ones_like(tokens[0]), 0) - 1
            cast = clip.transformer.get_cast_dtype()
            x = clip.token_embedding(tokens).to(cast) + clip.positional_embedding[positions].to(cast)
            mask = clip.attn_mask[positions][:, positions].to(x.dtype)
            for block in clip.transformer.resblocks:  # open_clip's ResidualAttentionBlock.forward
                x = x + block.ls_1(_attend(block.attn, block.ln_1(x), mask))
                x = x + block.ls_2(block.mlp(block.ln_2(x)))
            x = clip.ln_final(x)
            x = text_global_pool(x, tokens, clip.text_pool_type, eos_token_id=getattr(clip, "text_eos_id", None))
            if clip.text_projection is not None:
                x = clip.text_projection(x) if isinstance(clip.text_projection, torch.nn.Linear) else x @ clip.text_projection
            return torch.nn.functional.normalize(x, dim=-1)

    return ImageTower(), TextTower()


def quantize_matmul(source: Path, target: Path) -> None:
    """``target``: ``source`` with only its MatMul nodes' weights quantized to int8 (dynamic)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(source), str(target), op_types_to_quantize=["MatMul"], weight_type=QuantType.QInt8)


def export_image_text(location: str, models_dir: Path, int8: bool = False) -> Path:
    """Export the model at ``location`` into its folder under ``models_dir`` (see module doc)."""
    import torch

    models_dir = Path(models_dir)
    model, transform, tokenizer = load_model(location, models_dir)
    preprocess = preprocess_of(model)
    settings = text_settings_of(tokenizer, model)
    frames, texts = probe_frames(), list(PROBE_TEXTS)
    from PIL import Image

    reference_pixels = torch.stack([transform(Image.fromarray(f)) for f in frames])
    pixels = preprocess.batch(frames)
    pixel_difference = float(np.abs(reference_pixels.numpy() - pixels).max())
    if pixel_difference > PIXEL_TOLERANCE:
        raise ExportRefused(f"the preprocessing differs from open_clip's by {pixel_difference:.2e}")
    reference_tokens = tokenizer(texts).numpy()
    dynamic = dynamic_text(model)
    image_tower, text_tower = _towers(model, dynamic)
    with torch.no_grad():
        words = torch.nn.functional.normalize(model.encode_text(torch.from_numpy(reference_tokens)), dim=-1)
        reference = {"image": image_tower(reference_pixels).numpy(), "text": words.numpy()}
    target = export_location(models_dir, location, int8)
    with staging(target) as folder:
        specials = [tokenizer.decoder[i] for i in tokenizer.all_special_ids]
        write_tokenizer(tokenizer.encoder, tokenizer.bpe_ranks, specials, folder)
        tokens = ClipTokens(folder, settings)(texts)
        if not np.array_equal(tokens, reference_tokens):
            raise ExportRefused("the exported tokenizer's ids differ from open_clip's on the probe texts")
        # each probe text's ids without padding (the graph is traced on the first one's: a length
        # other than the context's, so none is baked in)
        trimmed = [ClipTokens(folder, settings)([text], trim=True) for text in texts] if dynamic else None
        example = trimmed[0] if trimmed else reference_tokens[:1]
        float_dir = folder / "float" if int8 else folder
        float_dir.mkdir(exist_ok=True)
        _export(image_tower, reference_pixels[:1], float_dir / GRAPHS["image"], "pixels")
        _export(text_tower, torch.from_numpy(example), float_dir / GRAPHS["text"], "tokens", sequence=dynamic)
        check = _check(float_dir, pixels, tokens, reference, trimmed=trimmed)
        if int8:
            for role, file in GRAPHS.items():
                quantize_matmul(float_dir / file, folder / file)
            check.update(_check(folder, pixels, tokens, reference, int8=True, trimmed=trimmed))
            for file in GRAPHS.values():
                (float_dir / file).unlink()
            float_dir.rmdir()
        manifest = {
            "format": EXPORT_FORMAT, "kind": KIND, "location": location, "source": source_identity(location, models_dir),
            "variant": "int8-matmul" if int8 else "float32", "is_twin": is_test_model(location),
            "graphs": {"image": {**graph_entry(folder, GRAPHS["image"]), "input": "pixels", "opset": OPSET},
                       "text": {**graph_entry(folder, GRAPHS["text"]), "input": "tokens", "opset": OPSET,
                                "sequence": DYNAMIC if dynamic else "fixed"}},
            "dimension": int(reference["image"].shape[1]), "preprocess": preprocess.as_dict(),
            "tokenizer": {**settings.as_dict(), "file": TOKENIZER_FILE},
            "check": {**check, "passed": True, "pixel_difference": pixel_difference, "probe_frames": len(frames),
                      "probe_texts": len(texts)},
            "exported": now(), "versions": versions(),
        }
        write_manifest(folder, manifest)
    log.info("image-text model %s exported to %s", location, target)
    return target


def _check(folder: Path, pixels: np.ndarray, tokens: np.ndarray, reference: dict[str, np.ndarray],
           int8: bool = False, trimmed: list[np.ndarray] | None = None) -> dict[str, float]:
    """The graphs' vectors against PyTorch's (``reference``), and those of each text's ``trimmed``
    ids run alone (a dynamic text tower) too; their largest difference (float32) or least cosine (int8)."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    runs = [("image", "pixels", [pixels]), ("text", "tokens", [tokens])]
    if trimmed is not None:
        runs.append(("text_trimmed", "tokens", trimmed))
    found = {}
    for what, name, batches in runs:
        role = what.split("_")[0]
        session = onnxruntime.InferenceSession(str(folder / GRAPHS[role]), options, providers=["CPUExecutionProvider"])
        vectors = np.concatenate([session.run(None, {name: batch})[0] for batch in batches])
        if int8:
            cosine = float((vectors * reference[role]).sum(axis=1).min())
            if cosine < INT8_MIN_COSINE:
                raise ExportRefused(f"the int8 {what} vectors have a cosine of {cosine:.3f} with PyTorch's "
                                    f"(at least {INT8_MIN_COSINE} needed)")
            found[f"{what}_int8_min_cosine"] = cosine
        else:
            difference = float(np.abs(vectors - reference[role]).max())
            if difference > ONNX_TOLERANCE:
                raise ExportRefused(f"the ONNX {what} vectors differ from PyTorch's by {difference:.2e}")
            found[f"{what}_max_difference"] = difference
    return found
