"""The export of MTCNN's three networks for ``model.vision.faces`` (runs in the export process).

facenet-pytorch's ``PNet``, ``RNet`` and ``ONet`` load their weights from the wheel; P-Net is
exported with dynamic height and width (it runs on every pyramid level), R-Net and O-Net with a
dynamic batch. Each graph's outputs are compared with PyTorch's on seeded random inputs
(``ONNX_TOLERANCE``) before the folder is put in place.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np

from model.vision.exports import (FORMAT, ExportRefused, graph_entry, now, onnx_session, staging, versions,
                                  write_manifest)
from model.vision.faces import GRAPHS, KIND, export_location, source_identity

log = logging.getLogger(__name__)

ONNX_TOLERANCE = 1e-4
OPSET = 17
OUTPUTS = {"pnet": ["reg", "prob"], "rnet": ["reg", "prob"], "onet": ["reg", "landmarks", "prob"]}
EXAMPLES = {"pnet": (1, 3, 61, 83), "rnet": (5, 3, 24, 24), "onet": (5, 3, 48, 48)}


def export_faces(models_dir: Path) -> Path:
    """Export the three networks into their folder under ``models_dir``; returns the folder."""
    import torch
    from facenet_pytorch.models.mtcnn import ONet, PNet, RNet

    if source_identity() is None:
        raise ExportRefused("the facenet-pytorch package (MTCNN weights) is not installed")
    networks = {"pnet": PNet(), "rnet": RNet(), "onet": ONet()}
    rng = np.random.default_rng(3)
    target = export_location(models_dir)
    check = {}
    with staging(target) as folder:
        for net, network in networks.items():
            network.eval()
            example = rng.uniform(-1, 1, size=EXAMPLES[net]).astype(np.float32)
            axes = {0: "batch", 2: "height", 3: "width"} if net == "pnet" else {0: "batch"}
            dynamic = {"image": axes, **{name: ({0: "batch", 2: "h", 3: "w"} if net == "pnet" else {0: "batch"})
                                         for name in OUTPUTS[net]}}
            try:
                with torch.no_grad(), warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    torch.onnx.export(network, (torch.from_numpy(example),), str(folder / GRAPHS[net]),
                                      input_names=["image"], output_names=OUTPUTS[net], opset_version=OPSET,
                                      dynamo=False, dynamic_axes=dynamic)
            except (RuntimeError, ValueError, torch.onnx.errors.OnnxExporterError) as error:
                raise ExportRefused(f"the ONNX export of {net} failed ({type(error).__name__}: {str(error)[:200]})") from error
            probe = rng.uniform(-1, 1, size=(2, 3, 97, 131) if net == "pnet" else (7, *EXAMPLES[net][1:])).astype(np.float32)
            with torch.no_grad():
                reference = [t.numpy() for t in network(torch.from_numpy(probe))]
            found = onnx_session(folder / GRAPHS[net], None).run(None, {"image": probe})
            difference = max(float(np.abs(a - b).max()) for a, b in zip(found, reference, strict=True))
            if difference > ONNX_TOLERANCE:
                raise ExportRefused(f"the ONNX {net} differs from PyTorch's by {difference:.2e}")
            check[f"{net}_max_difference"] = difference
        write_manifest(folder, {
            "format": FORMAT, "kind": KIND, "source": source_identity(),
            "graphs": {net: {**graph_entry(folder, GRAPHS[net]), "input": "image", "outputs": OUTPUTS[net],
                             "opset": OPSET} for net in networks},
            "check": {**check, "passed": True}, "exported": now(), "versions": versions(),
        })
    log.info("MTCNN exported to %s", target)
    return target
