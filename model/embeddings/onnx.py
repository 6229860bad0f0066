"""The export folder's model run by ONNX Runtime, tokenised by ``tokenizers``: no PyTorch.

``OnnxEmbedder(folder, threads)`` gives the vectors sentence-transformers gives for the model the
folder was exported from (``encode(texts, normalize_embeddings=True)`` within ``ONNX_TOLERANCE``).
One text is tokenised unpadded; a list is tokenised with padding, sorted by length and run in
batches of ``batch_size`` texts of similar length, each padded to its longest, the attention mask
keeping the padding out of the graph's mean pooling. The session runs on ``threads`` intra-op
threads and one inter-op thread; it is safe to call from several threads at once.

Imports neither torch nor transformers (a search process is checked for it by a test).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from model.embeddings.folder import (FORMAT, GRAPH, MANIFEST, file_sha256, load_tokenizer, pad_token, read_json,
                                     tokenizer_settings)
from model.loading import InferenceModel

if TYPE_CHECKING:
    from onnxruntime import InferenceSession
    from tokenizers import Tokenizer

BATCH = 32  # texts per ONNX Runtime call when embedding a list


@dataclass(frozen=True)
class _Runtime:
    single: Tokenizer  # one text, unpadded
    batch: Tokenizer  # a list, padded to its longest
    session: InferenceSession
    inputs: tuple[str, ...]  # the graph's input names


class OnnxEmbedder(InferenceModel[_Runtime]):
    """``model.protocols.TextEmbedder`` over an export folder (see module doc). The manifest is
    read when constructed (``ValueError`` for another export format); the tokenizers and the ONNX
    Runtime session load on first use."""

    def __init__(self, folder: Path, threads: int = 1, batch_size: int = BATCH) -> None:
        super().__init__(threads)
        self.folder = Path(folder)
        self.manifest: dict[str, Any] = read_json(self.folder / MANIFEST)
        if self.manifest.get("format") != FORMAT:
            raise ValueError(f"{self.folder}: export format {self.manifest.get('format')!r}, not {FORMAT}")
        self.batch_size = max(1, int(batch_size))
        self._dimension = int(self.manifest["dimension"])
        self._name = f"onnxruntime {self.manifest.get('source', {}).get('folder', self.folder)}"

    @property
    def name(self) -> str:
        return self._name

    @property
    def dimension(self) -> int:
        return self._dimension

    def _load(self) -> _Runtime:
        import onnxruntime

        settings = tokenizer_settings(self.folder)
        single = load_tokenizer(self.folder, settings)
        batch = load_tokenizer(self.folder, settings)
        token, token_id = pad_token(self.folder, batch)
        batch.enable_padding(pad_id=token_id, pad_token=token, pad_type_id=0, direction="right")
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = self.threads or 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # errors only: not the optimiser's notes
        session = onnxruntime.InferenceSession(str(self.folder / GRAPH), options, providers=["CPUExecutionProvider"])
        return _Runtime(single, batch, session, tuple(i.name for i in session.get_inputs()))

    def encode_query(self, text: str) -> np.ndarray:
        """One text's vector (dimension,) float32."""
        runtime = self.load()
        encoding = runtime.single.encode(text)
        given = {"input_ids": encoding.ids, "attention_mask": encoding.attention_mask,
                 "token_type_ids": encoding.type_ids}
        feeds = {name: np.asarray([given[name]], dtype=np.int64) for name in runtime.inputs}
        return np.asarray(runtime.session.run(None, feeds)[0][0], dtype=np.float32)

    def encode(self, texts: list[str]) -> np.ndarray:
        """(len(texts), dimension) float32 unit-length rows, in batches (see module doc)."""
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if len(texts) == 1:
            return self.encode_query(texts[0])[None, :]
        runtime = self.load()
        encodings = runtime.batch.encode_batch(texts)
        # padded to the whole list's longest: cut to each sorted batch's longest below
        lengths = [sum(e.attention_mask) for e in encodings]
        order = sorted(range(len(texts)), key=lambda i: lengths[i])
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(order), self.batch_size):
            chosen = order[start:start + self.batch_size]
            longest = max(lengths[i] for i in chosen)
            given = {
                "input_ids": np.asarray([encodings[i].ids[:longest] for i in chosen], dtype=np.int64),
                "attention_mask": np.asarray([encodings[i].attention_mask[:longest] for i in chosen], dtype=np.int64),
                "token_type_ids": np.asarray([encodings[i].type_ids[:longest] for i in chosen], dtype=np.int64),
            }
            vectors = runtime.session.run(None, {name: given[name] for name in runtime.inputs})[0]
            out[chosen] = np.asarray(vectors, dtype=np.float32)
        return out

    def verify(self) -> None:
        """Raise ``ValueError`` when the graph file's SHA-256 differs from the manifest's (reads the
        whole graph: for an explicit check, not for every start)."""
        found = file_sha256(self.folder / GRAPH)
        if found != self.manifest["graph"]["sha256"]:
            raise ValueError(f"{self.folder / GRAPH}: SHA-256 {found[:12]}..., the manifest says "
                             f"{self.manifest['graph']['sha256'][:12]}...")
